#include "ports.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <random>
#include <stdexcept>

#include "os/errors.hpp"
#include "os/unique_fd.hpp"

namespace labcheck {
namespace {

constexpr std::uint16_t kFirst = 20000;
constexpr std::uint16_t kLast = 32000;  // below Linux's default ip_local_port_range

bool binds(int family, std::uint16_t port) {
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return family == AF_INET6;  // no IPv6 on this machine: nothing to collide with
    if (family == AF_INET6) {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_addr = in6addr_any;
        address.sin6_port = htons(port);
        int one = 1;
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

}  // namespace

bool port_is_busy(std::uint16_t port) {
    return !binds(AF_INET, port) || !binds(AF_INET6, port);
}

std::uint16_t pick_free_port() {
    static std::mt19937 random{std::random_device{}()};
    std::uniform_int_distribution<int> range(kFirst, kLast - 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
        auto port = static_cast<std::uint16_t>(range(random));
        if (!port_is_busy(port)) return port;
    }
    throw std::runtime_error("no free TCP port found in 20000-32000 after 200 tries");
}

}  // namespace labcheck
