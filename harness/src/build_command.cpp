#include "build_command.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstring>

#include "interrupts.hpp"
#include "os/deadline.hpp"
#include "os/default_signals.hpp"
#include "os/errors.hpp"
#include "os/unique_fd.hpp"

namespace labcheck {
namespace {

// Once the build is over, what it printed last is read for at most this long: only a
// writer that escaped labcheck's process tree entirely could keep the pipe open.
constexpr Millis kDrainLimit{2000};

// A descriptor that polls readable once `pid` has exited. Through syscall(): glibc
// 2.36's <sys/pidfd.h> declares pidfd_open without extern "C" (fixed in 2.37).
int open_pidfd(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// In the forked child, when it cannot become the build: says why where the build's
// output goes, and exits as a shell does for a command it cannot run.
[[noreturn]] void fail(int output, const char* message) {
    [[maybe_unused]] auto ignored = ::write(output, message, std::strlen(message));
    _exit(127);
}

// Runs in the forked child: async-signal-safe calls only (labcheck has threads).
[[noreturn]] void exec_shell(const char* command, const char* workdir, int output) {
    setpgid(0, 0);  // the parent does it too: whichever runs first, no race
    int null = ::open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(output, 1) < 0 || dup2(output, 2) < 0)
        fail(output, "labcheck: cannot redirect the build's input and output\n");
    if (chdir(workdir) != 0) fail(output, "labcheck: cannot enter the kit's folder to build\n");
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
        fail(output, "labcheck: cannot close labcheck's descriptors for the build\n");
    restore_default_signals();  // the build starts as from a shell
    execl("/bin/sh", "sh", "-c", command, static_cast<char*>(nullptr));
    fail(output, "labcheck: cannot run /bin/sh for the build\n");
}

// Appends what the pipe holds now; false at end of file.
bool drain(int fd, BuildOutcome& outcome) {
    std::array<char, 16384> buffer;
    for (;;) {
        ssize_t n = retry_on_eintr([&] { return ::read(fd, buffer.data(), buffer.size()); });
        if (n == 0) return false;
        if (n < 0) {
            if (errno == EAGAIN) return true;
            throw_errno("read the build's output");
        }
        std::size_t room = BuildOutcome::kOutputCap - outcome.output.size();
        std::size_t count = static_cast<std::size_t>(n);
        if (count > room) outcome.truncated = true;
        outcome.output.append(buffer.data(), std::min(count, room));
    }
}

// The shell of a build, killed with its group if run_build leaves by an exception.
struct Shell {
    pid_t pid;
    bool reaped = false;
    explicit Shell(pid_t started) : pid(started) {}
    Shell(const Shell&) = delete;
    Shell& operator=(const Shell&) = delete;
    ~Shell() {
        if (reaped) return;
        ::kill(-pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
};

}  // namespace

bool BuildOutcome::succeeded() const {
    return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string shell_quote(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

BuildOutcome run_build(const std::string& command, const std::filesystem::path& workdir) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe2");
    UniqueFd output_read(ends[0]);
    UniqueFd output_write(ends[1]);
    // labcheck's end only: reading drains what is there, and never waits for more.
    if (fcntl(output_read.get(), F_SETFL, O_NONBLOCK) != 0) throw_errno("fcntl(O_NONBLOCK)");
    std::string directory = workdir.string();

    pid_t pid = fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) exec_shell(command.c_str(), directory.c_str(), output_write.get());
    Shell shell{pid};
    setpgid(pid, pid);
    KillGroupOnInterrupt interrupt_kills(pid);
    output_write.reset();

    BuildOutcome outcome;
    UniqueFd exited(open_pidfd(pid));
    if (!exited) throw_errno("pidfd_open");
    // Read as it comes (a full pipe would stall the compiler) until the shell has
    // exited; it stays a zombie, holding its process group's id, until waitpid below.
    bool open = true;
    for (;;) {
        std::array<pollfd, 2> watched{pollfd{exited.get(), POLLIN, 0},
                                      pollfd{open ? output_read.get() : -1, POLLIN, 0}};
        if (retry_on_eintr([&] { return ::poll(watched.data(), watched.size(), -1); }) < 0)
            throw_errno("poll the build");
        if (watched[1].revents != 0) open = drain(output_read.get(), outcome);
        if (watched[0].revents != 0) break;
    }
    ::kill(-pid, SIGKILL);  // what the build left in its group: `cmd &`, a compile server
    retry_on_eintr([&] { return waitpid(pid, &outcome.wait_status, 0); });
    shell.reaped = true;
    kill_every_descendant();  // and what left the group (setsid), adopted by labcheck

    // Everyone that held the pipe is gone: what remains in it is the build's last words.
    for (auto deadline = Deadline::after(kDrainLimit); open && !deadline.expired();) {
        pollfd entry{output_read.get(), POLLIN, 0};
        if (retry_on_eintr([&] { return ::poll(&entry, 1, deadline.poll_timeout()); }) > 0)
            open = drain(output_read.get(), outcome);
    }
    return outcome;
}

}  // namespace labcheck
