#pragma once
// A server a test starts by hand, as a student would in another terminal, so that
// labcheck can --attach to it: on a free port (another if someone takes it first), in
// a process group of its own, output to /dev/null. Dropping it kills the whole tree by
// pid and waits until each process is gone.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "os/deadline.hpp"
#include "ports.hpp"
#include "procfs/children.hpp"
#include "procfs/process_table.hpp"
#include "procfs/tcp_table.hpp"

namespace labcheck::testing {

class HandStartedServer {
  public:
    // Throws std::runtime_error when the server does not listen within `wait`, on any
    // of three ports.
    explicit HandStartedServer(const std::filesystem::path& program, Millis wait = Millis(5000)) {
        for (int attempt = 0; attempt < 3 && !listening_; ++attempt) {
            stop();
            port_ = pick_free_port();
            std::string port = std::to_string(port_);
            pid_ = fork();
            if (pid_ < 0) throw std::runtime_error("fork failed");
            if (pid_ == 0) {
                setpgid(0, 0);
                int null = ::open("/dev/null", O_RDWR);
                dup2(null, 0), dup2(null, 1), dup2(null, 2);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, nullptr);
                execl(program.c_str(), program.c_str(), port.c_str(), static_cast<char*>(nullptr));
                _exit(127);
            }
            setpgid(pid_, pid_);
            // Listening, or dead (another process took the port first): then again. Read
            // from /proc, not by connecting: a connection would leave a child behind.
            listening_ =
                poll_until(Deadline::after(wait),
                           [&] {
                               if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                                   pid_ = -1;
                                   return true;
                               }
                               auto sockets = procfs::read_tcp_sockets();
                               return std::any_of(sockets.begin(), sockets.end(), [&](auto& s) {
                                   return s.state == procfs::TcpState::listen &&
                                          s.local.port == port_;
                               });
                           }) &&
                pid_ > 0;
        }
        if (!listening_)
            throw std::runtime_error(
                fmt::format("{} did not listen within {} ms", program.string(), wait.count()));
    }
    HandStartedServer(const HandStartedServer&) = delete;
    HandStartedServer& operator=(const HandStartedServer&) = delete;
    ~HandStartedServer() { stop(); }

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }

  private:
    void stop() {
        if (pid_ <= 0) return;
        auto tree = procfs::descendant_pids(pid_);
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        for (pid_t pid : tree) ::kill(pid, SIGKILL);
        waitpid(pid_, nullptr, 0);
        // Its children go to init, or to us when another test made us a subreaper.
        for (pid_t pid : tree)
            poll_until(Deadline::after(Millis(2000)), [pid] {
                return waitpid(pid, nullptr, WNOHANG) == pid || errno == ECHILD ||
                       !procfs::read_process(pid);
            });
        pid_ = -1;
    }
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    bool listening_ = false;
};

}  // namespace labcheck::testing
