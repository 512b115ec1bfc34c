// Lab 06: checks that the server makes each TCP state happen on request. The client
// sends a command as its first line (close, leak, reset, stall MS); each check then
// watches, in /proc/net/tcp as `ss -tan` does, the state the command should cause, and
// fails with what it sent, what came back, what ss would show and what was expected.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "byte_diff.hpp"
#include "check_failure.hpp"
#include "check_observer.hpp"
#include "checks/probes.hpp"
#include "os/errors.hpp"
#include "os/unique_fd.hpp"
#include "procfs/sock_diag.hpp"
#include "socket_address.hpp"

namespace labcheck {
namespace {

using procfs::TcpSocket;
using procfs::TcpState;

// How long a leaked connection must stay in CLOSE-WAIT to count as kept: far longer
// than a server takes to close() once read() returned 0, far shorter than the 30 s the
// lab's server keeps it.
constexpr Millis kLeakHold{500};
// The stall the backlog check asks for: longer than the 1 s after which a client sends
// a dropped SYN again, so that the check sees that retry while the queue is still full.
constexpr int kStallMs = 1500;
// A queue that takes this many clients and still has room is not a small one.
constexpr std::size_t kMaxClients = 40;

// ------------------------------------------------------------------ what ss would show

// One end of a connection: the socket whose local port is `local` and whose peer port
// is `remote`; nullopt once the kernel keeps nothing of it.
std::optional<TcpSocket> row_of(std::uint16_t local, std::uint16_t remote) {
    for (auto& socket : procfs::tcp_sockets_on_port(local))
        if (socket.remote.port == remote && socket.state != TcpState::listen)
            return std::move(socket);
    return std::nullopt;
}

std::string state_of(const std::optional<TcpSocket>& row) {
    return row ? std::string(procfs::to_string(row->state)) : std::string("gone");
}

std::string endpoint_text(const procfs::Endpoint& endpoint) {
    if (endpoint.address.find(':') != std::string::npos)
        return fmt::format("[{}]:{}", endpoint.address, endpoint.port);
    return fmt::format("{}:{}", endpoint.address, endpoint.port);
}

std::string ss_columns(std::string_view state, std::string_view recv_q, std::string_view send_q,
                       std::string_view local, std::string_view peer) {
    return fmt::format("  {:<10} {:>6} {:>6}  {:<26} {}", state, recv_q, send_q, local, peer);
}

// Both ends of the connection between the server's `server_port` and labcheck's
// `client_port`, as `ss -tan` prints them, each line saying whose end it is.
std::string ss_pair(std::uint16_t server_port, std::uint16_t client_port) {
    std::string text =
        ss_columns("State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port");
    auto line = [&](std::uint16_t local, std::uint16_t remote, std::string_view whose) {
        auto row = row_of(local, remote);
        if (!row)
            return fmt::format("\n  (no line for {}, port {}: the kernel keeps nothing of it)",
                               whose, local);
        return "\n" +
               ss_columns(procfs::to_string(row->state), std::to_string(row->rx_queue),
                          std::to_string(row->tx_queue), endpoint_text(row->local),
                          endpoint_text(row->remote)) +
               fmt::format("   <- {}", whose);
    };
    return text + line(server_port, client_port, "the server's end") +
           line(client_port, server_port, "labcheck's end");
}

// The processes of the server that hold its end of the connection.
struct Holders {
    std::size_t count = 0;
    std::string text;             // "pid 12 (server, state S), pid 13 (server, state S)"
    std::optional<pid_t> parent;  // the listening process, when it is one of them
};

Holders holders_of(const CheckContext& context, std::uint16_t client_port) {
    auto snapshot = context.view.snapshot();
    auto side = snapshot.server_side_of(client_port);
    if (!side || side->inode == 0) return {};
    Holders result;
    auto pids = snapshot.holders(side->inode);
    result.count = pids.size();
    if (!pids.empty()) result.text = describe_processes(snapshot, pids);
    auto listener = snapshot.main_listener();
    if (listener && std::find(pids.begin(), pids.end(), *listener) != pids.end())
        result.parent = listener;
    return result;
}

// Why a close() sent nothing, when that is why: "" unless the listening process holds
// a copy of the connection too.
std::string parent_copy_note(const Holders& holders) {
    if (!holders.parent) return "";
    return fmt::format(
        " The server's end is still held by the listening process (pid {}{}): a close() sends "
        "the FIN, or the RST, only when the last descriptor of the connection closes. Does the "
        "parent close its copy right after fork()?",
        *holders.parent, holders.count > 1 ? fmt::format("; all holders: {}", holders.text) : "");
}

// ------------------------------------------------------------------ commands

// Opens a connection and sends `command` as its first line, in one write, so that it
// reaches the server's first read() whole.
Connection send_command(const CheckContext& context, std::string_view command) {
    auto deadline = Deadline::after(kReplyBudget);
    auto connection = Connection::open(context.host, context.port, deadline);
    connection.send_all(command, deadline);
    return connection;
}

// "received ... — then ...", and a word when it was the command itself, swapcased:
// then the server took the command for ordinary data.
std::string received_text(const CheckContext& context, std::string_view command,
                          const Received& reply) {
    std::string text =
        fmt::format("received {} — {}.", reply.data.empty() ? "nothing" : quote_bytes(reply.data),
                    reply.describe_end(kReplyBudget));
    if (!reply.data.empty() && reply.data.rfind(context.expected(command), 0) == 0)
        text += fmt::format(
            "\nThat is the command swapcased: the server served {} as ordinary data. Does the "
            "child look at what its first read() returned, before it echoes anything (Step 2)?",
            quote_bytes(command));
    return text;
}

// ------------------------------------------------------------------ close: TIME-WAIT

// Linux keeps at most net.ipv4.tcp_max_tw_buckets connections in TIME-WAIT. Past that,
// a closing connection skips TIME-WAIT altogether ("time wait bucket table overflow" in
// the kernel log): then no server can show one, and the check says so instead of failing.
bool time_wait_table_full() {
    std::ifstream sysctl("/proc/sys/net/ipv4/tcp_max_tw_buckets");
    long long limit = 0;
    if (!(sysctl >> limit)) return false;
    auto sockets = procfs::read_tcp_sockets();
    auto in_time_wait = std::count_if(sockets.begin(), sockets.end(), [](const TcpSocket& socket) {
        return socket.state == TcpState::time_wait;
    });
    return in_time_wait + 64 >= limit;  // others close too, while we look
}

std::string time_wait_server(CheckContext& context) {
    const std::string command = "close\n";
    auto client = send_command(context, command);
    const std::uint16_t port = client.local_port();
    Received reply = client.receive_until_eof(4096, Deadline::after(kReplyBudget));

    if (reply.end != Received::End::eof) {
        std::string story = fmt::format(
            "sent {} as the first line, then waited for the server to close first (labcheck's "
            "read() returning 0).\n{}\nss -tan would show:\n{}\n",
            quote_bytes(command), received_text(context, command, reply),
            ss_pair(context.port, port));
        Holders holders = holders_of(context, port);
        if (reply.end == Received::End::reset)
            story +=
                "Expected a FIN, and the server sent RST: an RST ends the connection with no "
                "TIME-WAIT on either side, which is reset's job. On close, a plain close() sends "
                "the FIN.";
        else
            story += fmt::format(
                "Expected: the server closes at once, before labcheck does. The end that sends "
                "the first FIN is the one that ends in TIME-WAIT.{}",
                parent_copy_note(holders));
        throw CheckFailure(story);
    }
    client.close_gracefully();  // labcheck's FIN answers the server's: its end enters TIME-WAIT

    std::optional<TcpSocket> server;
    bool time_wait = poll_patiently(Deadline::after(kSettleBudget), [&] {
        server = row_of(context.port, port);
        return server && server->state == TcpState::time_wait;
    });
    if (!time_wait && !server && time_wait_table_full())
        throw CheckSkipped(
            "this machine's TIME-WAIT table is full (net.ipv4.tcp_max_tw_buckets): the kernel "
            "keeps no new TIME-WAIT, for any server, until older ones expire (60 s)");
    if (!time_wait)
        throw CheckFailure(fmt::format(
            "sent {}; the server closed first (labcheck's read() returned 0), then labcheck "
            "closed too. After {} ms the server's end of that connection is {}, expected "
            "TIME-WAIT.\nss -tan would show:\n{}\nThe end that closes first ends in TIME-WAIT "
            "once the other end's FIN has come and been acknowledged.",
            quote_bytes(command), kSettleBudget.count(), state_of(server),
            ss_pair(context.port, port)));
    return fmt::format("the server closed first, so its end ({} to {}) sits in TIME-WAIT",
                       endpoint_text(server->local), endpoint_text(server->remote));
}

// ------------------------------------------------------------------ leak: CLOSE-WAIT

std::string close_wait_leak(CheckContext& context) {
    const std::string command = "leak\n";
    auto client = send_command(context, command);
    const std::uint16_t port = client.local_port();
    client.shutdown_write();  // labcheck's FIN: the server's read() returns 0

    std::optional<TcpSocket> server;
    auto in_close_wait = [&] {
        server = row_of(context.port, port);
        return server && server->state == TcpState::close_wait;
    };
    auto closed = [&](std::string_view what_happened) {
        Received reply = client.receive(4096, Deadline::after(Millis(0)));
        return CheckFailure(fmt::format(
            "sent {} as the first line, then EOF (shutdown SHUT_WR).\n{}\n{}\nss -tan would "
            "show:\n{}\nExpected: the server's end stays in CLOSE-WAIT (and labcheck's in "
            "FIN-WAIT-2) for as long as the server holds the connection. On leak the server reads "
            "until EOF and then does not close; this one closed the connection at EOF, as for any "
            "client.",
            quote_bytes(command), received_text(context, command, reply), what_happened,
            ss_pair(context.port, port)));
    };
    if (!poll_patiently(Deadline::after(kSettleBudget), in_close_wait))
        throw closed(
            fmt::format("After {} ms the server's end of the connection is {}, not CLOSE-WAIT.",
                        kSettleBudget.count(), state_of(server)));

    auto entered = Clock::now();
    if (poll_until(Deadline::after(kLeakHold), [&] { return !in_close_wait(); })) {
        auto held = std::chrono::duration_cast<Millis>(Clock::now() - entered);
        throw closed(fmt::format(
            "The server's end was in CLOSE-WAIT, but left it within {} ms: it is now {}.",
            std::max<long long>(held.count(), 1), state_of(server)));
    }

    auto ours = row_of(port, context.port);
    if (!ours || ours->state != TcpState::fin_wait2)
        throw CheckFailure(fmt::format(
            "sent {}, then EOF. The server's end stayed in CLOSE-WAIT, but labcheck's end is {}, "
            "expected FIN-WAIT-2 (its FIN acknowledged, waiting for the server's).\nss -tan "
            "would show:\n{}",
            quote_bytes(command), state_of(ours), ss_pair(context.port, port)));
    Holders holders = holders_of(context, port);
    return fmt::format(
        "after EOF the server's end stayed in CLOSE-WAIT{}, and labcheck's in FIN-WAIT-2",
        holders.count ? ", held by " + holders.text : "");
}

// ------------------------------------------------------------------ reset: RST

std::string server_reset(CheckContext& context) {
    const std::string command = "reset\n";
    auto client = send_command(context, command);
    const std::uint16_t port = client.local_port();
    Received reply = client.receive_until_eof(4096, Deadline::after(kReplyBudget));

    if (reply.end != Received::End::reset) {
        std::string story = fmt::format(
            "sent {} as the first line.\n{}\nss -tan would show:\n{}\n", quote_bytes(command),
            received_text(context, command, reply), ss_pair(context.port, port));
        if (reply.end == Received::End::eof)
            story +=
                "Expected labcheck's read() to fail with ECONNRESET; it returned 0 instead: the "
                "server closed with a FIN, the orderly way. For an abortive close, switch "
                "SO_LINGER on with a timeout of 0 (l_onoff 1, l_linger 0) before close(): close() "
                "then sends RST.";
        else
            story +=
                "Expected: the server aborts the connection at once, and labcheck's read() fails "
                "with ECONNRESET." +
                parent_copy_note(holders_of(context, port));
        throw CheckFailure(story);
    }

    // An RST ends both ends at once: neither keeps the connection, in TIME-WAIT or otherwise.
    std::optional<TcpSocket> server, ours;
    bool forgotten = poll_patiently(Deadline::after(kSettleBudget), [&] {
        server = row_of(context.port, port);
        ours = row_of(port, context.port);
        return !server && !ours;
    });
    if (!forgotten)
        throw CheckFailure(fmt::format(
            "sent {}; labcheck's read() failed with ECONNRESET, but after {} ms the kernel still "
            "keeps the connection: the server's end is {}, labcheck's is {}.\nss -tan would "
            "show:\n{}\nExpected: after an RST neither end keeps anything, TIME-WAIT included.",
            quote_bytes(command), kSettleBudget.count(), state_of(server), state_of(ours),
            ss_pair(context.port, port)));
    client.close_gracefully();
    return fmt::format("labcheck's read() failed with ECONNRESET ({}); no TIME-WAIT on either end",
                       reply.error);
}

// ------------------------------------------------------------------ stall: a full backlog

// A client whose connect() goes on in the background: when the accept queue is full,
// the server's kernel drops its SYN, and the client waits in SYN-SENT to send it again.
class PendingClient {
  public:
    PendingClient(const std::string& host, std::uint16_t port) {
        sockaddr_storage address{};
        const socklen_t length = make_address(host, port, address);
        if (length == 0) throw CheckFailure(fmt::format("{} is not a numeric IP address", host));
        fd_.reset(::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd_) throw_errno("socket");
        if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 &&
            errno != EINPROGRESS)
            throw CheckFailure(fmt::format("could not connect to {} port {}: {}", host, port,
                                           std::strerror(errno)));
        port_ = local_port_of(fd_.get());
    }
    PendingClient(PendingClient&&) = default;
    PendingClient& operator=(PendingClient&&) = default;
    ~PendingClient() {
        if (fd_ && told_)
            if (auto* watching = check_observer()) watching->closing(port_, false);
    }

