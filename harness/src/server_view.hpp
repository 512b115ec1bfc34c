#pragma once
// What labcheck sees of a server from the outside, as `ps` and `ss -tanp` would:
// its processes with their states, which of them hold which socket, and the TCP
// sockets on its port. Taken as snapshots; checks compare snapshots over time.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "procfs/process_table.hpp"
#include "procfs/tcp_table.hpp"

namespace labcheck {

struct Snapshot {
    std::vector<procfs::ProcessInfo> processes;   // the server's process tree
    std::map<pid_t, std::vector<ino_t>> sockets;  // socket inodes each of them holds
    std::vector<procfs::TcpSocket> tcp;  // every TCP socket whose local port is the server's

    const procfs::ProcessInfo* find(pid_t pid) const;
    std::vector<pid_t> holders(ino_t inode) const;
    // Processes holding a LISTEN socket on the port.
    std::vector<pid_t> listeners() const;
    // The listener nearest the root of the tree: the accept loop's process.
    std::optional<pid_t> main_listener() const;
    // The server's end of the connection whose client uses `client_port`.
    std::optional<procfs::TcpSocket> server_side_of(std::uint16_t client_port) const;
    std::vector<pid_t> zombies() const;
    std::size_t count_in_state(procfs::TcpState state) const;
};

class ServerView {
  public:
    // A server labcheck started: its tree is every descendant of labcheck.
    static ServerView launched(std::uint16_t port);
    // A server started elsewhere: its tree is `root` and root's descendants.
    static ServerView attached(std::uint16_t port, pid_t root);

    std::uint16_t port() const { return port_; }
    std::vector<pid_t> tree() const;
    Snapshot snapshot() const;

  private:
    ServerView(std::uint16_t port, std::optional<pid_t> root) : port_(port), root_(root) {}
    std::uint16_t port_;
    std::optional<pid_t> root_;
};

// The process on this machine holding a LISTEN socket on `port` (attach mode),
// nearest the root of its tree; nullopt when none is visible to us.
std::optional<pid_t> find_listening_process(std::uint16_t port);

}  // namespace labcheck
