#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "os/unique_fd.hpp"
#include "ports.hpp"

using namespace labcheck;

namespace {

// A listening socket on the loopback at `port`; empty when the port was taken.
UniqueFd listen_on(int family, std::uint16_t port) {
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    int bound = -1;
    if (family == AF_INET6) {
        int one = 1;
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_addr = in6addr_loopback;
        address.sin6_port = htons(port);
        bound = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    } else {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        bound = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    }
    if (bound != 0 || ::listen(fd.get(), 1) != 0) return UniqueFd();
    return fd;
}

bool has_ipv6() {
    UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return false;
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

// A free port with a listener on it. Another process may take a picked port
// before we bind it (the race callers of pick_free_port retry on), so try again.
std::pair<std::uint16_t, UniqueFd> listening_port(int family) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        std::uint16_t port = pick_free_port();
        if (UniqueFd fd = listen_on(family, port)) return {port, std::move(fd)};
    }
    FAIL("could not listen on any port pick_free_port returned");
    return {};
}

}  // namespace

TEST_CASE("ports: pick_free_port returns a free port from 20000 to 31999") {
    for (int round = 0; round < 50; ++round) {
        std::uint16_t port = pick_free_port();
        CAPTURE(port);
        CHECK(port >= 20000);
        CHECK(port < 32000);
        CHECK_FALSE(port_is_busy(port));
    }
}

TEST_CASE("ports: port_is_busy is true while a socket listens on it") {
    SUBCASE("IPv4 loopback") {
        auto [port, listener] = listening_port(AF_INET);
        CAPTURE(port);
        CHECK(port_is_busy(port));
        listener.reset();
        CHECK_FALSE(port_is_busy(port));  // a listener that never had a client leaves nothing
    }
    SUBCASE("IPv6 loopback only") {
        if (!has_ipv6()) {
            MESSAGE("skipped: this machine has no IPv6 loopback");
            return;
        }
        auto [port, listener] = listening_port(AF_INET6);
        CAPTURE(port);
        CHECK(port_is_busy(port));
        listener.reset();
        CHECK_FALSE(port_is_busy(port));
    }
}
