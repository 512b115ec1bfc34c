#include "checks/flow_probes.hpp"

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "procfs/process_table.hpp"
#include "procfs/sock_diag.hpp"

namespace labcheck {

Flow read_flow(const CheckContext& context, std::uint16_t client_port) {
    auto client = procfs::tcp_connection(context.host, client_port, context.port);
    auto server = procfs::tcp_connection(context.host, context.port, client_port);
    Flow flow;
    flow.found = client && server;
    if (client) flow.client_rx = client->rx_queue, flow.client_tx = client->tx_queue;
    if (server) flow.server_rx = server->rx_queue, flow.server_tx = server->tx_queue;
    return flow;
}

std::size_t held_by_server(std::size_t sent, const Flow& flow) {
    // Every byte the client sent is in one of the four queues, or in the server.
    unsigned long queued = flow.client_tx + flow.server_rx + flow.server_tx + flow.client_rx;
    return sent > queued ? sent - queued : 0;
}

bool server_asleep(const CheckContext& context) {
    for (pid_t pid : context.view.tree()) {
        const std::filesystem::path tasks = fmt::format("/proc/{}/task", pid);
        for (pid_t thread : procfs::thread_ids(pid)) {
            auto info = procfs::read_process(thread, tasks);
            if (info && info->state == 'R') return false;
        }
    }
    return true;
}

unsigned long long server_switches(const CheckContext& context) {
    unsigned long long total = 0;
    for (pid_t pid : context.view.tree()) {
        const std::filesystem::path tasks = fmt::format("/proc/{}/task", pid);
        for (pid_t thread : procfs::thread_ids(pid))  // 0 for a thread that has just exited
            total +=
                procfs::read_status_number(thread, "voluntary_ctxt_switches", tasks).value_or(0);
    }
    return total;
}

std::size_t server_anon_memory(const CheckContext& context) {
    std::size_t total = 0;
    for (pid_t pid : context.view.tree())  // "RssAnon:\t  1234 kB"
        total += procfs::read_status_number(pid, "RssAnon").value_or(0) * 1024;
    return total;
}

std::string blocked_call(pid_t pid) {
    auto process = procfs::read_process(pid);
    auto state = procfs::read_syscall(pid);
    if (!process || process->state == 'R' || !state || state->running) return "";
    switch (state->number) {
        case SYS_write:
        case SYS_writev:
        case SYS_sendto:
        case SYS_sendmsg:
            return "write()";
        case SYS_read:
        case SYS_readv:
        case SYS_recvfrom:
        case SYS_recvmsg:
            return "read()";
        default:
            return "";
    }
}

}  // namespace labcheck
