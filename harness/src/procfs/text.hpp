#pragma once
// Internal to procfs: the small text helpers every /proc reader here needs. /proc is text
// (numbers printed with %d or %X, fields separated by blanks), and some of it is read in a
// polling loop, so it is parsed in place from string_views without allocating; only reading
// a whole file fills a string.

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "os/errors.hpp"
#include "os/unique_fd.hpp"

namespace labcheck::procfs::text {

// Whole-field numbers only: "12x" is malformed, not 12.
template <typename Number>
std::optional<Number> parse_number(std::string_view text, int base = 10) {
    Number value{};
    const char* const end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value, base);
    if (error != std::errc{} || stop != end) return std::nullopt;
    return value;
}

// A pid as /proc prints it (a directory name, a stat field): a whole number above 0.
inline std::optional<pid_t> parse_pid(std::string_view text) {
    const auto pid = parse_number<pid_t>(text);
    if (!pid || *pid <= 0) return std::nullopt;
    return pid;
}

// Calls `visit(pid)` for each process directory of proc_root, skipping the other entries
// ("self", "net", "meminfo", ...). Throws when proc_root cannot be opened: without it there
// is nothing to walk; a failure midway ends the walk quietly.
template <typename Visit>
void for_each_pid(const std::filesystem::path& proc_root, Visit visit) {
    std::filesystem::directory_iterator entries(proc_root);
    std::error_code error;
    for (; entries != std::filesystem::directory_iterator(); entries.increment(error)) {
        if (error) break;
        if (const auto pid = parse_pid(entries->path().filename().native())) visit(*pid);
    }
}

// Non-empty and nothing but 0-9; unlike parse_pid it never fails on overflow.
inline bool is_all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// Walks the blank-separated fields of a line (or a whole file) without allocating.
class Fields {
  public:
    explicit Fields(std::string_view text) : rest_(text) {}

    std::optional<std::string_view> next() {
        const auto begin = rest_.find_first_not_of(blanks);
        if (begin == std::string_view::npos) return std::nullopt;
        rest_.remove_prefix(begin);
        const auto end = std::min(rest_.find_first_of(blanks), rest_.size());
        const auto field = rest_.substr(0, end);
        rest_.remove_prefix(end);
        return field;
    }

    bool skip(int count) {
        for (int i = 0; i < count; ++i) {
            if (!next()) return false;
        }
        return true;
    }

  private:
    static constexpr std::string_view blanks = " \t\n";
    std::string_view rest_;
};

// Reads a whole /proc file into `text` (they report size 0, so read to end of file rather
// than trusting stat()). Returns 0, or the errno of the failure: ENOENT when the file is
// missing, ESRCH or similar when its process exited between open and read. `text` is
// reused, so a caller polling in a loop keeps its capacity.
inline int read_proc_file(const std::filesystem::path& path, std::string& text) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno;
    constexpr std::size_t chunk = 16 * 1024;
    std::size_t used = 0;
    for (;;) {
        if (text.size() < used + chunk) text.resize(used + chunk);
        const ssize_t got = retry_on_eintr(
            [&] { return ::read(fd.get(), text.data() + used, text.size() - used); });
        if (got < 0) return errno;
        if (got == 0) break;
        used += static_cast<std::size_t>(got);
    }
    text.resize(used);
    return 0;
}

}  // namespace labcheck::procfs::text
