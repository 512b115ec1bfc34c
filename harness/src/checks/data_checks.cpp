// Checks on the bytes: what comes back, when, and how a conversation ends.

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "byte_diff.hpp"
#include "check_failure.hpp"
#include "checks/probes.hpp"

namespace labcheck {
namespace {

std::string listens(CheckContext& context) {
    // The runner has already waited for the LISTEN socket before any check runs;
    // this check reports it, and proves a client can really connect.
    auto connection = Connection::open(context.host, context.port, Deadline::after(kReplyBudget));
    return fmt::format("a client connected to port {}", context.port);
}

std::string echo(CheckContext& context) {
    const std::string message = "Hello, Socket World! 0123 {ok}\n";
    auto connection = Connection::open(context.host, context.port, Deadline::after(kReplyBudget));
    try {
        expect_reply(connection, message, context.expected(message), kReplyBudget);
    } catch (const CheckFailure& failure) {
        throw CheckFailure(fmt::format(
            "{}\n(the client kept the connection open: the reply must come as the bytes arrive, "
            "not when the client closes)",
            failure.what()));
    }
    return fmt::format("{} came back as {}", quote_bytes(message),
                       quote_bytes(context.expected(message)));
}

std::string all_bytes(CheckContext& context) {
    std::string message;
    for (int round = 0; round < 4; ++round)
        for (int value = 0; value < 256; ++value) message.push_back(static_cast<char>(value));
    auto connection = Connection::open(context.host, context.port, Deadline::after(kReplyBudget));
    auto deadline = Deadline::after(kReplyBudget);
    connection.send_all(message, deadline);
    std::string expected = context.expected(message);
    Received reply = connection.receive(expected.size(), deadline);
    if (reply.data != expected)
        throw CheckFailure(
            fmt::format("sent the 256 byte values 0x00..0xff four times over (1024 bytes)\n"
                        "received {} bytes — {}\n{}",
                        reply.data.size(), reply.describe_end(kReplyBudget),
                        describe_difference(expected, reply.data)));
    return "all 256 byte values came back right";
}

std::string large_payload(CheckContext& context) {
    constexpr std::size_t kSize = 1024 * 1024;
    std::mt19937 random(1205);  // fixed seed: the same payload every run
    std::string message(kSize, '\0');
    std::generate(message.begin(), message.end(),
                  [&] { return static_cast<char>(random() & 0xff); });
    std::string expected = context.expected(message);

    constexpr Millis kStall{5000};
    auto connection = Connection::open(context.host, context.port, Deadline::after(kReplyBudget));
    Received reply =
        connection.exchange(message, expected.size(), kStall, Deadline::after(Millis(30000)));
    if (reply.data == expected) return "1 MiB came back byte-exact";
    std::string why;
    if (reply.end == Received::End::timeout)
        why = fmt::format("the transfer stalled: nothing moved for {} ms{}", kStall.count(),
                          reply.error.empty() ? "" : fmt::format(" ({})", reply.error));
    else
        why = reply.describe_end(kStall);
    throw CheckFailure(fmt::format(
        "sent 1 MiB of pseudo-random bytes while reading the reply at the same time\n"
        "received {} of {} bytes — {}{}",
        reply.data.size(), expected.size(), why,
        reply.data.empty() ? std::string() : "\n" + describe_difference(expected, reply.data)));
}

std::string fragmented(CheckContext& context) {
    const std::string message = "one byte at a time: Ok!\n";
    auto connection = Connection::open(context.host, context.port, Deadline::after(kReplyBudget));
    std::string expected = context.expected(message);
    std::string so_far;
    for (std::size_t i = 0; i < message.size(); ++i) {
        // The pause between bytes is the wait for the previous byte's echo.
        auto deadline = Deadline::after(kReplyBudget);
        connection.send_all(std::string_view(message).substr(i, 1), deadline);
        Received reply = connection.receive(1, deadline);
        so_far += reply.data;
        if (reply.data.size() == 1 && reply.data[0] == expected[i]) continue;
        if (reply.data.empty())
            throw CheckFailure(fmt::format(
                "sent {} one byte at a time, waiting for each echo\n"
                "after byte {} of {} ({}), {}; received so far {}\n"
                "(a server that waits for a full buffer, a newline or the end of input "
                "before answering)",
                quote_bytes(message), i + 1, message.size(), quote_bytes(message.substr(i, 1)),
                reply.describe_end(kReplyBudget), quote_bytes(so_far)));
        throw CheckFailure(fmt::format("sent {} one byte at a time\n{}", quote_bytes(message),
                                       describe_difference(expected.substr(0, i + 1), so_far)));
    }
    return fmt::format("{} bytes sent one at a time each came back", message.size());
}

// After the client's EOF the process that served it must finish: exit (a child),
// or go back to sleeping in accept (a process that serves many).
void expect_serving_process_settles(CheckContext& context, pid_t pid) {
    bool long_lived = context.in_baseline(pid);
    auto settled = [&] {
        auto process = procfs::read_process(pid);
        if (!process || process->is_zombie()) return true;
        return long_lived && process->state == 'S';
    };
    if (poll_patiently(Deadline::after(kSettleBudget), settled)) return;
    auto process = procfs::read_process(pid);
    throw CheckFailure(fmt::format(
        "the connection was closed properly, but pid {} that served it is still {} {} ms later: "
        "after read() returns 0 the serving process should leave its loop{}",
        pid, process && process->state == 'R' ? "running (spinning on the CPU)" : "alive",
        kSettleBudget.count(), long_lived ? " and wait for the next client" : " and exit"));
}

std::string eof(CheckContext& context) {
    const std::string message = "last words before EOF\n";
    std::string expected = context.expected(message);
    auto deadline = Deadline::after(kReplyBudget);
    auto connection = Connection::open(context.host, context.port, deadline);
    connection.send_all(message, deadline);
    Received echoed = connection.receive(expected.size(), deadline);

    std::optional<pid_t> server;
    if (auto serving = find_serving(context.view.snapshot(), connection);
        !serving.processes.empty())
        server = serving.processes.front();
    else if (serving.listener_holds)
        server = context.view.snapshot().main_listener();

    connection.shutdown_write();
    // Up to 64 KiB past the echo: enough to see a server that keeps sending.
    Received rest = connection.receive_until_eof(64 * 1024, Deadline::after(kReplyBudget));
    std::string all = echoed.data + rest.data;
    if (all.size() > expected.size() && all.compare(0, expected.size(), expected) == 0)
        throw CheckFailure(fmt::format(
            "sent {}, then EOF (shutdown SHUT_WR)\nthe echo came back, but then the server kept "
            "sending: {}{} more bytes, starting {}\n(a loop that does not stop when read() returns "
            "0 — the article's `while (ch != EOF)` keeps sending its last byte, case-flipped again "
            "on every pass if it is a letter)",
            quote_bytes(message), rest.end == Received::End::cap ? "at least " : "",
            all.size() - expected.size(),
            quote_bytes(std::string_view(all).substr(expected.size()), 16)));
    if (all != expected)
        throw CheckFailure(fmt::format("sent {}, then EOF (shutdown SHUT_WR)\n{}",
                                       quote_bytes(message), describe_difference(expected, all)));
    if (rest.end != Received::End::eof)
        throw CheckFailure(fmt::format(
            "sent {}, then EOF (shutdown SHUT_WR); the echo came back, {}\n"
            "expected the server to close its side once read() returned 0. (In a server that "
            "forks, the client sees the end only when every process holding the connection has "
            "closed it: the parent's copy too.)",
            quote_bytes(message), rest.describe_end(kReplyBudget)));
    if (server) expect_serving_process_settles(context, *server);
    return "the server closed its side after the client's EOF";
}

std::string sequential(CheckContext& context) {
    constexpr int kClients = 20;
    for (int i = 1; i <= kClients; ++i)
        converse(context, fmt::format("client {} of {} (one after another)", i, kClients),
                 client_message(i));
    return fmt::format("{} clients served one after another", kClients);
}

}  // namespace

std::vector<CheckDefinition> data_checks() {
    return {
        {"listens", "accepts connections on its port", false, false, listens},
        {"echo", "echoes a short message while the client stays connected", false, false, echo},
        {"all-bytes", "echoes every byte value 0-255", false, false, all_bytes},
        {"large-payload", "echoes 1 MiB byte-exact", false, false, large_payload},
        {"fragmented", "echoes input that arrives one byte at a time", false, false, fragmented},
        {"eof", "closes after the client's EOF, then stops", false, false, eof},
        {"sequential", "serves 20 clients one after another", false, false, sequential},
    };
}

}  // namespace labcheck
