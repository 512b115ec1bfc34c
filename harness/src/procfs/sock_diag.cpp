#include "procfs/sock_diag.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "os/errors.hpp"
#include "os/unique_fd.hpp"

namespace labcheck::procfs {
namespace {

constexpr unsigned kEveryState = ~0U;
constexpr unsigned kListenOnly = 1U << static_cast<unsigned>(TcpState::listen);

// Set once sock_diag has failed: a kernel or sandbox without it stays without it.
std::atomic<bool> diag_unavailable{false};

struct Unavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A request with a filter the kernel runs on each socket (inet_diag bytecode): "the
// local port equals P". The comparison op jumps past the end (accept) when it holds and
// 4 bytes past it (reject) when not; the op after it only carries the port.
struct DumpRequest {
    nlmsghdr header;
    inet_diag_req_v2 body;
    nlattr filter;
    std::array<inet_diag_bc_op, 2> same_port;
};

Endpoint endpoint_of(int family, const __be32* address, __be16 port) {
    std::array<char, INET6_ADDRSTRLEN> text{};
    ::inet_ntop(family, address, text.data(), text.size());
    return Endpoint{.address = text.data(), .port = ntohs(port)};
}

// One answer row, in the shape the /proc parser gives: a LISTEN row's queues are its
// accept queue (rx) and nothing sent (tx), as /proc/net/tcp prints them.
TcpSocket socket_of(const inet_diag_msg& row) {
    const int family = row.idiag_family;
    TcpSocket socket{
        .local = endpoint_of(family, row.id.idiag_src, row.id.idiag_sport),
        .remote = endpoint_of(family, row.id.idiag_dst, row.id.idiag_dport),
        .state = static_cast<TcpState>(row.idiag_state),
        .tx_queue = row.idiag_wqueue,
        .rx_queue = row.idiag_rqueue,
        .uid = row.idiag_uid,
        .inode = row.idiag_inode,
        .ipv6 = family == AF_INET6,
        .timer = row.idiag_timer <= 4 ? static_cast<TcpTimer>(row.idiag_timer) : TcpTimer::none,
        .timer_left = std::chrono::milliseconds(row.idiag_expires),
    };
    if (socket.state == TcpState::listen) socket.tx_queue = 0;  // the kernel sends the backlog
    return socket;
}

UniqueFd open_diag_socket() {
    UniqueFd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!netlink) throw Unavailable("no NETLINK_SOCK_DIAG");
    // The kernel answers at once; this only bounds a surprise.
    timeval patience{1, 0};
    ::setsockopt(netlink.get(), SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    return netlink;
}

void send_request(const UniqueFd& netlink, const void* request, std::size_t size) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(netlink.get(), request, size, 0, reinterpret_cast<const sockaddr*>(&kernel),
                 sizeof kernel) < 0)
        throw Unavailable("sock_diag request refused");
}

// Reads answers until NLMSG_DONE (a dump) or the first answer (a lookup), handing each
// row to `take`. Returns false when the kernel says there is no such socket.
template <typename Take>
bool receive_rows(const UniqueFd& netlink, bool dump, Take take) {
    alignas(nlmsghdr) std::array<char, 32 * 1024> answer;
    for (;;) {
        ssize_t got =
            retry_on_eintr([&] { return ::recv(netlink.get(), answer.data(), answer.size(), 0); });
        if (got <= 0) throw Unavailable("no answer from sock_diag");
        auto length = static_cast<unsigned>(got);
        for (auto* header = reinterpret_cast<const nlmsghdr*>(answer.data());
             NLMSG_OK(header, length); header = NLMSG_NEXT(header, length)) {
            if (header->nlmsg_type == NLMSG_DONE) return true;
            if (header->nlmsg_type == NLMSG_ERROR) {
                const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
                if (error->error == -ENOENT) return false;
                throw Unavailable("sock_diag: " + std::string(std::strerror(-error->error)));
            }
            if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY)
                throw Unavailable("sock_diag: odd answer");
            take(*static_cast<const inet_diag_msg*>(NLMSG_DATA(header)));
            if (!dump) return true;
        }
    }
}

