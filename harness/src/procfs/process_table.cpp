#include "procfs/process_table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "os/errors.hpp"
#include "os/unique_fd.hpp"

namespace labcheck::procfs {
namespace {

// Whole-field numbers only: "12x" is malformed, not 12.
template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
    Number value{};
    const char* const end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc{} || stop != end) return std::nullopt;
    return value;
}

std::optional<pid_t> parse_pid(std::string_view text) {
    const auto pid = parse_number<pid_t>(text);
    if (!pid || *pid <= 0) return std::nullopt;
    return pid;
}

// Walks the blank-separated fields of a line without allocating.
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

// /proc files report size 0, so read until end of file rather than trusting stat().
// nullopt when the file cannot be read: usually the process has just exited.
std::optional<std::string> read_proc_file(const std::filesystem::path& path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string text;
    std::array<char, 1024> buffer;
    for (;;) {
        const ssize_t got =
            retry_on_eintr([&] { return ::read(fd.get(), buffer.data(), buffer.size()); });
        if (got < 0) return std::nullopt;  // e.g. ESRCH: gone between open and read
        if (got == 0) return text;
        text.append(buffer.data(), static_cast<std::size_t>(got));
    }
}

std::filesystem::path pid_dir(pid_t pid, const std::filesystem::path& proc_root) {
    return proc_root / std::to_string(pid);
}

}  // namespace

std::optional<ProcessInfo> parse_stat(std::string_view line) {
    // comm is whatever the process chose (prctl, a file name), ")" and " " included, but
    // nothing after it can hold a ')', so the last one closes it.
    const auto open = line.find('(');
    const auto close = line.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return std::nullopt;
    }

    std::string_view pid_text = line.substr(0, open);
    if (!pid_text.ends_with(' ')) return std::nullopt;
    pid_text.remove_suffix(1);

    ProcessInfo info;
    const auto pid = parse_pid(pid_text);
    if (!pid) return std::nullopt;
    info.pid = *pid;
    info.comm = std::string(line.substr(open + 1, close - open - 1));

    // Fields are numbered from 1 as in proc(5): 3 state, 4 ppid, 5 pgrp, 6 session,
    // 22 starttime.
    Fields fields(line.substr(close + 1));
    const auto state = fields.next();
    const auto ppid = fields.next();
    const auto pgrp = fields.next();
    const auto session = fields.next();
    if (!state || state->size() != 1 || !session) return std::nullopt;
    if (!fields.skip(21 - 6)) return std::nullopt;
    const auto start = fields.next();
    if (!start) return std::nullopt;

    const auto ppid_value = parse_number<pid_t>(*ppid);
    const auto pgrp_value = parse_number<pid_t>(*pgrp);
    const auto session_value = parse_number<pid_t>(*session);
    const auto start_value = parse_number<unsigned long long>(*start);
    if (!ppid_value || !pgrp_value || !session_value || !start_value) return std::nullopt;

    info.state = state->front();
    info.ppid = *ppid_value;
    info.pgrp = *pgrp_value;
    info.session = *session_value;
    info.start_ticks = *start_value;
    return info;
}

std::optional<ProcessInfo> read_process(pid_t pid, const std::filesystem::path& proc_root) {
    const auto text = read_proc_file(pid_dir(pid, proc_root) / "stat");
    if (!text) return std::nullopt;
    return parse_stat(*text);
}

std::vector<ProcessInfo> read_processes(const std::filesystem::path& proc_root) {
    std::vector<ProcessInfo> table;
    // The constructor throws: without a readable proc_root there is nothing to report.
    std::filesystem::directory_iterator entries(proc_root);
    std::error_code error;
    for (; entries != std::filesystem::directory_iterator(); entries.increment(error)) {
        if (error) break;
        const auto pid = parse_pid(entries->path().filename().native());
        if (!pid) continue;  // "self", "net", "meminfo", ...
        if (auto info = read_process(*pid, proc_root)) table.push_back(std::move(*info));
    }
    return table;
}

std::vector<ProcessInfo> descendants_of(pid_t ancestor, const std::vector<ProcessInfo>& table) {
    std::unordered_map<pid_t, std::vector<std::size_t>> children_by_parent;
    for (std::size_t i = 0; i < table.size(); ++i) {
        children_by_parent[table[i].ppid].push_back(i);
    }

    // Breadth first from `ancestor`; `seen` keeps a corrupt table with a ppid cycle
    // (or a pid listed twice) from looping or listing a process twice.
    std::vector<ProcessInfo> found;
    std::vector<pid_t> queue{ancestor};
    std::unordered_set<pid_t> seen{ancestor};
    for (std::size_t next = 0; next < queue.size(); ++next) {
        const auto children = children_by_parent.find(queue[next]);
        if (children == children_by_parent.end()) continue;
        for (const std::size_t index : children->second) {
            const ProcessInfo& child = table[index];
            if (!seen.insert(child.pid).second) continue;
            found.push_back(child);
            queue.push_back(child.pid);
        }
    }
    return found;
}

std::optional<SyscallState> parse_syscall(std::string_view text) {
    Fields fields(text);
    const auto first = fields.next();
    if (!first) return std::nullopt;
    // "running": on a CPU right now, so there is no system call to report.
    if (*first == "running") return SyscallState{.running = true, .number = -1};
    // Otherwise "NR args... sp pc"; NR is -1 when blocked outside a system call (e.g. a
    // zombie, or stopped by a signal).
    const auto number = parse_number<long>(*first);
    if (!number) return std::nullopt;
    return SyscallState{.running = false, .number = *number};
}

std::optional<SyscallState> read_syscall(pid_t pid, const std::filesystem::path& proc_root) {
    // Needs ptrace access to `pid`; without it open fails and we report nullopt.
    const auto text = read_proc_file(pid_dir(pid, proc_root) / "syscall");
    if (!text) return std::nullopt;
    return parse_syscall(*text);
}

std::optional<std::uint64_t> parse_pending_signals(std::string_view status_text) {
    std::uint64_t pending = 0;
    int found = 0;
    for (std::string_view field : {std::string_view("SigPnd:"), std::string_view("ShdPnd:")}) {
        auto at = status_text.find(field);
        if (at == std::string_view::npos) continue;
        auto value = status_text.substr(at + field.size());
        value.remove_prefix(std::min(value.find_first_not_of(" \t"), value.size()));
        std::uint64_t mask = 0;
        auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), mask, 16);
        if (error != std::errc() || end == value.data()) return std::nullopt;
        pending |= mask;
        ++found;
    }
    if (found == 0) return std::nullopt;
    return pending;
}

std::optional<std::uint64_t> read_pending_signals(pid_t pid,
                                                  const std::filesystem::path& proc_root) {
    const auto text = read_proc_file(pid_dir(pid, proc_root) / "status");
    if (!text) return std::nullopt;
    return parse_pending_signals(*text);
}

}  // namespace labcheck::procfs
