#pragma once
// Ctrl-C, a closed terminal or a `kill` must not leave a student's server (or
// the children it forked, or a build `labcheck watch` started) running: on SIGINT,
// SIGTERM or SIGHUP labcheck kills every process it started, then exits 128 + the
// signal's number.

#include <sys/types.h>

namespace labcheck {

// Blocks those signals in the calling thread (call it before any other thread
// starts, so every thread inherits the mask) and starts the thread that waits
// for them. Servers get a clean signal mask of their own when they are launched.
// Calls after the first do nothing, so each command may make sure of it.
void stop_servers_on_interrupt();

// True once an interrupt has arrived: labcheck is being ended by the signal thread,
// which exits with 128 + the signal's number when everything it started is gone.
bool interrupt_in_progress();

// Kills every process labcheck started (its descendants, which include orphans
// when it is a subreaper) and reaps them. What an interrupt does before exiting;
// also how `watch` makes sure nothing of a build outlives it.
void kill_every_descendant();

// While one lives, an interrupt also kills this process group (a build, which runs
// in a group of its own) in one call, before the sweep of kill_every_descendant:
// a `make -j` forking compilers cannot outrun it. One at a time.
class KillGroupOnInterrupt {
  public:
    explicit KillGroupOnInterrupt(pid_t group);
    KillGroupOnInterrupt(const KillGroupOnInterrupt&) = delete;
    KillGroupOnInterrupt& operator=(const KillGroupOnInterrupt&) = delete;
    ~KillGroupOnInterrupt();
};

// While one lives, an interrupt first calls `cleanup`, before it silences labcheck's
// output and kills anything: how `observe` gives the terminal back (its settings, the
// cursor, the main screen) on Ctrl-C. `cleanup` runs on the signal thread while the
// main thread may still be drawing, so it must bring its own locking. One at a time.
class CleanupOnInterrupt {
  public:
    explicit CleanupOnInterrupt(void (*cleanup)());
    CleanupOnInterrupt(const CleanupOnInterrupt&) = delete;
    CleanupOnInterrupt& operator=(const CleanupOnInterrupt&) = delete;
    ~CleanupOnInterrupt();
};

}  // namespace labcheck
