#include "interrupts.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <system_error>
#include <thread>

#include "procfs/children.hpp"

namespace labcheck {
namespace {

sigset_t interrupt_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, number);
    return set;
}

[[noreturn]] void kill_everything_and_exit(int number) {
    // Killed processes cannot fork; a few passes catch what forked meanwhile.
    for (int pass = 0; pass < 100; ++pass) {
        auto pids = procfs::descendant_pids(getpid());
        if (pids.empty()) break;
        for (pid_t pid : pids) ::kill(pid, SIGKILL);
        while (waitpid(-1, nullptr, WNOHANG) > 0) {
        }
    }
    _exit(128 + number);
}

}  // namespace

void stop_servers_on_interrupt() {
    sigset_t set = interrupt_signals();
    if (int error = pthread_sigmask(SIG_BLOCK, &set, nullptr))
        throw std::system_error(error, std::generic_category(), "pthread_sigmask");
    std::thread([set] {
        int number = 0;
        if (sigwait(&set, &number) == 0) kill_everything_and_exit(number);
    }).detach();
}

}  // namespace labcheck
