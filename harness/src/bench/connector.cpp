#include "connector.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "lab_catalog.hpp"

namespace labcheck::bench {
namespace {

constexpr std::uint32_t kSourceAddresses = 16;

bool is_ipv4_loopback(const sockaddr_storage& address) {
    if (address.ss_family != AF_INET) return false;
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
}

}  // namespace

void resolve_target(const std::string& host, std::uint16_t port, LoadPlan& plan) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (int error = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); error != 0)
        throw UsageError(fmt::format("cannot resolve {}: {}", host, gai_strerror(error)));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
    std::memcpy(&plan.target, found->ai_addr, found->ai_addrlen);
    plan.target_size = found->ai_addrlen;
    plan.spread_sources = is_ipv4_loopback(plan.target);
}

ConnectStart start_connect(const LoadPlan& plan, std::uint64_t sequence) {
    ConnectStart start;
    UniqueFd fd(::socket(plan.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        start.error = errno;
        start.call = "socket";
        return start;
    }
    if (plan.spread_sources) {
        // IP_BIND_ADDRESS_NO_PORT: bind() fixes only the address; connect() picks the port
        // knowing the whole 4-tuple, so ports stay shared across destinations as without
        // bind() (a plain bind to port 0 would reserve a port per socket).
        const int on = 1;
        sockaddr_in source{};
        source.sin_family = AF_INET;
        source.sin_addr.s_addr =
            htonl(0x7f000001u + static_cast<std::uint32_t>(sequence % kSourceAddresses));
        if (::setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on) < 0 ||
            ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&source), sizeof source) < 0) {
            start.error = errno;
            start.call = "bind";
            return start;
        }
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&plan.target), plan.target_size) <
            0 &&
        errno != EINPROGRESS) {
        start.error = errno;
        start.call = "connect";
        return start;
    }
    start.fd = std::move(fd);
    return start;
}

void require_listening(const LoadPlan& plan, const std::string& where, Millis budget) {
    ConnectStart start = start_connect(plan, 0);
    int error = start.error;
    const char* call = start.fd ? "connect" : start.call;
    if (start.fd) {
        // Writable once the handshake is done (or has failed: SO_ERROR says which).
        pollfd entry{start.fd.get(), POLLOUT, 0};
        const Deadline deadline = Deadline::after(budget);
        int ready = 0;
        while ((ready = ::poll(&entry, 1, deadline.poll_timeout())) < 0 && errno == EINTR) {
        }
        socklen_t size = sizeof error;
        if (ready <= 0)
            error = ETIMEDOUT;
        else if (::getsockopt(start.fd.get(), SOL_SOCKET, SO_ERROR, &error, &size) < 0)
            error = errno;
    }
    if (error != 0)
        throw UsageError(fmt::format("nothing accepts connections at {} ({})", where,
                                     describe_connect_error(call, error)));
}

std::string describe_connect_error(const char* call, int error) {
    if (error == EADDRNOTAVAIL)
        return fmt::format(
            "{}: no local port left (EADDRNOTAVAIL): every closed connection keeps its port in "
            "TIME-WAIT for a minute; use fewer --clients or a shorter --seconds, or wait a minute",
            call);
    if (error == EMFILE || error == ENFILE)
        return fmt::format("{}: {} (labcheck has no descriptor left)", call, std::strerror(error));
    return fmt::format("{}: {}", call, std::strerror(error));
}

}  // namespace labcheck::bench
