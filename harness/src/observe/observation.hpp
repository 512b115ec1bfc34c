#pragma once
// What `labcheck observe` shows, computed from successive snapshots of the server
// (ServerView::snapshot): each look becomes a Frame, the process tree with the client
// each process serves, the server's sockets grouped by TCP state, and counters that
// only a watcher over time can keep (how many connections were accepted, how many
// children exited and were reaped). Pure: tests feed it hand-made snapshots.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "procfs/tcp_table.hpp"
#include "server_view.hpp"

namespace labcheck::observe {

using Millis = std::chrono::milliseconds;

struct Counters {
    std::size_t accepted = 0;  // distinct connections seen with a process holding them
    std::size_t active = 0;    // connections a process of the server holds open now
    std::size_t exited = 0;    // processes seen to end: became zombies, or vanished
    std::size_t reaped = 0;    // processes seen (alive or zombie) that later vanished
    std::size_t zombies = 0;   // zombies now
};

struct ProcessRow {
    pid_t pid = 0;
    pid_t ppid = 0;
    char state = '?';  // as ps prints it: R S D Z T ...
    bool zombie = false;
    Millis age{0};
    std::string role;                  // "listener", "child" or "server" (see observation.cpp)
    int depth = 0;                     // in the process tree: 0 for a root
    std::vector<std::string> clients;  // the peers of the connections it holds
};

struct SocketRow {
    procfs::TcpState state = procfs::TcpState::close;
    std::string local;
    std::string remote;
    std::vector<pid_t> holders;       // empty: no process holds it (see `inode`)
    ino_t inode = 0;                  // 0: the kernel's alone (accept queue, TIME-WAIT)
    std::optional<Millis> time_left;  // TIME-WAIT: until the kernel drops it
    unsigned long recv_q = 0;
    unsigned long send_q = 0;
};

struct Frame {
    std::string server;  // as the user named it
    std::uint16_t port = 0;
    Millis observed{0};                              // since the first look
    std::vector<ProcessRow> processes;               // tree order: each parent before its children
    std::vector<SocketRow> sockets;                  // grouped by state, LISTEN first
    std::map<procfs::TcpState, std::size_t> states;  // occupied states only
    Counters counters;
};

// "127.0.0.1:50312", "[::1]:50312" and "0.0.0.0:*" for a port 0, as ss prints them.
std::string endpoint_text(const procfs::Endpoint& endpoint);

// CLOCK_BOOTTIME: the clock of /proc/PID/stat's start time, in which processes' ages
// are measured.
Millis now_since_boot();

class Observation {
  public:
    // Takes one look: `since_boot` is now_since_boot() when `snapshot` was taken.
    Frame look(const Snapshot& snapshot, Millis since_boot);

  private:
    struct Tracked {
        unsigned long long start_ticks = 0;  // with the pid: the same process
        bool zombie = false;
    };
    struct Connection {
        ino_t inode = 0;
        bool counted = false;
    };
    void count_processes(const Snapshot& snapshot);
    void count_connections(const Snapshot& snapshot);

    std::optional<Millis> first_look_;
    std::map<pid_t, Tracked> processes_;             // those of the last look
    std::map<std::string, Connection> connections_;  // by peer, those of the last look
    Counters totals_;
};

}  // namespace labcheck::observe
