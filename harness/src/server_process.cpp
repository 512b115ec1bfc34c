#include "server_process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "os/default_signals.hpp"
#include "os/errors.hpp"
#include "os/unique_fd.hpp"
#include "procfs/children.hpp"

namespace labcheck {
namespace {

constexpr Millis kWatchInterval{10};

std::string substitute_port(std::string argument, std::uint16_t port) {
    const std::string placeholder = "{port}";
    for (auto at = argument.find(placeholder); at != std::string::npos;
         at = argument.find(placeholder, at))
        argument.replace(at, placeholder.size(), std::to_string(port));
    return argument;
}

std::pair<UniqueFd, UniqueFd> make_pipe() {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe2");
    return {UniqueFd(ends[0]), UniqueFd(ends[1])};
}

// Runs in the forked child: everything here must be async-signal-safe, because
// labcheck has threads. Reports failure as (step, errno) on `report` and exits.
[[noreturn]] void exec_server(char* const* argv, int output, int report,
                              const SandboxPolicy& policy, const char* workdir) {
    auto fail = [&](int step) {
        int message[2] = {step, errno};
        [[maybe_unused]] auto ignored = ::write(report, message, sizeof message);
        _exit(127);
    };
    if (setsid() < 0) fail(1);
    int null = ::open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(output, 1) < 0 || dup2(output, 2) < 0) fail(2);
    if (chdir(workdir) != 0) fail(3);
    // Whatever labcheck has open (log files, test pipes) is not the server's business.
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(3);
    if (int error = enter_sandbox(policy)) {
        errno = error;
        fail(4);
    }
    restore_default_signals();
    execv(argv[0], argv);
    fail(5);
    _exit(127);  // not reached: fail() exits
}

std::string describe_launch_failure(int step, int error, const std::string& program) {
    switch (step) {
        case 5:
            if (error == ENOENT) return fmt::format("{} does not exist", program);
            if (error == EACCES) return fmt::format("{} is not executable (chmod +x?)", program);
            return fmt::format("cannot run {}: {}", program, std::strerror(error));
        case 4:
            return fmt::format("cannot drop privileges or set limits for {}: {}", program,
                               std::strerror(error));
        default:
            return fmt::format("cannot prepare the process for {}: {}", program,
                               std::strerror(error));
    }
}

}  // namespace

void become_subreaper() {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw_errno("prctl(PR_SET_CHILD_SUBREAPER)");
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        int number = WTERMSIG(status);
        const char* name = sigabbrev_np(number);
        return fmt::format("was killed by signal {} (SIG{}: {})", number, name ? name : "?",
                           strsignal(number));
    }
    return fmt::format("changed state (wait status {:#x})", status);
}

std::unique_ptr<ServerProcess> ServerProcess::launch(const LaunchSpec& spec, std::uint16_t port) {
    if (spec.argv.empty()) throw std::runtime_error("no server command to run");
    std::vector<std::string> arguments;
    for (const auto& argument : spec.argv) arguments.push_back(substitute_port(argument, port));
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    // Resolve a bare program name now: execv in the child does not search PATH.
    std::string program = arguments[0];
    if (program.find('/') == std::string::npos) {
        throw std::runtime_error(fmt::format(
            "give the server as a path ('./{0}' or '/usr/bin/{0}'), not a bare name", program));
    }

    auto server = std::make_unique<ServerProcess>(Private{});
    server->port_ = port;
    server->log_path_ = spec.log_path;
    server->max_processes_ = spec.policy.max_processes;
    for (const auto& argument : arguments) {
        if (!server->command_line_.empty()) server->command_line_ += ' ';
        server->command_line_ += argument;
    }

    auto [output_read, output_write] = make_pipe();
    auto [report_read, report_write] = make_pipe();
    std::string workdir = spec.policy.workdir.empty() ? "/" : spec.policy.workdir.string();

    pid_t child = fork();
    if (child < 0) throw_errno("fork");
    if (child == 0)
        exec_server(argv.data(), output_write.get(), report_write.get(), spec.policy,
                    workdir.c_str());

    server->pid_ = child;
    output_write.reset();
    report_write.reset();
    server->log_ =
        std::make_unique<LogCapture>(std::move(output_read), spec.log_path, spec.log_cap);

    // exec succeeded exactly when the CLOEXEC report pipe closes without a word.
    int message[2] = {0, 0};
    ssize_t n = retry_on_eintr([&] { return ::read(report_read.get(), message, sizeof message); });
    if (n == static_cast<ssize_t>(sizeof message)) {
        int status = 0;
        retry_on_eintr([&] { return waitpid(child, &status, 0); });
        server->pid_ = -1;
        throw std::runtime_error(describe_launch_failure(message[0], message[1], program));
    }
    server->watcher_ = std::thread([raw = server.get()] { raw->watch(); });
    return server;
}

