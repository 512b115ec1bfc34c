// Lab 07: checks a thread-per-client server. Threads share their process's memory,
// descriptors and signal actions, so its mistakes look different from a forking
// server's: a thread that is never joined leaves no zombie for `ps` to show, only
// its stack, still mapped; and one SIGPIPE ends every client's conversation at once.

#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "check_failure.hpp"
#include "check_observer.hpp"
#include "checks/probes.hpp"
#include "procfs/process_table.hpp"
#include "procfs/text.hpp"
#include "server_process.hpp"

namespace labcheck {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- threads and memory in /proc

std::optional<std::string> read_text(const fs::path& path) {
    std::string text;
    if (procfs::text::read_proc_file(path, text) != 0) return std::nullopt;
    return text;
}

// A thread's own files are read as a process's are, with /proc/PID/task as the root.
fs::path tasks_of(pid_t pid) {
    return fs::path("/proc") / std::to_string(pid) / "task";
}

// The process's virtual memory: every mapping, touched or not (`ps -o vsz`), in bytes.
std::optional<std::uint64_t> virtual_size(pid_t pid) {
    auto kib = procfs::read_status_number(pid, "VmSize");
    return kib ? std::optional<std::uint64_t>(*kib * 1024) : std::nullopt;
}

// A thread's stack pointer while it is blocked in a system call. Reading it needs the
// right to trace the process, which labcheck has over the servers it starts.
std::optional<std::uint64_t> stack_pointer(pid_t pid, pid_t tid) {
    auto state = procfs::read_syscall(tid, tasks_of(pid));
    return state ? state->stack_pointer : std::nullopt;
}

struct Mapping {
    std::uint64_t start = 0, end = 0;
    std::string permissions;  // "rw-p", "---p", ...
    std::uint64_t size() const { return end - start; }
};

// /proc/PID/maps, as `pmap` shows it: "start-end perms offset dev inode [path]".
std::vector<Mapping> mappings_of(pid_t pid) {
    std::vector<Mapping> mappings;
    auto text = read_text(fs::path("/proc") / std::to_string(pid) / "maps");
    if (!text) return mappings;
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string range;
        Mapping mapping;
        if (!(fields >> range >> mapping.permissions)) continue;
        auto dash = range.find('-');
        if (dash == std::string::npos) continue;
        try {
            mapping.start = std::stoull(range.substr(0, dash), nullptr, 16);
            mapping.end = std::stoull(range.substr(dash + 1), nullptr, 16);
        } catch (const std::exception&) {
            continue;
        }
        mappings.push_back(mapping);
    }
    return mappings;
}

// The shape of a thread's stack in /proc/PID/maps: an inaccessible guard below (it
// turns an overflow into a crash, not a silent overwrite of the next mapping), then
// the stack itself, readable and writable.
struct StackShape {
    std::uint64_t guard = 0;
    std::uint64_t usable = 0;
    std::uint64_t size() const { return guard + usable; }
};

// A thread stack's shape as the client threads blocked in a system call show it: the
// mapping their stack pointer is in, and the guard just below. The smallest seen: a
// stack mapping may merge with a neighbour, never shrink.
std::optional<StackShape> measured_stack(pid_t pid, const std::vector<pid_t>& threads) {
    auto mappings = mappings_of(pid);
    std::optional<StackShape> smallest;
    for (pid_t tid : threads) {
        auto sp = stack_pointer(pid, tid);
        if (!sp) continue;
        for (std::size_t i = 1; i < mappings.size(); ++i) {
            const Mapping& below = mappings[i - 1];
            const Mapping& stack = mappings[i];
            if (*sp < stack.start || *sp >= stack.end) continue;
            if (below.end != stack.start || below.permissions.rfind("---", 0) != 0) break;
            StackShape shape{below.size(), stack.size()};
            if (!smallest || shape.size() < smallest->size()) smallest = shape;
            break;
        }
    }
    return smallest;
}

