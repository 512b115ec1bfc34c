#include "grade/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "os/default_signals.hpp"
#include "os/errors.hpp"
#include "os/unique_fd.hpp"

namespace labcheck {
namespace {

constexpr Millis kGraceAfterTerm{5000};

// In the forked child: async-signal-safe calls only (the grader has threads).
[[noreturn]] void become(char* const* argv, const char* workdir, const char* output,
                         const char* errors, const SandboxPolicy* sandbox) {
    setpgid(0, 0);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(output, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(errors, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(126);
    if (chdir(workdir) != 0) _exit(126);
    restore_default_signals();
    if (sandbox && enter_sandbox(*sandbox) != 0) _exit(126);
    execv(argv[0], argv);
    _exit(127);
}

// Waits until the child has exited (its pidfd reads) or the deadline; true if it did.
bool wait_for_exit(int pidfd, const Deadline& deadline) {
    pollfd entry{pidfd, POLLIN, 0};
    int ready = retry_on_eintr([&] { return ::poll(&entry, 1, deadline.poll_timeout()); });
    if (ready < 0) throw_errno("poll");
    return ready > 0;
}

}  // namespace

bool ChildOutcome::succeeded() const {
    return !timed_out && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

ChildOutcome run_child(const std::vector<std::string>& argv, const std::filesystem::path& workdir,
                       const std::filesystem::path& output, const std::filesystem::path& errors,
                       Millis limit, const SandboxPolicy* sandbox) {
    std::vector<std::string> storage = argv;
    std::vector<char*> pointers;
    for (auto& argument : storage) pointers.push_back(argument.data());
    pointers.push_back(nullptr);
    std::string directory = workdir.string(), out = output.string(), err = errors.string();

    auto started = Clock::now();
    pid_t pid = fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) become(pointers.data(), directory.c_str(), out.c_str(), err.c_str(), sandbox);
    setpgid(pid, pid);  // the child does it too: whichever runs first, no race
    UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!exited) {
        int saved = errno;
        ::kill(-pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        errno = saved;
        throw_errno("pidfd_open");
    }

    ChildOutcome outcome;
    if (!wait_for_exit(exited.get(), Deadline::after(limit))) {
        outcome.timed_out = true;
        ::kill(-pid, SIGTERM);
        if (!wait_for_exit(exited.get(), Deadline::after(kGraceAfterTerm))) ::kill(-pid, SIGKILL);
    }
    retry_on_eintr([&] { return waitpid(pid, &outcome.wait_status, 0); });
    ::kill(-pid, SIGKILL);  // what it left in its group
    outcome.took = std::chrono::duration_cast<Millis>(Clock::now() - started);
    return outcome;
}

}  // namespace labcheck
