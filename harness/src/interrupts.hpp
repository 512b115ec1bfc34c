#pragma once
// Ctrl-C, a closed terminal or a `kill` must not leave a student's server (or
// the children it forked) running: on SIGINT, SIGTERM or SIGHUP labcheck kills
// every process it started, then exits 128 + the signal's number.

namespace labcheck {

// Blocks those signals in the calling thread (call it before any other thread
// starts, so every thread inherits the mask) and starts the thread that waits
// for them. Servers get a clean signal mask of their own when they are launched.
void stop_servers_on_interrupt();

}  // namespace labcheck
