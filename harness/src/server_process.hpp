#pragma once
// A student's server started by labcheck: in its own session, as an unprivileged
// user when labcheck is root, under rlimits, its output drained into a capped log.
// A watch thread reaps whatever dies (labcheck is a child subreaper, so orphans
// and daemons come back to it), and kills the whole tree when it grows past the
// process cap. When a ServerProcess is dropped, no process of its tree remains.
//
// Invariant: while a ServerProcess lives, every child of labcheck belongs to it.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "log_capture.hpp"
#include "os/deadline.hpp"
#include "sandbox.hpp"

namespace labcheck {

struct LaunchSpec {
    std::vector<std::string> argv;  // "{port}" in any argument becomes the port
    SandboxPolicy policy;
    std::filesystem::path log_path;
    std::size_t log_cap = 1024 * 1024;
};

// Makes labcheck the reaper of every orphan its servers leave (PR_SET_CHILD_SUBREAPER).
void become_subreaper();

// "exited with status 1", "was killed by signal 11 (Segmentation fault)".
std::string describe_wait_status(int status);

class ServerProcess {
    struct Private {};  // only launch() constructs one

  public:
    explicit ServerProcess(Private) {}

    // Forks and execs the server. Throws std::runtime_error with one clear line
    // when it cannot be started at all (missing binary, not executable).
    static std::unique_ptr<ServerProcess> launch(const LaunchSpec& spec, std::uint16_t port);

    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;
    ~ServerProcess();

    pid_t pid() const { return pid_; }
    std::uint16_t port() const { return port_; }
    const std::string& command_line() const { return command_line_; }

    // The raw wait status once the process labcheck started has ended.
    std::optional<int> wait_status() const;
    // Waits until the started process (or `pid`, another process of the tree)
    // has ended; returns its wait status, or nullopt when it still runs at the deadline.
    std::optional<int> wait_exit(const Deadline& deadline) const {
        return wait_exit(pid_, deadline);
    }
    std::optional<int> wait_exit(pid_t pid, const Deadline& deadline) const;

    // Every live or zombie process of the tree (descendants of labcheck).
    std::vector<pid_t> tree() const;

    // Set when the tree passed the process cap and was killed.
    std::optional<std::size_t> tripped_at() const;

    void kill_tree();
    std::string log_tail(std::size_t max_lines = 12) const;
    std::filesystem::path log_path() const { return log_path_; }

  private:
    void watch();
    void reap();

    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::string command_line_;
    std::filesystem::path log_path_;
    int max_processes_ = 128;

    mutable std::mutex mutex_;
    std::map<pid_t, int> reaped_;  // wait status of every process labcheck reaped
    std::optional<std::size_t> tripped_at_;
    std::unique_ptr<LogCapture> log_;

    std::atomic<bool> stop_{false};
    std::thread watcher_;
};

}  // namespace labcheck
