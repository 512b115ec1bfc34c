#pragma once
// The two address chores every client of labcheck does: a numeric HOST:PORT into a
// sockaddr, and the local port the kernel gave a socket (which names the connection in
// /proc/net/tcp and in failure messages).

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace labcheck {

// Fills `storage` for host:port; returns its length, 0 when host is not a numeric IPv4 or
// IPv6 address.
socklen_t make_address(const std::string& host, std::uint16_t port, sockaddr_storage& storage);

// The local port of socket `fd`. Throws std::system_error when getsockname fails.
std::uint16_t local_port_of(int fd);

}  // namespace labcheck
