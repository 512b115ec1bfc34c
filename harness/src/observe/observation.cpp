#include "observe/observation.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "os/errors.hpp"

namespace labcheck::observe {
namespace {

using procfs::TcpState;

// The order sockets are listed in: a connection's life on the server's side, from the
// listening socket to TIME-WAIT; states a server's port rarely shows come last.
int listing_rank(TcpState state) {
    static constexpr TcpState order[] = {
        TcpState::listen,     TcpState::syn_recv,  TcpState::new_syn_recv, TcpState::established,
        TcpState::close_wait, TcpState::last_ack,  TcpState::fin_wait1,    TcpState::fin_wait2,
        TcpState::closing,    TcpState::time_wait, TcpState::syn_sent,     TcpState::close};
    return static_cast<int>(std::find(std::begin(order), std::end(order), state) - order);
}

// A connection in these states with no inode was accepted, then closed by the server
// (its process has let go; the kernel finishes the close). Without an inode in the other
// states it waits in the accept queue: not accepted yet.
bool closed_by_server(TcpState state) {
    return state == TcpState::fin_wait1 || state == TcpState::fin_wait2 ||
           state == TcpState::closing || state == TcpState::time_wait ||
           state == TcpState::last_ack;
}

std::string connection_key(const procfs::TcpSocket& socket) {
    return endpoint_text(socket.local) + " " + endpoint_text(socket.remote);
}

// Grouped by state, and by client within a state, so rows keep their places from one
// look to the next.
std::vector<SocketRow> socket_rows(const Snapshot& snapshot) {
    auto sockets = snapshot.tcp;
    std::sort(sockets.begin(), sockets.end(), [](const auto& a, const auto& b) {
        return std::tuple(listing_rank(a.state), a.remote.address, a.remote.port) <
               std::tuple(listing_rank(b.state), b.remote.address, b.remote.port);
    });
    std::vector<SocketRow> rows;
    for (const auto& socket : sockets) {
        SocketRow row;
        row.state = socket.state;
        row.local = endpoint_text(socket.local);
        row.remote = endpoint_text(socket.remote);
        if (socket.inode) row.holders = snapshot.holders(socket.inode);
        row.inode = socket.inode;
        row.recv_q = socket.rx_queue;
        row.send_q = socket.tx_queue;
        if (socket.timer == procfs::TcpTimer::time_wait) row.time_left = socket.timer_left;
        rows.push_back(std::move(row));
    }
    return rows;
}

ProcessRow process_row(const procfs::ProcessInfo& process, int depth, const Snapshot& snapshot,
                       const std::vector<pid_t>& listeners, Millis since_boot) {
    static const long ticks_per_second = std::max(::sysconf(_SC_CLK_TCK), 1L);
    ProcessRow row;
    row.pid = process.pid;
    row.ppid = process.ppid;
    row.state = process.state;
    row.zombie = process.is_zombie();
    row.age =
        std::max(Millis(0), since_boot - Millis(process.start_ticks * 1000 / ticks_per_second));
    row.depth = depth;
    // A listener holds the listening socket (the accept loop, or prefork workers); a
    // child is any other process whose parent is the server's; "server" is a root that
    // does not listen (a shell around the server, or one whose listener has gone).
    if (std::find(listeners.begin(), listeners.end(), process.pid) != listeners.end())
        row.role = "listener";
    else
        row.role = snapshot.find(process.ppid) ? "child" : "server";
    if (auto held = snapshot.sockets.find(process.pid); held != snapshot.sockets.end()) {
        for (ino_t inode : held->second)
            for (const auto& socket : snapshot.tcp)
                if (socket.inode == inode && socket.state != TcpState::listen)
                    row.clients.push_back(endpoint_text(socket.remote));
    }
    return row;
}

// Each parent before its children, children by pid: the tree as `ps --forest` draws it.
std::vector<ProcessRow> process_rows(const Snapshot& snapshot, Millis since_boot) {
    std::vector<const procfs::ProcessInfo*> by_pid;
    for (const auto& process : snapshot.processes) by_pid.push_back(&process);
    std::sort(by_pid.begin(), by_pid.end(), [](auto* a, auto* b) { return a->pid < b->pid; });
    std::vector<ProcessRow> rows;
    std::set<pid_t> listed;  // a ppid cycle (pids reused while we read) cannot loop
    const auto listeners = snapshot.listeners();
    auto add = [&](auto& self, const procfs::ProcessInfo& process, int depth) -> void {
        if (!listed.insert(process.pid).second) return;
        rows.push_back(process_row(process, depth, snapshot, listeners, since_boot));
        for (const auto* child : by_pid)
            if (child->ppid == process.pid) self(self, *child, depth + 1);
    };
    for (const auto* process : by_pid)
        if (!snapshot.find(process->ppid)) add(add, *process, 0);
    for (const auto* process : by_pid) add(add, *process, 0);
    return rows;
}

}  // namespace

std::string endpoint_text(const procfs::Endpoint& endpoint) {
    std::string port = endpoint.port ? std::to_string(endpoint.port) : "*";
    if (endpoint.address.find(':') != std::string::npos)
        return "[" + endpoint.address + "]:" + port;
    return endpoint.address + ":" + port;
}

Millis now_since_boot() {
    timespec now{};
    if (::clock_gettime(CLOCK_BOOTTIME, &now) != 0) throw_errno("clock_gettime(CLOCK_BOOTTIME)");
    return Millis(now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

Frame Observation::look(const Snapshot& snapshot, Millis since_boot) {
    if (!first_look_) first_look_ = since_boot;
    count_processes(snapshot);
    count_connections(snapshot);
    Frame frame;
    frame.observed = since_boot - *first_look_;
    frame.processes = process_rows(snapshot, since_boot);
    frame.sockets = socket_rows(snapshot);
    frame.counters = totals_;
    for (const auto& row : frame.sockets) {
        ++frame.states[row.state];
        if (row.state != TcpState::listen && row.inode != 0) ++frame.counters.active;
    }
    frame.counters.zombies = snapshot.zombies().size();
    return frame;
}

void Observation::count_processes(const Snapshot& snapshot) {
    std::map<pid_t, Tracked> now;
    for (const auto& process : snapshot.processes)
        now[process.pid] = {process.start_ticks, process.is_zombie()};
    // A pid met again with another start time is another process: the first one is gone.
    auto same = [](const Tracked& a, const Tracked& b) { return a.start_ticks == b.start_ticks; };
    for (const auto& [pid, before] : processes_) {
        auto after = now.find(pid);
        if (after == now.end() || !same(before, after->second)) {
            if (!before.zombie) ++totals_.exited;  // exited and reaped between two looks
            ++totals_.reaped;
        } else if (!before.zombie && after->second.zombie) {
            ++totals_.exited;
        }
    }
    for (const auto& [pid, after] : now) {
        auto before = processes_.find(pid);
        bool first_seen = before == processes_.end() || !same(before->second, after);
        if (first_seen && after.zombie) ++totals_.exited;
    }
    processes_ = std::move(now);
}

void Observation::count_connections(const Snapshot& snapshot) {
    std::map<std::string, Connection> now;
    for (const auto& socket : snapshot.tcp) {
        if (socket.state == TcpState::listen) continue;
        Connection connection{.inode = socket.inode, .counted = false};
        // The same connection keeps its inode until its process lets go (then 0); a new
        // inode for the same two endpoints is a new connection.
        auto before = connections_.find(connection_key(socket));
        if (before != connections_.end() &&
            (!before->second.inode || !socket.inode || before->second.inode == socket.inode)) {
            connection.counted = before->second.counted;
            if (!connection.inode) connection.inode = before->second.inode;
        }
        if (!connection.counted && (socket.inode || closed_by_server(socket.state))) {
            connection.counted = true;
            ++totals_.accepted;
        }
        now[connection_key(socket)] = connection;
    }
    connections_ = std::move(now);
}

}  // namespace labcheck::observe
