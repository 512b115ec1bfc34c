#include "check_observer.hpp"

#include <signal.h>

#include <atomic>

namespace labcheck {
namespace {

std::atomic<CheckObserver*> installed{nullptr};

}  // namespace

CheckObserver* observe_checks(CheckObserver* observer) {
    return installed.exchange(observer);
}

CheckObserver* check_observer() {
    return installed.load();
}

int send_signal(pid_t pid, int signal) {
    if (auto* observer = check_observer()) observer->signalling(pid, signal);
    return ::kill(pid, signal);
}

}  // namespace labcheck
