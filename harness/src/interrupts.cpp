#include "interrupts.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <system_error>
#include <thread>

#include "os/deadline.hpp"
#include "procfs/children.hpp"

namespace labcheck {
namespace {

// The group KillGroupOnInterrupt registered; 0 when none. Atomic: the signal
// thread reads it while the main thread sets and clears it.
std::atomic<pid_t> group_to_kill{0};
std::atomic<bool> interrupted{false};
// What CleanupOnInterrupt registered; null when nothing.
std::atomic<void (*)()> cleanup_first{nullptr};

sigset_t interrupt_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, number);
    return set;
}

// From the interrupt on, labcheck is ending: what its other threads would still print
// (a build or a check that failed because it was just killed) would only mislead.
void silence_output() {
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0) return;
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    ::close(null);
}

[[noreturn]] void kill_everything_and_exit(int number) {
    interrupted.store(true);
    if (auto cleanup = cleanup_first.load()) cleanup();  // while the terminal is still ours
    silence_output();
    if (pid_t group = group_to_kill.load(); group > 0) ::kill(-group, SIGKILL);
    kill_every_descendant();
    _exit(128 + number);
}

}  // namespace

bool interrupt_in_progress() {
    return interrupted.load();
}

void kill_every_descendant() {
    // Killed processes cannot fork, so each pass leaves fewer; done when every one
    // is reaped (a zombie still counts: it is listed until its parent collects it).
    poll_until(
        Deadline::after(Millis(5000)),
        [] {
            auto pids = procfs::descendant_pids(getpid());
            for (pid_t pid : pids) ::kill(pid, SIGKILL);
            while (waitpid(-1, nullptr, WNOHANG) > 0) {
            }
            return pids.empty();
        },
        Millis(1));
}

void stop_servers_on_interrupt() {
    static std::once_flag started;
    std::call_once(started, [] {
        sigset_t set = interrupt_signals();
        if (int error = pthread_sigmask(SIG_BLOCK, &set, nullptr))
            throw std::system_error(error, std::generic_category(), "pthread_sigmask");
        std::thread([set] {
            int number = 0;
            if (sigwait(&set, &number) == 0) kill_everything_and_exit(number);
        }).detach();
    });
}

KillGroupOnInterrupt::KillGroupOnInterrupt(pid_t group) {
    group_to_kill.store(group);
}

KillGroupOnInterrupt::~KillGroupOnInterrupt() {
    group_to_kill.store(0);
}

CleanupOnInterrupt::CleanupOnInterrupt(void (*cleanup)()) {
    cleanup_first.store(cleanup);
}

CleanupOnInterrupt::~CleanupOnInterrupt() {
    cleanup_first.store(nullptr);
}

}  // namespace labcheck
