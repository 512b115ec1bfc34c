#pragma once
// For a forked child about to exec another program: labcheck blocks the interrupt
// signals (a thread of its own waits for them) and ignores SIGPIPE, and neither
// must leak into a student's server, a build or a compiler. Async-signal-safe.

#include <csignal>

namespace labcheck {

inline void restore_default_signals() noexcept {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int number : {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP})
        sigaction(number, &default_action, nullptr);
}

}  // namespace labcheck
