#pragma once
// TCP sockets as the kernel reports them through NETLINK_SOCK_DIAG, the interface `ss`
// uses. Reading /proc/net/tcp walks every bucket of the kernel's connection table and
// formats every row as text: about 5 ms a table on a machine with a large table, which
// a check polling every few milliseconds turns into a busy core. A sock_diag dump does
// the same walk in a tenth of the time, and the kernel itself keeps only the sockets of
// one port or one state. Where sock_diag is missing (no netlink in a sandbox), each
// function falls back to the /proc tables and says nothing: the answer is the same.
// LABCHECK_NO_SOCK_DIAG=1 in the environment makes labcheck read /proc alone.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "procfs/tcp_table.hpp"

namespace labcheck::procfs {

// The TCP sockets, of both families, whose local port is `port`.
std::vector<TcpSocket> tcp_sockets_on_port(std::uint16_t port);

// The LISTEN sockets of both families: the kernel answers from its (small) table of
// listeners without walking the connections at all.
std::vector<TcpSocket> listening_tcp_sockets();

// The loopback connection whose ends are `host`:`local` and `host`:`remote`, looked up in
// the kernel's hash table (an exact match, no walk). nullopt when the kernel keeps nothing
// of it.
std::optional<TcpSocket> tcp_connection(const std::string& host, std::uint16_t local,
                                        std::uint16_t remote);

// sock_diag alone, for the test that compares it with /proc: every socket of both
// families on `port` (all ports when nullopt), nullopt when sock_diag cannot be used.
std::optional<std::vector<TcpSocket>> diag_tcp_sockets(std::optional<std::uint16_t> port);

}  // namespace labcheck::procfs