    // The handshake is done: connect() has succeeded.
    bool established() {
        bool done = info().tcpi_state == TCP_ESTABLISHED;
        if (done && !told_) {
            told_ = true;
            if (auto* watching = check_observer()) watching->opened(port_);
        }
        return done;
    }
    // Its SYN went unanswered and was sent again: the server's kernel dropped it.
    bool syn_resent() const { return info().tcpi_total_retrans > 0; }

  private:
    tcp_info info() const {
        tcp_info result{};
        socklen_t length = sizeof result;
        if (::getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &result, &length) != 0)
            throw_errno("getsockopt(TCP_INFO)");
        return result;
    }

    UniqueFd fd_;
    std::uint16_t port_ = 0;
    bool told_ = false;  // the trace's observer has heard of it
};

// The accept queue's length: a LISTEN row's Recv-Q counts the connections whose
// handshake is done and that wait for accept(). The longest, should there be two.
// Only the listening rows are read, so the look lands inside the stall.
unsigned long accept_queue(std::uint16_t port) {
    unsigned long longest = 0;
    for (const auto& socket : procfs::read_listening_sockets())
        if (socket.local.port == port) longest = std::max(longest, socket.rx_queue);
    return longest;
}

std::string backlog_full(CheckContext& context) {
    const std::string command = fmt::format("stall {}\n", kStallMs);
    auto commander = send_command(context, command);
    // The child answers once it has passed the stall on to the parent. Only after that
    // answer can a dropped SYN be the stall's doing: before it, a parent busy forking for
    // a burst of clients lets them fill the queue too.
    Received answer;
    auto deadline = Deadline::after(kReplyBudget);
    while (answer.data.find('\n') == std::string::npos && answer.data.size() < 4096) {
        Received more = commander.receive(1, deadline);
        answer.data += more.data;
        answer.end = more.end;
        if (more.end != Received::End::complete) break;
    }
    const auto stall_ends = Deadline::after(Millis(kStallMs));
    if (answer.data.empty() || answer.data.rfind(context.expected(command), 0) == 0)
        throw CheckFailure(fmt::format(
            "sent {} as the first line.\n{}\nExpected: a line in reply, once the child has "
            "passed the stall on to the process that calls accept().",
            quote_bytes(command), received_text(context, command, answer)));

    // Clients one after another, each until its handshake is done or its SYN was dropped.
    // While a client waits, the queue is sampled: a stalled parent accepts nobody, so
    // the queue never shrinks; a parent that goes on accepting, however slowly, makes it.
    std::vector<PendingClient> clients;
    bool dropped = false;
    unsigned long fullest = 0;  // the longest queue seen while the dropped client waited
    while (!dropped && clients.size() < kMaxClients) {
        auto& client = clients.emplace_back(context.host, context.port);
        fullest = 0;
        // A dropped SYN is sent again after 1 s; 3 s leaves room for a loaded machine.
        bool settled = poll_until(Deadline::after(Millis(3000)), [&] {
            if (client.established()) return true;
            fullest = std::max(fullest, accept_queue(context.port));
            return client.syn_resent();
        });
        dropped = client.syn_resent();
        if (!settled && !dropped)
            throw CheckFailure(fmt::format(
                "sent {}, then connected clients one after another; client {} neither connected "
                "nor had its SYN sent again within 3000 ms (ss -tan would show it in SYN-SENT).",
                quote_bytes(command), clients.size()));
    }
    // The stall outlasts the second before a dropped SYN is sent again, so the queue is
    // still as full as it was. (Should that retry have got in, because the parent took
    // one connection before it read the pipe, its handshake may need a moment to reach
    // the queue.)
    unsigned long queued = 0;
    poll_until(Deadline::after(Millis(200)),
               [&] { return (queued = accept_queue(context.port)) >= fullest; });
    const std::string tried = fmt::format(
        "sent {} (stop calling accept() for {} ms), then connected clients one after another",
        quote_bytes(command), kStallMs);
    const std::string expected = fmt::format(
        "Expected: for {} ms nobody accepts; the accept queue fills up to the backlog plus one, "
        "and the next client's SYN is dropped: that client waits in SYN-SENT.",
        kStallMs);
    const std::string ask =
        "Only the parent calls accept(): does the child pass the stall on to it, and does the "
        "parent leave the listener out of ppoll() until the stall is over?";
    if (!dropped && queued == 0)
        throw CheckFailure(fmt::format(
            "{}: all {} were accepted at once. The accept queue stayed empty (ss -ltn would show "
            "Recv-Q 0 on the LISTEN line): the server went on accepting.\n{} {}",
            tried, clients.size(), expected, ask));
    if (dropped && (queued == 0 || queued < fullest))
        throw CheckFailure(fmt::format(
            "{}: client {}'s SYN was dropped, as a burst of clients came faster than the server "
            "accepted them; but in the second before it was sent again, the accept queue went "
            "down from {} to {} (ss -ltn: Recv-Q on the LISTEN line): the server went on "
            "accepting.\n{} {}",
            tried, clients.size(), fullest, queued, expected, ask));
    if (!dropped)
        throw CheckFailure(fmt::format(
            "{}: all {} got through, and {} of them wait in the accept queue (ss -ltn would show "
            "Recv-Q {} on the LISTEN line); the queue was never full, no SYN was dropped.\n{} Is "
            "listen()'s backlog small (argv[2], 5 by default), not SOMAXCONN?",
            tried, clients.size(), queued, queued, expected));

    // After the stall the server accepts again: the queue empties, a new client is served.
    unsigned long waiting = queued;
    if (!poll_patiently(Deadline(stall_ends.at() + kSettleBudget),
                        [&] { return (waiting = accept_queue(context.port)) == 0; }))
        throw CheckFailure(fmt::format(
            "{}: the queue filled at {} and client {}'s SYN was dropped, as it should. But {} ms "
            "after the stall should have ended, {} connection(s) still wait in the accept queue "
            "(ss -ltn: Recv-Q {} on the LISTEN line): the server did not start accepting again.\n"
            "Expected: once the stall is over, the parent puts the listener back into ppoll() "
            "and accepts the waiting clients. Does ppoll() get the time left as its timeout?",
            tried, queued, clients.size(), kSettleBudget.count(), waiting, waiting));
    connect_and_echo(context, "a client after the stall", client_message(6));
    return fmt::format(
        "the accept queue filled at {} (backlog {} plus one), client {}'s SYN was dropped and sent "
        "again; after the stall the queue emptied and a new client was served",
        queued, queued - 1, clients.size());
}

}  // namespace

std::vector<CheckDefinition> tcp_state_checks() {
    return {
        {"time-wait-server", "on close, closes first and keeps TIME-WAIT on its side", false, false,
         time_wait_server},
        {"close-wait-leak", "on leak, keeps the connection in CLOSE-WAIT after EOF", false, false,
         close_wait_leak},
        {"server-reset", "on reset, aborts the connection with RST", false, false, server_reset},
        {"backlog-full", "on stall, stops accepting until the accept queue is full", false, false,
         backlog_full},
    };
}

}  // namespace labcheck
