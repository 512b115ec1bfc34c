#include "checks/flow_probes.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "os/unique_fd.hpp"
#include "procfs/process_table.hpp"
#include "procfs/tcp_table.hpp"

namespace labcheck {
namespace {

struct Queues {
    unsigned long rx = 0;  // received, not yet read by the process
    unsigned long tx = 0;  // written by the process, not yet acknowledged
};

// The queues of the TCP socket at `address`:`local` connected to `address`:`remote` (a
// loopback connection: both ends have the same address), found by the kernel in its hash
// table (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP: one exact lookup). nullopt when there
// is no such socket; throws when sock_diag itself cannot be used.
std::optional<Queues> diag_queues(const std::string& host, std::uint16_t local,
                                  std::uint16_t remote) {
    struct Request {
        nlmsghdr header;
        inet_diag_req_v2 body;
    } request{};
    request.header.nlmsg_len = sizeof request;
    request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.body.sdiag_protocol = IPPROTO_TCP;
    request.body.idiag_states = ~0U;
    request.body.id.idiag_sport = htons(local);
    request.body.id.idiag_dport = htons(remote);
    request.body.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    request.body.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    // A dual-stack server's side of an IPv4 connection is an IPv6 socket, but the kernel
    // keeps it in the table of IPv4 connections: asking as AF_INET finds it.
    if (inet_pton(AF_INET, host.c_str(), request.body.id.idiag_src) == 1) {
        request.body.sdiag_family = AF_INET;
    } else if (inet_pton(AF_INET6, host.c_str(), request.body.id.idiag_src) == 1) {
        request.body.sdiag_family = AF_INET6;
    } else {
        throw std::runtime_error("sock_diag: " + host + " is not a numeric address");
    }
    std::memcpy(request.body.id.idiag_dst, request.body.id.idiag_src,
                sizeof request.body.id.idiag_dst);

    UniqueFd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!netlink) throw std::system_error(errno, std::generic_category(), "socket(NETLINK)");
    timeval patience{1, 0};  // the kernel answers at once; this only bounds a surprise
    setsockopt(netlink.get(), SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(netlink.get(), &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) < 0)
        throw std::system_error(errno, std::generic_category(), "sock_diag request");
    alignas(nlmsghdr) char answer[4096];
    ssize_t got = ::recv(netlink.get(), answer, sizeof answer, 0);
    if (got < 0) throw std::system_error(errno, std::generic_category(), "sock_diag answer");
    const auto* header = reinterpret_cast<const nlmsghdr*>(answer);
    if (!NLMSG_OK(header, static_cast<unsigned>(got))) throw std::runtime_error("sock_diag: short");
    if (header->nlmsg_type == NLMSG_ERROR) {
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
        if (error->error == -ENOENT) return std::nullopt;  // no such connection
        throw std::system_error(-error->error, std::generic_category(), "sock_diag");
    }
    if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY)
        throw std::runtime_error("sock_diag: odd answer");
    const auto* socket = static_cast<const inet_diag_msg*>(NLMSG_DATA(header));
    return Queues{socket->idiag_rqueue, socket->idiag_wqueue};
}

Flow read_flow_from_proc(std::uint16_t server_port, std::uint16_t client_port) {
    Flow flow;
    bool client_side = false, server_side = false;
    for (const auto& socket : procfs::read_tcp_sockets()) {
        if (socket.local.port == client_port && socket.remote.port == server_port) {
            flow.client_tx = socket.tx_queue;
            flow.client_rx = socket.rx_queue;
            client_side = true;
        } else if (socket.local.port == server_port && socket.remote.port == client_port) {
            flow.server_rx = socket.rx_queue;
            flow.server_tx = socket.tx_queue;
            server_side = true;
        }
    }
    flow.found = client_side && server_side;
    return flow;
}

}  // namespace

Flow read_flow(const CheckContext& context, std::uint16_t client_port) {
    static bool diag_works = true;
    if (diag_works) {
        try {
            auto client = diag_queues(context.host, client_port, context.port);
            auto server = diag_queues(context.host, context.port, client_port);
            Flow flow;
            flow.found = client && server;
            if (client) flow.client_rx = client->rx, flow.client_tx = client->tx;
            if (server) flow.server_rx = server->rx, flow.server_tx = server->tx;
            return flow;
        } catch (const std::exception&) {
            diag_works = false;  // a kernel without sock_diag: read the tables instead
        }
    }
    return read_flow_from_proc(context.port, client_port);
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
