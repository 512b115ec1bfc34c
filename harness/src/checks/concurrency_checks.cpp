// Checks on serving many clients: at once, each by its own process, and with
// each process holding only the descriptors it needs.

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "byte_diff.hpp"
#include "check_failure.hpp"
#include "checks/probes.hpp"

namespace labcheck {
namespace {

// What the listening process is doing while clients go unserved, when that
// explains it: blocked in wait4/waitid, as a SIGCHLD handler that waits without
// WNOHANG is, while another child still runs.
std::string stuck_in_wait(const CheckContext& context) {
    auto listener = context.view.snapshot().main_listener();
    if (!listener) return "";
    auto syscall = procfs::read_syscall(*listener);
    if (!syscall || syscall->running || !procfs::is_wait_syscall(syscall->number)) return "";
    return fmt::format(
        "\nThe listening process (pid {}) is blocked in waitpid()/wait() while client A's child "
        "still runs, so it cannot accept(). A SIGCHLD handler must not wait for children that "
        "are still running: call waitpid(-1, &status, WNOHANG), which returns 0 instead of "
        "blocking.",
        *listener);
}

std::string concurrent(CheckContext& context) {
    // Client A stays connected and idle for the whole check: its child is alive
    // while B's exits and while the 32 arrive.
    auto idle = connect_and_echo(context, "client A", client_message(0));
    try {
        auto second = connect_and_echo(context, "client B", client_message(1));
    } catch (const CheckFailure& failure) {
        throw CheckFailure(fmt::format(
            "client A connected, was echoed once and then stayed connected without sending.\n"
            "Meanwhile {}\nThe server is still busy with client A: it serves one client at a time.",
            failure.what()));
    }
    let_children_finish(context);  // B's child exits: its SIGCHLD reaches the parent

    constexpr int kClients = 32;
    constexpr Millis kAllServedWithin{15000};
    auto deadline = Deadline::after(kAllServedWithin);
    std::vector<Connection> clients;
    for (int i = 1; i <= kClients; ++i) {
        try {
            clients.push_back(Connection::open(context.host, context.port, deadline));
        } catch (const CheckFailure& failure) {
            throw CheckFailure(fmt::format("client {} of {} opened at once: {}{}", i, kClients,
                                           failure.what(), stuck_in_wait(context)));
        }
    }
    for (int i = 0; i < kClients; ++i) clients[i].send_all(client_message(i), deadline);
    for (int i = 0; i < kClients; ++i) {
        std::string expected = context.expected(client_message(i));
        Received reply = clients[i].receive(expected.size(), deadline);
        if (reply.data != expected)
            throw CheckFailure(fmt::format(
                "client B came and went while client A stayed connected; then {} clients "
                "connected at once and each sent a line; client {} received {} instead of {} — "
                "{}{}",
                kClients, i + 1, quote_bytes(reply.data), quote_bytes(expected),
                reply.describe_end(kAllServedWithin), stuck_in_wait(context)));
    }
    idle.abort();
    return fmt::format("an idle client did not block another; {} clients at once were all served",
                       kClients);
}

// Fails at once when `client` is served by the listening process itself: then
// a second client would only wait, and the student should read why.
void expect_handed_off(const CheckContext& context, const Connection& client, int number) {
    Snapshot snapshot;
    Serving serving;
    // Polled briefly: a double-forking server hands the connection over in two steps.
    poll_until(Deadline::after(Millis(300)), [&] {
        snapshot = context.view.snapshot();
        serving = find_serving(snapshot, client);
        return serving.inode && !serving.processes.empty();
    });
    if (!serving.inode)
        throw CheckFailure(
            fmt::format("client {}'s connection does not show up in /proc/net/tcp", number));
    if (serving.processes.empty())
        throw CheckFailure(fmt::format(
            "client {} (port {}) is served by the listening process itself ({}): no process "
            "was made for it, so the next client waits.\n"
            "Expected: fork() after accept(), and the child serves the client while the parent "
            "goes back to accept().",
            number, client.local_port(), describe_processes(snapshot, snapshot.listeners())));
}

std::string process_per_client(CheckContext& context) {
    std::vector<Connection> clients;
    std::map<pid_t, int> served_by;
    for (int number = 1; number <= 3; ++number) {
        clients.push_back(
            connect_and_echo(context, fmt::format("client {} of 3 (kept open together)", number),
                             client_message(number)));
        expect_handed_off(context, clients.back(), number);
        auto snapshot = context.view.snapshot();
        for (pid_t pid : find_serving(snapshot, clients.back()).processes) {
            if (auto other = served_by.find(pid); other != served_by.end())
                throw CheckFailure(fmt::format(
                    "clients {} and {} are both served by {}: each live connection should have "
                    "a process of its own",
                    other->second, number, describe_process(snapshot, pid)));
            served_by[pid] = number;
        }
    }
    return "3 live connections, 3 serving processes";
}

// What is wrong with the descriptors now; empty when all is well.
std::string descriptor_problems(const CheckContext& context, const std::vector<Connection>& clients,
                                bool& anyone_handed_off) {
    auto snapshot = context.view.snapshot();
    auto listener = snapshot.main_listener();
    if (!listener)
        return fmt::format("no process holds the listening socket on port {} any more",
                           context.port);
    std::vector<ino_t> listening;
    for (const auto& socket : snapshot.tcp)
        if (socket.state == procfs::TcpState::listen) listening.push_back(socket.inode);

    std::string problems;
    anyone_handed_off = false;
    for (std::size_t i = 0; i < clients.size(); ++i) {
        auto serving = find_serving(snapshot, clients[i]);
        if (serving.processes.empty()) continue;  // served in the listener: nothing handed off
        anyone_handed_off = true;
        if (serving.listener_holds)
            problems += fmt::format(
                "- the listening process ({}) still holds client {}'s connection after handing it "
                "to {}: "
                "the parent must close(connfd) after fork(), or the client never sees EOF\n",
                describe_process(snapshot, *listener), i + 1,
                describe_process(snapshot, serving.processes.front()));
        for (pid_t pid : serving.processes) {
            if (context.in_baseline(pid)) continue;  // a pre-forked worker accepts by design
            const auto& held = snapshot.sockets[pid];
            bool holds_listener = std::any_of(listening.begin(), listening.end(), [&](ino_t inode) {
                return std::find(held.begin(), held.end(), inode) != held.end();
            });
            if (holds_listener)
                problems += fmt::format(
                    "- {}, which serves client {}, still holds the listening socket: the child "
                    "must close(listenfd) right after fork()\n",
                    describe_process(snapshot, pid), i + 1);
        }
    }
    return problems;
}

std::string fd_hygiene(CheckContext& context) {
    std::vector<Connection> clients;
    clients.push_back(
        connect_and_echo(context, "client 1 of 3 (kept open together)", client_message(1)));
    if (find_serving(context.view.snapshot(), clients.back()).processes.empty())
        throw CheckSkipped(
            "not applicable: the connection is served by the listening process itself, "
            "so no descriptor is handed to another process");
    for (int number = 2; number <= 3; ++number)
        clients.push_back(
            connect_and_echo(context, fmt::format("client {} of 3 (kept open together)", number),
                             client_message(number)));
    bool handed_off = false;
    std::string problems;
    poll_patiently(Deadline::after(kSettleBudget), [&] {
        problems = descriptor_problems(context, clients, handed_off);
        return problems.empty();
    });
    if (!handed_off && problems.empty())
        throw CheckSkipped(
            "not applicable: every connection is served by the listening process itself, "
            "so no descriptor is handed to another process");
    if (!problems.empty())
        throw CheckFailure(fmt::format("with 3 clients connected, {} ms after their echoes:\n{}",
                                       kSettleBudget.count(),
                                       problems.substr(0, problems.size() - 1)));
    return "the parent holds only the listening socket, each child only its connection";
}

}  // namespace

std::vector<CheckDefinition> concurrency_checks() {
    return {
        {"concurrent", "serves clients at the same time", false, false, concurrent},
        {"process-per-client", "serves each connection in its own process", false, true,
         process_per_client},
        {"fd-hygiene", "parent and children close the descriptors they do not use", false, true,
         fd_hygiene},
    };
}

}  // namespace labcheck
