#include "procfs/process_table.hpp"

#include <sys/syscall.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "procfs/text.hpp"

namespace labcheck::procfs {
namespace {

// The shared /proc text helpers (text.hpp).
using namespace text;

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
    // 9 flags, 22 starttime.
    Fields fields(line.substr(close + 1));
    const auto state = fields.next();
    const auto ppid = fields.next();
    const auto pgrp = fields.next();
    const auto session = fields.next();
    if (!state || state->size() != 1 || !session) return std::nullopt;
    if (!fields.skip(8 - 6)) return std::nullopt;
    const auto flags = fields.next();
    if (!flags || !fields.skip(21 - 9)) return std::nullopt;
    const auto start = fields.next();
    if (!start) return std::nullopt;

    const auto ppid_value = parse_number<pid_t>(*ppid);
    const auto pgrp_value = parse_number<pid_t>(*pgrp);
    const auto session_value = parse_number<pid_t>(*session);
    const auto start_value = parse_number<unsigned long long>(*start);
    const auto flags_value = parse_number<unsigned long>(*flags);
    if (!ppid_value || !pgrp_value || !session_value || !start_value || !flags_value)
        return std::nullopt;

    info.state = state->front();
    info.ppid = *ppid_value;
    info.pgrp = *pgrp_value;
    info.session = *session_value;
    info.start_ticks = *start_value;
    info.flags = *flags_value;
    return info;
}

std::optional<ProcessInfo> read_process(pid_t pid, const std::filesystem::path& proc_root) {
    // A failed read is usually a process that has just exited: nothing to report.
    std::string contents;
    if (read_proc_file(pid_dir(pid, proc_root) / "stat", contents) != 0) return std::nullopt;
    return parse_stat(contents);
}

std::vector<ProcessInfo> read_processes(const std::filesystem::path& proc_root) {
    std::vector<ProcessInfo> table;
    for_each_pid(proc_root, [&](pid_t pid) {
        if (auto info = read_process(pid, proc_root)) table.push_back(std::move(*info));
    });
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
    if (*first == "running")
        return SyscallState{.running = true, .number = -1, .stack_pointer = std::nullopt};
    // Otherwise "NR args... sp pc"; NR is -1 when blocked outside a system call (e.g. a
    // zombie, or stopped by a signal).
    const auto number = parse_number<long>(*first);
    if (!number) return std::nullopt;
    SyscallState state{.running = false, .number = *number, .stack_pointer = std::nullopt};
    std::optional<std::string_view> before_last, last;
    for (auto field = fields.next(); field; field = fields.next()) {
        before_last = last;
        last = field;
    }
    if (before_last && before_last->starts_with("0x"))
        state.stack_pointer = parse_number<std::uint64_t>(before_last->substr(2), 16);
    return state;
}

bool is_wait_syscall(long number) {
    return number == SYS_wait4 || number == SYS_waitid;
}

std::optional<SyscallState> read_syscall(pid_t pid, const std::filesystem::path& proc_root) {
    // Needs ptrace access to `pid`; without it open fails and we report nullopt.
    std::string contents;
    if (read_proc_file(pid_dir(pid, proc_root) / "syscall", contents) != 0) return std::nullopt;
    return parse_syscall(contents);
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
    // A failed read is usually a process that has just exited: nothing to report.
    std::string contents;
    if (read_proc_file(pid_dir(pid, proc_root) / "status", contents) != 0) return std::nullopt;
    return parse_pending_signals(contents);
}

std::vector<pid_t> thread_ids(pid_t pid, const std::filesystem::path& proc_root) {
    std::vector<pid_t> tids;
    std::error_code error;  // a process that is gone has no threads: not an error here
    std::filesystem::directory_iterator entries(pid_dir(pid, proc_root) / "task", error);
    for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error))
        if (const auto tid = parse_pid(entries->path().filename().native())) tids.push_back(*tid);
    std::sort(tids.begin(), tids.end());
    return tids;
}

std::optional<std::uint64_t> parse_status_number(std::string_view status_text,
                                                 std::string_view field) {
    for (std::size_t at = 0; at < status_text.size();) {
        const auto end = std::min(status_text.find('\n', at), status_text.size());
        std::string_view line = status_text.substr(at, end - at);
        at = end + 1;
        if (!line.starts_with(field) || line.substr(field.size(), 1) != ":") continue;
        Fields value(line.substr(field.size() + 1));
        const auto number = value.next();
        return number ? parse_number<std::uint64_t>(*number) : std::nullopt;
    }
    return std::nullopt;
}

std::optional<std::uint64_t> read_status_number(pid_t pid, std::string_view field,
                                                const std::filesystem::path& proc_root) {
    std::string contents;
    if (read_proc_file(pid_dir(pid, proc_root) / "status", contents) != 0) return std::nullopt;
    return parse_status_number(contents, field);
}

std::string read_wait_channel(pid_t pid, const std::filesystem::path& proc_root) {
    std::string contents;
    if (read_proc_file(pid_dir(pid, proc_root) / "wchan", contents) != 0) return "";
    Fields fields(contents);
    const auto channel = fields.next();
    return channel && *channel != "0" ? std::string(*channel) : "";
}

}  // namespace labcheck::procfs