// Both families, as /proc has tcp and tcp6. A dual-stack server's sockets are AF_INET6
// (their IPv4 peers show as ::ffff:a.b.c.d), so each socket comes in exactly one dump.
std::vector<TcpSocket> dump(std::optional<std::uint16_t> port, unsigned states) {
    std::vector<TcpSocket> sockets;
    const UniqueFd netlink = open_diag_socket();
    for (const int family : {AF_INET, AF_INET6}) {
        DumpRequest request{};
        request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        request.body.sdiag_family = static_cast<__u8>(family);
        request.body.sdiag_protocol = IPPROTO_TCP;
        request.body.idiag_states = states;
        std::size_t size = offsetof(DumpRequest, filter);
        if (port) {
            constexpr auto program = sizeof request.same_port;
            request.filter.nla_type = INET_DIAG_REQ_BYTECODE;
            request.filter.nla_len = sizeof request.filter + program;
            request.same_port[0] = {.code = INET_DIAG_BC_S_EQ, .yes = program, .no = program + 4};
            request.same_port[1] = {.code = INET_DIAG_BC_NOP, .yes = 0, .no = *port};
            size = sizeof request;
        }
        request.header.nlmsg_len = static_cast<__u32>(size);
        send_request(netlink, &request, size);
        receive_rows(netlink, true,
                     [&](const inet_diag_msg& row) { sockets.push_back(socket_of(row)); });
    }
    return sockets;
}

// Runs `through_diag`; when sock_diag fails (now or before), or LABCHECK_NO_SOCK_DIAG
// is set, `through_proc` instead.
template <typename Diag, typename Proc>
auto with_fallback(Diag through_diag, Proc through_proc) -> decltype(through_proc()) {
    const char* refused = std::getenv("LABCHECK_NO_SOCK_DIAG");
    if (!diag_unavailable.load(std::memory_order_relaxed) && !(refused && *refused)) {
        try {
            return through_diag();
        } catch (const Unavailable&) {
            diag_unavailable = true;
        }
    }
    return through_proc();
}

}  // namespace

std::optional<std::vector<TcpSocket>> diag_tcp_sockets(std::optional<std::uint16_t> port) {
    try {
        return dump(port, kEveryState);
    } catch (const Unavailable&) {
        return std::nullopt;
    }
}

std::vector<TcpSocket> tcp_sockets_on_port(std::uint16_t port) {
    return with_fallback([&] { return dump(port, kEveryState); },
                         [&] {
                             auto sockets = read_tcp_sockets();
                             std::erase_if(sockets, [&](const TcpSocket& socket) {
                                 return socket.local.port != port;
                             });
                             return sockets;
                         });
}

std::vector<TcpSocket> listening_tcp_sockets() {
    return with_fallback([] { return dump(std::nullopt, kListenOnly); },
                         [] { return read_listening_sockets(); });
}

std::optional<TcpSocket> tcp_connection(const std::string& host, std::uint16_t local,
                                        std::uint16_t remote) {
    auto exact_lookup = [&]() -> std::optional<TcpSocket> {
        struct {
            nlmsghdr header;
            inet_diag_req_v2 body;
        } request{};
        request.header.nlmsg_len = sizeof request;
        request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        request.header.nlmsg_flags = NLM_F_REQUEST;
        request.body.sdiag_protocol = IPPROTO_TCP;
        request.body.idiag_states = kEveryState;
        request.body.id.idiag_sport = htons(local);
        request.body.id.idiag_dport = htons(remote);
        request.body.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
        request.body.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
        // A dual-stack server's side of an IPv4 connection is an IPv6 socket, but the
        // kernel keeps it in the table of IPv4 connections: asking as AF_INET finds it.
        if (::inet_pton(AF_INET, host.c_str(), request.body.id.idiag_src) == 1)
            request.body.sdiag_family = AF_INET;
        else if (::inet_pton(AF_INET6, host.c_str(), request.body.id.idiag_src) == 1)
            request.body.sdiag_family = AF_INET6;
        else
            throw std::invalid_argument("tcp_connection: " + host + " is not a numeric address");
        std::memcpy(request.body.id.idiag_dst, request.body.id.idiag_src,
                    sizeof request.body.id.idiag_dst);
        const UniqueFd netlink = open_diag_socket();
        send_request(netlink, &request, sizeof request);
        std::optional<TcpSocket> found;
        receive_rows(netlink, false, [&](const inet_diag_msg& row) { found = socket_of(row); });
        // The kernel's lookup falls back to a listener on the local port, as it does for
        // an arriving SYN: that is not the connection asked for.
        if (found && (found->state == TcpState::listen || found->remote.port != remote))
            return std::nullopt;
        return found;
    };
    return with_fallback(exact_lookup, [&]() -> std::optional<TcpSocket> {
        for (auto& socket : read_tcp_sockets())
            if (socket.local.port == local && socket.remote.port == remote &&
                socket.state != TcpState::listen)
                return std::move(socket);
        return std::nullopt;
    });
}

}  // namespace labcheck::procfs
