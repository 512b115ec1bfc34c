#include "checks/probes.hpp"

#include <algorithm>
#include <csignal>

#include <fmt/format.h>

#include "byte_diff.hpp"
#include "check_failure.hpp"

namespace labcheck {

std::string client_message(int index) {
    return fmt::format("Client {} says: Hello, Server! ({}/xyz)\n", index, index * 7);
}

Connection connect_and_echo(const CheckContext& context, const std::string& who,
                            std::string_view message) {
    try {
        return round_trip(context.host, context.port, message, context.expected(message),
                          kReplyBudget);
    } catch (const CheckFailure& failure) {
        throw CheckFailure(fmt::format("{}:\n{}", who, failure.what()));
    }
}

bool departed(pid_t pid) {
    auto process = procfs::read_process(pid);
    if (!process) return true;
    if (!process->is_zombie()) return false;
    auto pending = procfs::read_pending_signals(process->ppid);
    return !pending || (*pending & (1ULL << (SIGCHLD - 1))) == 0;
}

void let_children_finish(const CheckContext& context) {
    poll_until(
        Deadline::after(Millis(300)),
        [&] {
            auto tree = context.view.tree();
            return std::all_of(tree.begin(), tree.end(), [&](pid_t pid) {
                return context.in_baseline(pid) || departed(pid);
            });
        },
        Millis(1));
}

void converse(const CheckContext& context, const std::string& who, std::string_view message) {
    auto deadline = Deadline::after(kReplyBudget);
    try {
        auto connection = Connection::open(context.host, context.port, deadline);
        connection.send_all(message, deadline);
        connection.shutdown_write();
        std::string expected = context.expected(message);
        Received reply = connection.receive_until_eof(expected.size() + 4096, deadline);
        if (reply.data == expected && reply.end == Received::End::eof) {
            connection.close_gracefully();
            let_children_finish(context);
            return;
        }
        throw CheckFailure(fmt::format(
            "sent     {} and then EOF (shutdown)\nexpected {} and then the server closing\n"
            "received {} — {}{}",
            quote_bytes(message), quote_bytes(expected), quote_bytes(reply.data),
            reply.describe_end(kReplyBudget),
            reply.data == expected ? "" : "\n" + describe_difference(expected, reply.data)));
    } catch (const CheckFailure& failure) {
        throw CheckFailure(fmt::format("{}:\n{}", who, failure.what()));
    }
}

std::vector<Connection> open_clients(const CheckContext& context, int count,
                                     std::string_view what) {
    std::vector<Connection> clients;
    for (int i = 1; i <= count; ++i)
        clients.push_back(connect_and_echo(
            context, fmt::format("client {} of {} ({})", i, count, what), client_message(i)));
    return clients;
}

Serving find_serving(const Snapshot& snapshot, const Connection& client) {
    Serving result;
    auto side = snapshot.server_side_of(client.local_port());
    if (!side || side->inode == 0) return result;
    result.inode = side->inode;
    auto listener = snapshot.main_listener();
    for (pid_t pid : snapshot.holders(side->inode)) {
        if (listener && pid == *listener)
            result.listener_holds = true;
        else
            result.processes.push_back(pid);
    }
    return result;
}

std::string describe_process(const Snapshot& snapshot, pid_t pid) {
    const auto* process = snapshot.find(pid);
    if (!process) return fmt::format("pid {}", pid);
    return fmt::format("pid {} ({}, state {}{})", pid, process->comm, process->state,
                       process->is_zombie() ? " <defunct>" : "");
}

std::string describe_processes(const Snapshot& snapshot, const std::vector<pid_t>& pids) {
    std::string text;
    for (std::size_t i = 0; i < pids.size() && i < 6; ++i) {
        if (i) text += ", ";
        text += describe_process(snapshot, pids[i]);
    }
    if (pids.size() > 6) text += fmt::format(" and {} more", pids.size() - 6);
    return text;
}

pid_t require_listener(const CheckContext& context) {
    auto listener = context.view.snapshot().main_listener();
    if (!listener)
        throw CheckFailure(fmt::format(
            "no process of the server holds a listening socket on port {} any more", context.port));
    return *listener;
}

}  // namespace labcheck