// How many mappings of `pid` have exactly that shape: the stacks of live threads, of
// ended ones glibc keeps for reuse, and of ended joinable threads nobody joined.
// (malloc's per-thread arenas look different: 64 MiB each, usable part first.)
int count_stacks(pid_t pid, const StackShape& shape) {
    auto mappings = mappings_of(pid);
    int count = 0;
    for (std::size_t i = 1; i < mappings.size(); ++i) {
        const Mapping& below = mappings[i - 1];
        const Mapping& stack = mappings[i];
        if (below.end == stack.start && below.permissions.rfind("---", 0) == 0 &&
            below.size() == shape.guard && stack.permissions.rfind("rw", 0) == 0 &&
            stack.size() == shape.usable)
            ++count;
    }
    return count;
}

// What glibc gives a thread when the program does not choose: the soft stack limit
// (`ulimit -s`, "Max stack size" in /proc/PID/limits), or 8 MiB when that is unlimited.
std::uint64_t default_stack_size(pid_t pid) {
    constexpr std::uint64_t kEightMib = 8 * 1024 * 1024;
    auto text = read_text(fs::path("/proc") / std::to_string(pid) / "limits");
    if (!text) return kEightMib;
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("Max stack size", 0) != 0) continue;
        std::istringstream fields(line.substr(std::string_view("Max stack size").size()));
        std::string soft;
        fields >> soft;
        try {
            return soft == "unlimited" ? kEightMib : std::stoull(soft);
        } catch (const std::exception&) {
            return kEightMib;
        }
    }
    return kEightMib;
}

// "8.0 MiB", "132 KiB"
std::string size_text(std::uint64_t bytes) {
    if (bytes >= 1024 * 1024) return fmt::format("{:.1f} MiB", double(bytes) / (1024.0 * 1024.0));
    return fmt::format("{} KiB", (bytes + 1023) / 1024);
}

// "1 thread", "9 threads"
std::string threads_text(std::size_t count) {
    return fmt::format("{} thread{}", count, count == 1 ? "" : "s");
}

// "thread 1234 (state S, waiting in futex_wait_queue)": what a lingering thread does.
std::string describe_thread(pid_t pid, pid_t tid) {
    std::string state = "?";
    if (auto info = procfs::read_process(tid, tasks_of(pid))) state = std::string(1, info->state);
    std::string wchan = procfs::read_wait_channel(tid, tasks_of(pid));
    if (wchan.empty()) return fmt::format("thread {} (state {})", tid, state);
    return fmt::format("thread {} (state {}, waiting in {})", tid, state, wchan);
}

// "was killed by signal 13 (SIGPIPE: Broken pipe)", "is still running", ...
std::string fate_of(const CheckContext& context, pid_t pid) {
    if (context.process && *context.process) {
        if (auto status = (*context.process)->wait_exit(pid, Deadline::after(Millis(200))))
            return describe_wait_status(*status);
    }
    auto process = procfs::read_process(pid);
    if (!process || process->is_zombie()) return "has exited";
    return "is still running";
}

// ---------------------------------------------------------------- thread-leak

constexpr int kAtOnce = 8;  // clients connected together in every round
constexpr int kRounds = 6;  // measured rounds, after one warm-up round: 48 clients

// The server process's threads, or a CheckFailure when the process is gone.
std::vector<pid_t> live_threads(const CheckContext& context, pid_t server) {
    auto process = procfs::read_process(server);
    if (!process || process->is_zombie())
        throw CheckFailure(fmt::format(
            "the server process (pid {}) {} while its clients came and went.\nA thread ends by "
            "returning from its function. exit() ends the process, every thread with it, and so "
            "do an uncaught exception and a signal such as SIGPIPE or SIGSEGV.",
            server, fate_of(context, server)));
    return procfs::thread_ids(server);
}

// Every client of `clients` half-closes, reads to EOF and closes, as one that is done.
void leave(std::vector<Connection>& clients, std::string_view round) {
    auto deadline = Deadline::after(kReplyBudget);
    for (auto& client : clients) client.shutdown_write();
    for (std::size_t i = 0; i < clients.size(); ++i) {
        Received rest = clients[i].receive_until_eof(64 * 1024, deadline);
        if (rest.end != Received::End::eof)
            throw CheckFailure(fmt::format(
                "client {} of {} ({}) sent EOF after its echo; the server did not close the "
                "connection: {} (see the eof check)",
                i + 1, clients.size(), round, rest.describe_end(kReplyBudget)));
        clients[i].close_gracefully();
    }
    clients.clear();
}

