#pragma once
// What the fairness check (flood-no-read) reads from /proc to follow a client's bytes:
// where they are queued on both ends of the connection, how much of them the server
// keeps in its own memory, and whether any thread of the server is running.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "checks/check.hpp"

namespace labcheck {

// One connection seen from both ends (the client runs here, so both are in our network
// namespace): the numbers /proc/net/tcp and `ss` show as Recv-Q and Send-Q.
struct Flow {
    bool found = false;           // both rows seen: the connection still exists
    unsigned long client_tx = 0;  // sent by the client, not yet acknowledged by the server
    unsigned long client_rx = 0;  // echoed to the client, sitting unread in its socket
    unsigned long server_rx = 0;  // arrived at the server, not yet read by it
    unsigned long server_tx = 0;  // written by the server, not yet acknowledged by the client

    bool operator==(const Flow&) const = default;
};
// Asks the kernel for the two sockets by their addresses and ports (sock_diag, as `ss`
// does), so the cost does not grow with the sockets on the machine: after a benchmark,
// a minute of TIME-WAIT can make /proc/net/tcp 100 000 lines, a quarter of a second to
// read. Falls back to /proc/net/tcp where sock_diag is not available.
Flow read_flow(const CheckContext& context, std::uint16_t client_port);

// Bytes the server has read from a client that sent `sent` and neither written back
// nor left in a queue: what it keeps (or dropped) in its own memory. Exact when the
// flow is still; while bytes move it may be off by what is in flight.
std::size_t held_by_server(std::size_t sent, const Flow& flow);

// True when every thread of every process of the server sleeps (S or D): none is
// running or waiting for a CPU (R).
bool server_asleep(const CheckContext& context);

// How many times the server's threads have gone to sleep (voluntary context switches,
// summed): it grows each time one of them wakes up and waits again.
unsigned long long server_switches(const CheckContext& context);

// The anonymous memory (heap, stacks: RssAnon) of the server's processes, summed, in
// bytes: what grows when a server keeps data.
std::size_t server_anon_memory(const CheckContext& context);

// "write()" or "read()" when `pid` sleeps in that kind of call; empty otherwise.
std::string blocked_call(pid_t pid);

}  // namespace labcheck
