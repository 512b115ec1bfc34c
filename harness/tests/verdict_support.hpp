#pragma once
// What the verdict drivers (corpus_verdict, lab_verdict) share: running labcheck,
// a private copy of the server under test, and the search for processes of it
// that outlived labcheck.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "procfs/process_table.hpp"

namespace verdict {

namespace fs = std::filesystem;

// Processes running the server binary: from its own path, or from a copy that
// labcheck staged for an unprivileged user (/tmp/labcheck-XXXXXX/NAME).
inline std::vector<pid_t> leftovers(const fs::path& server) {
    std::vector<pid_t> found;
    for (const auto& process : labcheck::procfs::read_processes()) {
        std::error_code error;
        std::string exe =
            fs::read_symlink(fmt::format("/proc/{}/exe", process.pid), error).string();
        if (error) continue;
        if (auto deleted = exe.find(" (deleted)"); deleted != std::string::npos)
            exe.resize(deleted);
        fs::path path(exe);
        bool staged = path.filename() == server.filename() &&
                      path.parent_path().filename().string().starts_with("labcheck-");
        // A zombie has ended; init (or a subreaper) collects it soon after.
        if ((path == server || staged) && !process.is_zombie()) found.push_back(process.pid);
    }
    return found;
}

// As root, labcheck runs the server as an unprivileged user, and RLIMIT_NPROC counts
// that user's processes across the machine: tests running side by side as the same
// user would eat into each other's cap (a corpus server piling up zombies makes a
// neighbour's fork() fail). Each verdict driver takes a uid of its own, from a free
// range without passwd entries, as `labcheck grade` does for its job slots; the pid
// keeps drivers running at the same time apart. Empty when not root.
inline std::string own_user_option() {
    if (geteuid() != 0) return {};
    return fmt::format("--user {}", 62000 + getpid() % 3000);
}

// Runs the command, returns (exit status, stdout).
inline std::pair<int, std::string> run(const std::string& command) {
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed");
    char buffer[4096];
    while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, output};
}

// A copy of a binary in a private temporary folder, removed at the end.
class PrivateCopy {
  public:
    PrivateCopy(const fs::path& original, const std::string& name) {
        std::string pattern = (fs::temp_directory_path() / "verdict-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        folder_ = pattern;
        path_ = folder_ / name;
        fs::copy_file(original, path_);
        fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
    }
    PrivateCopy(const PrivateCopy&) = delete;
    PrivateCopy& operator=(const PrivateCopy&) = delete;
    ~PrivateCopy() {
        std::error_code ignored;
        fs::remove_all(folder_, ignored);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path folder_;
    fs::path path_;
};

}  // namespace verdict
