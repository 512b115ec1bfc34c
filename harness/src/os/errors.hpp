#pragma once
// Failing system calls become std::system_error carrying errno and the call that failed.

#include <cerrno>
#include <string>
#include <system_error>

namespace labcheck {

[[noreturn]] inline void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// Runs a system call again while a signal interrupts it.
template <typename Call>
auto retry_on_eintr(Call call) {
    for (;;) {
        auto result = call();
        if (result != -1 || errno != EINTR) return result;
    }
}

}  // namespace labcheck