ServerProcess::~ServerProcess() {
    kill_tree();
    stop_ = true;
    if (watcher_.joinable()) watcher_.join();
}

void ServerProcess::reap() {
    for (;;) {
        int status = 0;
        pid_t done = waitpid(-1, &status, WNOHANG);
        if (done <= 0) return;
        std::lock_guard lock(mutex_);
        reaped_[done] = status;
    }
}

void ServerProcess::watch() {
    // A server that logs a line per client wakes this loop thousands of times a second
    // under load; the process count, a walk of /proc, is taken once per interval at
    // most, or labcheck itself would eat the core the server is measured on.
    auto last_count = Clock::now() - kWatchInterval;
    while (!stop_) {
        pollfd entry{-1, POLLIN, 0};
        {
            std::lock_guard lock(mutex_);
            if (log_->open()) entry.fd = log_->fd();
        }
        // Waiting on the log pipe doubles as the watch interval.
        ::poll(&entry, 1, static_cast<int>(kWatchInterval.count()));
        {
            std::lock_guard lock(mutex_);
            log_->drain();
        }
        reap();
        if (Clock::now() - last_count < kWatchInterval) continue;
        last_count = Clock::now();
        std::size_t count = procfs::descendant_pids(getpid()).size();
        if (count > static_cast<std::size_t>(max_processes_)) {
            {
                std::lock_guard lock(mutex_);
                if (!tripped_at_) tripped_at_ = count;
            }
            kill_tree();
        }
    }
    std::lock_guard lock(mutex_);
    log_->drain();
}

std::optional<int> ServerProcess::wait_status() const {
    std::lock_guard lock(mutex_);
    auto found = reaped_.find(pid_);
    return found == reaped_.end() ? std::nullopt : std::optional<int>(found->second);
}

std::optional<int> ServerProcess::wait_exit(pid_t pid, const Deadline& deadline) const {
    std::optional<int> status;
    poll_until(deadline, [&] {
        std::lock_guard lock(mutex_);
        if (auto found = reaped_.find(pid); found != reaped_.end()) status = found->second;
        return status.has_value();
    });
    return status;
}

std::vector<pid_t> ServerProcess::tree() const {
    return procfs::descendant_pids(getpid());
}

std::optional<std::size_t> ServerProcess::tripped_at() const {
    std::lock_guard lock(mutex_);
    return tripped_at_;
}

void ServerProcess::kill_tree() {
    if (pid_ <= 0) return;
    // The session's process group first, in one call; then whatever escaped it
    // (setsid, setpgid), found by walking the tree. Killed processes cannot fork,
    // so each pass leaves fewer, and the rlimit bounds how many there can be.
    if (!wait_status()) ::kill(-pid_, SIGKILL);  // once reaped, the number may be reused
    auto deadline = Deadline::after(Millis(5000));
    poll_until(
        deadline,
        [&] {
            auto pids = tree();
            for (pid_t pid : pids) ::kill(pid, SIGKILL);
            reap();
            return pids.empty();
        },
        Millis(1));
}

std::string ServerProcess::log_tail(std::size_t max_lines) const {
    std::lock_guard lock(mutex_);
    log_->drain();
    return log_->tail(max_lines);
}

}  // namespace labcheck