// Waits until the server runs no more threads than when idle; fails with the ones left.
void await_idle_threads(const CheckContext& context, pid_t server, const std::vector<pid_t>& idle,
                        std::string_view what) {
    std::vector<pid_t> now;
    if (poll_patiently(Deadline::after(kSettleBudget),
                       [&] { return (now = live_threads(context, server)).size() <= idle.size(); }))
        return;
    std::vector<pid_t> extra;
    for (pid_t tid : now)
        if (std::find(idle.begin(), idle.end(), tid) == idle.end()) extra.push_back(tid);
    std::string listed;
    for (std::size_t i = 0; i < extra.size() && i < 4; ++i)
        listed += (i ? ", " : "") + describe_thread(server, extra[i]);
    if (extra.size() > 4) listed += fmt::format(" and {} more", extra.size() - 4);
    throw CheckFailure(fmt::format(
        "{}; {} ms after the last one left, the server (pid {}) still runs {}, against {} when "
        "it was idle: {}.\nA thread should return from its function as soon as its "
        "client is done (read() returned 0 or failed) and its connection is closed. These stay, "
        "so a server that keeps a thread for every client it ever had runs out of threads, and "
        "of memory for their stacks (ls /proc/{}/task lists them).",
        what, kSettleBudget.count(), server, threads_text(now.size()), idle.size(), listed,
        server));
}

