#include "procfs/children.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>
#include <unordered_set>

#include "os/errors.hpp"
#include "os/unique_fd.hpp"
#include "procfs/text.hpp"

namespace labcheck::procfs {
namespace {

// The shared /proc text helpers (text.hpp).
using namespace text;

struct DirCloser {
    void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
using Dir = std::unique_ptr<DIR, DirCloser>;

// Paths are opened relative to a descriptor of proc_root so the polling loop builds no
// std::filesystem::path per process.
UniqueFd open_proc_root(const std::filesystem::path& proc_root) {
    UniqueFd root(::open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // Without /proc nothing in this module can work: that is a setup error, not a race.
    if (!root) throw_errno("open " + proc_root.string());
    return root;
}

// Null when the directory is gone: the process exited while we looked.
Dir open_dir_at(int at, const char* name) {
    UniqueFd fd(::openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return nullptr;
    DIR* dir = ::fdopendir(fd.get());
    if (dir == nullptr) return nullptr;
    fd.release();  // closedir closes it now
    return Dir(dir);
}

// Splits "12 34 56 " (the kernel's format: "%d " per child, no newline) into pids. Fed in
// chunks because a number may straddle two reads.
class PidListParser {
  public:
    explicit PidListParser(std::vector<pid_t>& out) : out_(out) {}

    void feed(std::string_view chunk) {
        for (char c : chunk) {
            if (c >= '0' && c <= '9') {
                // Saturates above INT_MAX instead of overflowing; finish_number drops it.
                if (value_ <= INT_MAX) value_ = value_ * 10 + static_cast<unsigned>(c - '0');
                in_number_ = true;
            } else {
                finish_number();
            }
        }
    }

    void finish_number() {
        if (in_number_ && value_ > 0 && value_ <= INT_MAX) {
            out_.push_back(static_cast<pid_t>(value_));
        }
        value_ = 0;
        in_number_ = false;
    }

  private:
    std::vector<pid_t>& out_;
    std::uint64_t value_ = 0;
    bool in_number_ = false;
};

void append_pids_from(int fd, std::vector<pid_t>& out) {
    std::array<char, 4096> buffer;
    PidListParser parser(out);
    for (;;) {
        const ssize_t got =
            retry_on_eintr([&] { return ::read(fd, buffer.data(), buffer.size()); });
        if (got <= 0) break;  // end of file, or the thread exited under us
        parser.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    }
    parser.finish_number();
}

// Each thread has its own children file, listing what that thread forked, so a server that
// forks from worker threads needs all of them.
void append_children(int root_fd, pid_t pid, std::vector<pid_t>& out) {
    std::array<char, 32> task_dir;
    std::snprintf(task_dir.data(), task_dir.size(), "%d/task", static_cast<int>(pid));
    const Dir tasks = open_dir_at(root_fd, task_dir.data());
    if (!tasks) return;

    while (const dirent* entry = ::readdir(tasks.get())) {
        if (!is_all_digits(entry->d_name)) continue;  // "." and ".."
        std::array<char, 300> children_file;
        std::snprintf(children_file.data(), children_file.size(), "%s/children", entry->d_name);
        const UniqueFd file(
            ::openat(::dirfd(tasks.get()), children_file.data(), O_RDONLY | O_CLOEXEC));
        if (file) append_pids_from(file.get(), out);
    }
}

}  // namespace

std::vector<pid_t> children_of(pid_t pid, const std::filesystem::path& proc_root) {
    const UniqueFd root = open_proc_root(proc_root);
    std::vector<pid_t> children;
    append_children(root.get(), pid, children);
    return children;
}

std::vector<pid_t> descendant_pids(pid_t ancestor, const std::filesystem::path& proc_root) {
    const UniqueFd root = open_proc_root(proc_root);
    // `found` doubles as the breadth-first queue: found[next] is the next parent to expand.
    std::vector<pid_t> found;
    std::vector<pid_t> children;  // reused for every parent
    std::unordered_set<pid_t> seen{ancestor};

    pid_t parent = ancestor;
    for (std::size_t next = 0;; ++next) {
        children.clear();
        append_children(root.get(), parent, children);
        for (const pid_t child : children) {
            if (found.size() >= max_descendants) return found;
            // A pid can show up twice when a pid is reused while we walk.
            if (seen.insert(child).second) found.push_back(child);
        }
        if (next == found.size()) return found;
        parent = found[next];
    }
}

}  // namespace labcheck::procfs
