// Checks on a server that lives in the real world: clients that vanish, restarts
// on a port full of TIME-WAIT, SIGTERM, sockets left half-closed, and IPv6.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include "byte_diff.hpp"
#include "check_failure.hpp"
#include "check_observer.hpp"
#include "checks/flow_probes.hpp"
#include "checks/probes.hpp"
#include "os/unique_fd.hpp"
#include "procfs/tcp_table.hpp"
#include "server_process.hpp"

namespace labcheck {
namespace {

using procfs::TcpState;

std::string fate_of(const CheckContext& context, pid_t pid) {
    if (context.process && *context.process) {
        if (auto status = (*context.process)->wait_exit(pid, Deadline::after(Millis(200))))
            return describe_wait_status(*status);
    }
    auto process = procfs::read_process(pid);
    if (!process || process->is_zombie()) return "has exited";
    return "is still running";
}

std::string client_reset(CheckContext& context) {
    pid_t listener = require_listener(context);
    // A small receive window on our side: the server's replies back up at once.
    auto client = Connection::open(context.host, context.port, Deadline::after(kReplyBudget),
                                   /*receive_buffer=*/4096);

    // Send without reading until both directions back up: the server's replies
    // fill its send queue (we do not read), and our data waits unacknowledged
    // (it has stopped reading). The server is then blocked in write() with more
    // of our data still to echo, so the RST reaches it mid-stream, every time.
    // "It has stopped reading" is our own socket refusing more, not a look at the
    // queues alone: a server that reads on regardless can still show a few bytes in
    // flight at the moment we look.
    const std::string block(64 * 1024, 'r');
    auto both_backed_up = [&] {
        const Flow flow = read_flow(context, client.local_port());
        return flow.server_tx > 0 && flow.client_tx > 0 && flow.client_rx > 0;
    };
    // A server that echoes as it reads backs up once the kernel's buffers are full; one
    // that has taken in more than all of them can hold keeps what it reads in its own
    // memory (or drops it). Stop there rather than flood the loopback for the budget.
    constexpr Millis kFillBudget{8000};
    const std::optional<std::size_t> all_buffers = procfs::tcp_buffer_ceiling();
    std::size_t sent = 0;
    bool stopped_reading = poll_until(
        Deadline::after(kFillBudget),
        [&] {
            // As much as the socket takes now (the kernel's buffers grow as we go).
            bool refused = false;
            for (int chunk = 0; chunk < 64 && !refused; ++chunk) {
                std::size_t taken = client.send_some(block);
                refused = taken == 0;
                sent += taken;
            }
            if (refused && both_backed_up()) return true;
            return all_buffers && sent > *all_buffers;
        },
        Millis(5));
    if (!stopped_reading || !both_backed_up()) {
        // The server reads on. If replies come once we stop sending, it is keeping what
        // it cannot send (flood-no-read judges that), and the RST still meets a write.
        Flow flow;
        bool replies_waiting = poll_patiently(Deadline::after(kSettleBudget), [&] {
            flow = read_flow(context, client.local_port());
            return flow.server_tx > 0 && flow.client_rx > 0;
        });
        if (!replies_waiting)
            throw CheckFailure(fmt::format(
                "sent {:.1f} MiB without reading the echo, and {} ms after the last of it no "
                "reply had backed up towards the client (Send-Q {} on the server's side, Recv-Q "
                "{} on the client's): the server does not send back what it reads as it reads it "
                "(see the echo check)",
                static_cast<double>(sent) / (1024 * 1024), kSettleBudget.count(), flow.server_tx,
                flow.client_rx));
    }
    client.abort();
    let_children_finish(context);

    try {
        converse(context, "a new client after the reset", client_message(2));
    } catch (const CheckFailure& failure) {
        throw CheckFailure(fmt::format(
            "a client sent data without reading the echo, then aborted its connection with RST. "
            "The listening process (pid {}) {} afterwards.\n{}\nWriting to a reset connection "
            "raises "
            "SIGPIPE (which kills the process by default) and then fails with EPIPE: ignore "
            "SIGPIPE, "
            "and treat EPIPE/ECONNRESET as the end of that one client, never of the server.",
            listener, fate_of(context, listener), failure.what()));
    }
    return "a client that reset its connection did not take the server down";
}

std::string restart(CheckContext& context) {
    auto clients = open_clients(context, 1, "open while the server is killed");
    (*context.process)->kill_tree();
    // The server's side closed first, so once our side closes too it sits in TIME-WAIT.
    for (auto& client : clients) {
        client.receive_until_eof(64 * 1024, Deadline::after(kReplyBudget));
        client.close_gracefully();
    }
    bool time_wait = poll_patiently(Deadline::after(kSettleBudget), [&] {
        return context.view.snapshot().count_in_state(TcpState::time_wait) > 0;
    });
    if (!time_wait)
        throw CheckSkipped("the old connections did not reach TIME-WAIT on the server's port");

    try {
        context.relaunch();
    } catch (const CheckFailure& failure) {
        throw CheckFailure(fmt::format(
            "the server was killed with a client connected, leaving its side of the connection in "
            "TIME-WAIT; a new server started on the same port {} could not listen:\n{}\nWithout "
            "SO_REUSEADDR, bind() refuses a port that TIME-WAIT connections still use: set it with "
            "setsockopt() before bind().",
            context.port, failure.what()));
    }
    converse(context, "a client of the restarted server", client_message(3));
    return "a restarted server bound the port at once, despite TIME-WAIT";
}

std::string shutdown(CheckContext& context) {
    auto client = connect_and_echo(context, "a connected client", client_message(1));
    pid_t listener = require_listener(context);
    send_signal(listener, SIGTERM);

    auto& server = **context.process;
    auto status = server.wait_exit(listener, Deadline::after(kSettleBudget));
    if (!status && !poll_until(Deadline::after(Millis(100)), [&] {
            auto process = procfs::read_process(listener);
            return !process || process->is_zombie();
        }))
        throw CheckFailure(fmt::format(
            "sent SIGTERM to the listening process (pid {}) while a client was connected; it was "
            "still running {} ms later.\nCatch SIGTERM, stop accepting, end and reap the children, "
            "and exit with status 0.",
            listener, kSettleBudget.count()));
    if (status && !(WIFEXITED(*status) && WEXITSTATUS(*status) == 0))
        throw CheckFailure(
            fmt::format("sent SIGTERM to the listening process (pid {}); it {}, expected: exit "
                        "status 0 after a "
                        "clean shutdown.{}",
                        listener, describe_wait_status(*status),
                        WIFSIGNALED(*status)
                            ? "\nWithout a handler SIGTERM kills the process: install one with "
                              "sigaction() that lets the accept loop end."
                            : ""));
    std::vector<pid_t> left;
    bool clean = poll_patiently(Deadline::after(kSettleBudget), [&] {
        left = server.tree();
        return left.empty();
    });
    if (!clean) {
        auto snapshot = context.view.snapshot();
        throw CheckFailure(fmt::format(
            "after SIGTERM the listening process exited, but {} process(es) of the server were "
            "still "
            "running {} ms later: {}\nOn SIGTERM the parent should end its children (kill them, "
            "then waitpid() each) before it exits.",
            left.size(), kSettleBudget.count(), describe_processes(snapshot, left)));
    }
    return "SIGTERM: the server exited with status 0 and left no process behind";
}

std::string close_wait(CheckContext& context) {
    // One after another, so a server that serves one client at a time is judged too.
    for (int number = 1; number <= 3; ++number) {
        connect_and_echo(context, fmt::format("client {} of 3", number), client_message(number))
            .close_gracefully();
        let_children_finish(context);
    }
    Snapshot snapshot;
    bool clean = poll_patiently(Deadline::after(kSettleBudget), [&] {
        snapshot = context.view.snapshot();
        return snapshot.count_in_state(TcpState::close_wait) == 0;
    });
    if (clean) return "no server socket left in CLOSE-WAIT";
    std::vector<pid_t> holders;
    for (const auto& socket : snapshot.tcp)
        if (socket.state == TcpState::close_wait)
            for (pid_t pid : snapshot.holders(socket.inode)) holders.push_back(pid);
    throw CheckFailure(fmt::format(
        "3 clients closed their connections; {} ms later {} server socket(s) on port {} are still "
        "in "
        "CLOSE-WAIT, held by {}.\nCLOSE-WAIT means: the client has closed, and the server has not. "
        "When read() returns 0, close() the connection (in every process that holds a copy of it).",
        kSettleBudget.count(), snapshot.count_in_state(TcpState::close_wait), context.port,
        holders.empty() ? std::string("no process we can see")
                        : describe_processes(snapshot, holders)));
}

bool has_ipv6_loopback() {
    UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return false;
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

std::string ipv6(CheckContext& context) {
    if (!has_ipv6_loopback()) throw CheckSkipped("this machine has no IPv6 loopback (::1)");
    CheckContext over_ipv6 = context;
    over_ipv6.host = "::1";
    try {
        converse(over_ipv6, "a client on ::1", client_message(6));
    } catch (const CheckFailure& failure) {
        throw CheckFailure(fmt::format(
            "{}\nThe server does not accept IPv6 clients. Listen on an AF_INET6 socket bound to "
            "in6addr_any with IPV6_V6ONLY off (it then takes IPv4 clients too), or use "
            "getaddrinfo() "
            "with AI_PASSIVE and AF_UNSPEC.",
            failure.what()));
    }
    return "served a client over IPv6 (::1)";
}

}  // namespace

std::vector<CheckDefinition> robustness_checks() {
    return {
        {"client-reset", "survives a client that aborts with RST", false, true, client_reset},
        {"restart", "can be restarted at once on the same port", true, false, restart},
        {"shutdown", "exits cleanly on SIGTERM", true, true, shutdown},
        {"close-wait", "leaves no socket in CLOSE-WAIT", false, true, close_wait},
        {"ipv6", "serves clients over IPv6", false, false, ipv6},
    };
}

}  // namespace labcheck