std::string thread_leak(CheckContext& context) {
    pid_t server = require_listener(context);
    const auto idle = live_threads(context, server);

    // The warm-up round: the first client alone tells whether the server makes a
    // thread per client at all; with 8 at once, glibc sets up what it keeps for the
    // next threads (its cache of freed stacks, one malloc arena per thread), so that
    // the rounds measured below start from the same state they end in.
    std::vector<Connection> clients;
    clients.push_back(connect_and_echo(context, "warm-up client 1 of 8", client_message(1)));
    if (!poll_until(Deadline::after(Millis(300)),
                    [&] { return live_threads(context, server).size() > idle.size(); }))
        throw CheckSkipped(fmt::format(
            "not applicable: while it served a client, the listening process (pid {}) ran {}, "
            "as when idle: it starts no thread per client",
            server, threads_text(idle.size())));
    for (int number = 2; number <= kAtOnce; ++number)
        clients.push_back(connect_and_echo(
            context, fmt::format("warm-up client {} of {} (kept open together)", number, kAtOnce),
            client_message(number)));
    std::vector<pid_t> serving;
    for (pid_t tid : live_threads(context, server))
        if (std::find(idle.begin(), idle.end(), tid) == idle.end()) serving.push_back(tid);
    auto shape = measured_stack(server, serving);
    const std::uint64_t stack = shape ? shape->size() : default_stack_size(server);
    leave(clients, "warm-up");
    await_idle_threads(context, server, idle,
                       fmt::format("{} clients connected together, were echoed and left", kAtOnce));

    auto vm_before = virtual_size(server);
    const int stacks_before = shape ? count_stacks(server, *shape) : 0;
    for (int round = 1; round <= kRounds; ++round) {
        for (int number = 1; number <= kAtOnce; ++number)
            clients.push_back(connect_and_echo(
                context,
                fmt::format("client {} of {} in round {} of {}", number, kAtOnce, round, kRounds),
                client_message(number)));
        leave(clients, fmt::format("round {}", round));
        await_idle_threads(context, server, idle,
                           fmt::format("in round {} of {}, {} clients connected together, were "
                                       "echoed and left",
                                       round, kRounds, kAtOnce));
    }
    auto vm_after = virtual_size(server);
    const int stacks_after = shape ? count_stacks(server, *shape) : 0;
    if (!vm_before || !vm_after)
        throw CheckSkipped(fmt::format("labcheck cannot read VmSize in /proc/{}/status", server));

    // A joinable thread that returns without being joined loses its task (so
    // /proc/PID/task is back to its idle count) but keeps its stack mapped until some
    // thread calls pthread_join() on it: 48 such clients leave 48 more stacks, and
    // VmSize grows by 48 stacks. A correct server's count moves too, but only by a
    // bounded amount: glibc keeps up to 40 MiB of freed stacks cached for the next
    // threads, and frees or reuses a stack only once the kernel is done with its
    // thread, so a look may catch up to one round's stacks (8) on their way out. The
    // line is drawn at half the clients' stacks, far from both.
    // The stacks are counted in /proc/PID/maps, by the shape the live threads' stacks
    // showed, rather than read off VmSize alone: malloc gives each thread that
    // allocates an arena of 64 MiB of address space, and how many a correct server
    // ends up with depends on how its threads' lives happen to overlap, so its VmSize
    // may jump by 64 MiB in any round. Only when no stack could be measured (no right
    // to read the threads' stack pointers) is VmSize the measure, against the default
    // stack size.
    const int clients_measured = kRounds * kAtOnce;
    const int half = clients_measured / 2;
    const std::uint64_t growth = *vm_after > *vm_before ? *vm_after - *vm_before : 0;
    const int more_stacks = stacks_after - stacks_before;
    const bool leaked = shape ? more_stacks >= half : growth >= std::uint64_t(half) * stack;
    const std::string vm_note =
        fmt::format("its virtual memory (VmSize in /proc/{}/status) grew by {}, from {} to {}",
                    server, size_text(growth), size_text(*vm_before), size_text(*vm_after));
    if (!leaked)
        return shape ? fmt::format(
                           "{} clients came and went, {} at a time; every thread ended and gave "
                           "its stack back ({} thread stacks of {} mapped before them, {} after)",
                           clients_measured, kAtOnce, stacks_before, size_text(stack), stacks_after)
                     : fmt::format(
                           "{} clients came and went, {} at a time; every thread ended, and {}",
                           clients_measured, kAtOnce, vm_note);

    const std::string join_or_detach = fmt::format(
        "A thread that has returned keeps its stack until another thread calls pthread_join() "
        "on it, unless it was created detached (pthread_attr_setdetachstate(), pthread_detach(), "
        "std::thread::detach()). Nobody joins these threads, so each client leaks a stack: "
        "pmap {} lists them.",
        server);
    if (!shape)
        throw CheckFailure(fmt::format(
            "{} clients came and went, {} at a time. After each round the server (pid {}) was "
            "back to {}, as when idle, yet {}: about {} thread stacks of {} (the "
            "default, ulimit -s). One stack per client stayed behind.\nExpected: less than {} of "
            "growth (half the clients' stacks; glibc keeps a few freed stacks for reuse, that is "
            "not a leak).\n{}",
            clients_measured, kAtOnce, server, threads_text(idle.size()), vm_note,
            growth / std::max<std::uint64_t>(stack, 1), size_text(stack),
            size_text(std::uint64_t(half) * stack), join_or_detach));
    throw CheckFailure(fmt::format(
        "{} clients came and went, {} at a time. After each round the server (pid {}) was back to "
        "{}, as when idle, yet their stacks stayed: /proc/{}/maps holds {} more thread "
        "stacks than before these clients ({} then, {} now; each a mapping of {} with a {} guard "
        "page below it, the shape the live threads' stacks had), and {}. One stack per client "
        "stayed behind.\nExpected: fewer than {} more stacks (half the clients; glibc keeps a few "
        "freed stacks for the next threads, that is not a leak).\n{}",
        clients_measured, kAtOnce, server, threads_text(idle.size()), server, more_stacks,
        stacks_before, stacks_after, size_text(shape->usable), size_text(shape->guard), vm_note,
        half, join_or_detach));
}

// ---------------------------------------------------------------- broken-pipe

// Keeps every process of the server stopped (SIGSTOP stops all of a process's threads)
// for as long as it lives, and continues them after.
class StoppedServer {
  public:
    explicit StoppedServer(const CheckContext& context) {
        for (pid_t pid : context.view.tree()) {
            if (send_signal(pid, SIGSTOP) != 0) {
                resume();
                throw CheckSkipped(
                    fmt::format("labcheck may not stop pid {} (it belongs to another user)", pid));
            }
            stopped_.push_back(pid);
        }
        poll_patiently(Deadline::after(kSettleBudget), [&] {
            for (pid_t pid : stopped_)
                for (pid_t tid : procfs::thread_ids(pid)) {
                    auto info = procfs::read_process(tid, tasks_of(pid));
                    if (info && info->state != 'T' && info->state != 't' && !info->is_zombie())
                        return false;
                }
            return true;
        });
    }
    ~StoppedServer() { resume(); }
    StoppedServer(const StoppedServer&) = delete;
    StoppedServer& operator=(const StoppedServer&) = delete;

