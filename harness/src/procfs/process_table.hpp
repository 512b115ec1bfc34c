#pragma once
// Typed view of the process table in /proc: who is alive, who is whose parent,
// who is a zombie. Parsed from text so tests can feed fixtures.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace labcheck::procfs {

struct ProcessInfo {
    pid_t pid = 0;
    pid_t ppid = 0;
    char state = '?';  // R S D Z T t X I, as in /proc/PID/stat
    pid_t pgrp = 0;
    pid_t session = 0;
    unsigned long long start_ticks = 0;  // field 22: clock ticks after boot
    unsigned long flags = 0;             // field 9: the kernel's PF_* flags
    std::string comm;

    bool is_zombie() const { return state == 'Z' || state == 'X'; }
    // Dying but not yet a zombie: the kernel is tearing it down (PF_EXITING), and
    // has perhaps already closed its sockets.
    bool is_exiting() const { return (flags & 0x4) != 0; }
};

// Parses the single line of /proc/PID/stat. comm may hold spaces and ')'.
std::optional<ProcessInfo> parse_stat(std::string_view line);

// Every process visible under `proc_root` (normally /proc). Processes that vanish
// while we read are skipped, not errors.
std::vector<ProcessInfo> read_processes(const std::filesystem::path& proc_root = "/proc");

std::optional<ProcessInfo> read_process(pid_t pid,
                                        const std::filesystem::path& proc_root = "/proc");

// The processes whose chain of parents leads to `ancestor` (not `ancestor` itself),
// in no particular order.
std::vector<ProcessInfo> descendants_of(pid_t ancestor, const std::vector<ProcessInfo>& table);

// /proc/PID/syscall: "running", or the number of the system call the process is
// blocked in (first field). nullopt when unreadable or malformed.
struct SyscallState {
    bool running = false;
    long number = -1;
    // The stack pointer while blocked (the second-to-last field): which mapping of
    // /proc/PID/maps is this thread's stack.
    std::optional<std::uint64_t> stack_pointer;
};
std::optional<SyscallState> parse_syscall(std::string_view text);
// wait4 or waitid: what wait(), waitpid() and waitid() block in.
bool is_wait_syscall(long number);
std::optional<SyscallState> read_syscall(pid_t pid,
                                         const std::filesystem::path& proc_root = "/proc");

// Signals waiting to be delivered to the process (the SigPnd and ShdPnd masks of
// /proc/PID/status, or-ed): bit N-1 stands for signal N. nullopt when unreadable.
std::optional<std::uint64_t> parse_pending_signals(std::string_view status_text);
std::optional<std::uint64_t> read_pending_signals(pid_t pid,
                                                  const std::filesystem::path& proc_root = "/proc");

// The threads of `pid` by thread id (/proc/PID/task; the first is `pid` itself), sorted;
// empty when the process is gone. A thread's own files are read like a process's with
// proc_root = /proc/PID/task: read_process(tid, that), read_syscall(tid, that), ...
std::vector<pid_t> thread_ids(pid_t pid, const std::filesystem::path& proc_root = "/proc");

// The number after "Field:" in /proc/PID/status ("VmSize:\t  1234 kB" -> 1234, in the unit
// written there; "voluntary_ctxt_switches:\t12" -> 12). nullopt when missing or unreadable.
std::optional<std::uint64_t> parse_status_number(std::string_view status_text,
                                                 std::string_view field);
std::optional<std::uint64_t> read_status_number(pid_t pid, std::string_view field,
                                                const std::filesystem::path& proc_root = "/proc");

// Where a sleeping process waits in the kernel, as `ps -o wchan` shows it
// ("inet_csk_accept", "futex_wait_queue"); empty when it runs or the file is unreadable.
std::string read_wait_channel(pid_t pid, const std::filesystem::path& proc_root = "/proc");

}  // namespace labcheck::procfs