    void resume() {
        for (pid_t pid : stopped_) send_signal(pid, SIGCONT);
        stopped_.clear();
    }

  private:
    std::vector<pid_t> stopped_;
};

// Every socket the server's processes hold.
std::vector<ino_t> held_sockets(const Snapshot& snapshot) {
    std::vector<ino_t> inodes;
    for (const auto& [pid, held] : snapshot.sockets)
        inodes.insert(inodes.end(), held.begin(), held.end());
    std::sort(inodes.begin(), inodes.end());
    inodes.erase(std::unique(inodes.begin(), inodes.end()), inodes.end());
    return inodes;
}

std::string broken_pipe(CheckContext& context) {
    constexpr std::size_t kPayload = 32 * 1024;
    pid_t listener = require_listener(context);
    const auto idle_sockets = held_sockets(context.view.snapshot());
    {
        // The moment a client can vanish: it has sent its data and its FIN, and goes
        // (closing with unread data, or crashing) before the echo. With the server
        // stopped, the kernel still completes the connection and keeps what the client
        // sends, so the server's side is in CLOSE-WAIT, holding the data, when the RST
        // arrives. A write() on it after that fails with EPIPE, and raises SIGPIPE.
        StoppedServer stopped(context);
        auto deadline = Deadline::after(kReplyBudget);
        auto client = Connection::open(context.host, context.port, deadline);
        client.send_all(std::string(kPayload, 'p'), deadline);
        client.shutdown_write();
        bool fin_arrived = poll_patiently(Deadline::after(kSettleBudget), [&] {
            auto side = context.view.snapshot().server_side_of(client.local_port());
            return side && side->state == procfs::TcpState::close_wait;
        });
        if (!fin_arrived)
            throw CheckSkipped(
                "the client's data and FIN did not reach the stopped server's side of the "
                "connection");
        client.abort();
    }
    // The server now accepts that connection, reads the data and writes its echo,
    // into a reset connection. Wait until it has taken the connection and closed it
    // (or died), so that the next client cannot slip in first.
    poll_patiently(Deadline::after(kSettleBudget), [&] {
        auto process = procfs::read_process(listener);
        if (!process || process->is_zombie()) return true;
        auto snapshot = context.view.snapshot();
        for (const auto& socket : snapshot.tcp)
            if (socket.state == procfs::TcpState::listen && socket.rx_queue > 0) return false;
        auto held = held_sockets(snapshot);
        return std::includes(idle_sockets.begin(), idle_sockets.end(), held.begin(), held.end());
    });
    std::string what_happened = fmt::format(
        "a client sent {} KiB and its FIN, then vanished (closed with RST) before reading any "
        "echo, as a client that crashes does. labcheck kept the server stopped (SIGSTOP) until "
        "then, so its first write() to that client came after the reset.",
        kPayload / 1024);
    try {
        converse(context, "a new client after that", client_message(2));
    } catch (const CheckFailure& failure) {
        const std::string fate = fate_of(context, listener);
        const bool sigpipe = fate.find("SIGPIPE") != std::string::npos;
        throw CheckFailure(fmt::format(
            "{} Then the listening process (pid {}) {}.\n{}\n{}", what_happened, listener, fate,
            failure.what(),
            sigpipe ? "A write() to a connection whose client has gone fails with EPIPE, and also "
                      "raises SIGPIPE, whose default action ends the whole process: with threads, "
                      "every client at once. Ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) before the "
                      "first thread starts, or write with send(fd, data, size, MSG_NOSIGNAL); "
                      "then treat EPIPE as the end of that one client, in its own thread."
                    : "That client's write() failed with EPIPE: the end of that one client, never "
                      "of the server. Let its thread close the connection and return (exit() "
                      "would end the whole process)."));
    }
    return "a client that vanished before its echo did not take the server down";
}

}  // namespace

std::vector<CheckDefinition> thread_checks() {
    return {
        {"thread-leak", "gives back each client's thread and its stack", false, true, thread_leak},
        {"broken-pipe", "survives a write to a client that has gone (SIGPIPE)", false, true,
         broken_pipe},
    };
}

}  // namespace labcheck
