#include "trace/trace.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace labcheck {

using procfs::TcpState;

TraceEvent& TraceBuilder::add(TraceEvent::Kind kind, Clock::time_point at) {
    bool essential = kind == TraceEvent::Kind::check || kind == TraceEvent::Kind::outcome;
    if (trace_.events.size() >= kMaxTraceEvents && !essential) {
        ++trace_.dropped;
        discarded_ = TraceEvent{};
        return discarded_;
    }
    TraceEvent event;
    event.kind = kind;
    event.at = std::chrono::duration_cast<Millis>(at - origin_);
    trace_.events.push_back(std::move(event));
    return trace_.events.back();
}

void TraceBuilder::forget_processes(const Snapshot& now) {
    processes_.clear();
    for (const auto& process : now.processes)
        processes_[process.pid] = ProcessState{process.ppid, process.is_zombie(), Millis(0), false};
}

void TraceBuilder::begin_check(const std::string& id, pid_t root, std::uint16_t port,
                               const Snapshot& now, Clock::time_point at) {
    add(TraceEvent::Kind::check, at).detail = id;
    auto& server = add(TraceEvent::Kind::server, at);
    server.pid = root;
    server.detail = std::to_string(port);
    root_ = root;
    connections_.clear();
    forget_processes(now);
}

void TraceBuilder::server_restarted(pid_t root, const Snapshot& now, Clock::time_point at) {
    auto& server = add(TraceEvent::Kind::server, at);
    server.pid = root;
    server.detail = "restarted";
    root_ = root;
    forget_processes(now);
}

void TraceBuilder::check_not_run(const std::string& id, const std::string& outcome,
                                 Clock::time_point at) {
    add(TraceEvent::Kind::check, at).detail = id;
    add(TraceEvent::Kind::outcome, at).detail = outcome;
}

void TraceBuilder::end_check(const std::string& outcome, const Snapshot& now,
                             Clock::time_point at) {
    if (!in_check()) return;
    observe(now, at);
    auto ended = std::chrono::duration_cast<Millis>(at - origin_);
    for (const auto& [pid, state] : processes_) {
        if (pid == root_) continue;
        auto& leftover = add(TraceEvent::Kind::leftover, at);
        leftover.pid = pid;
        leftover.parent = state.parent;
        leftover.detail = state.zombie ? "zombie" : "running";
        if (state.zombie) leftover.lived = ended - state.zombie_since;
    }
    add(TraceEvent::Kind::outcome, at).detail = outcome;
    root_ = 0;
    processes_.clear();
    connections_.clear();
}

void TraceBuilder::observe(const Snapshot& now, Clock::time_point at) {
    if (!in_check()) return;
    auto since_origin = std::chrono::duration_cast<Millis>(at - origin_);

    for (const auto& process : now.processes) {
        auto known = processes_.find(process.pid);
        if (known == processes_.end()) {
            auto& fork = add(TraceEvent::Kind::fork, at);
            fork.pid = process.pid;
            fork.parent = process.ppid;
            known =
                processes_.emplace(process.pid, ProcessState{process.ppid, false, {}, true}).first;
        } else if (known->second.parent != process.ppid) {
            // Its parent exited: the kernel handed it to the nearest subreaper or init.
            auto& adopt = add(TraceEvent::Kind::adopt, at);
            adopt.pid = process.pid;
            adopt.parent = process.ppid;
            adopt.detail = process.ppid == getpid() ? "labcheck (the subreaper)"
                           : process.ppid == 1      ? "init"
                                                    : "";
            known->second.parent = process.ppid;
        }
        if (process.is_zombie() && !known->second.zombie) {
            auto& exit = add(TraceEvent::Kind::exit, at);
            exit.pid = process.pid;
            exit.parent = process.ppid;
            known->second.zombie = true;
            known->second.zombie_since = since_origin;
        }
    }
    for (auto it = processes_.begin(); it != processes_.end();) {
        if (now.find(it->first)) {
            ++it;
            continue;
        }
        auto& reap = add(TraceEvent::Kind::reap, at);
        reap.pid = it->first;
        reap.parent = it->second.parent;
        if (it->second.zombie) reap.lived = since_origin - it->second.zombie_since;
        it = processes_.erase(it);
    }

    for (auto& [client_port, connection] : connections_) {
        auto side = now.server_side_of(client_port);
        if (!side) continue;
        if (!connection.served && side->inode != 0) {
            auto holders = now.holders(side->inode);
            auto child = std::find_if(holders.begin(), holders.end(),
                                      [&](pid_t holder) { return holder != root_; });
            if (child != holders.end()) {
                // A forked child holds its client's socket, whether or not the parent
                // has closed its copy yet: the child is the one serving.
                auto& served = add(TraceEvent::Kind::served, at);
                served.connection = connection.number;
                served.pid = *child;
                connection.served = true;
            } else if (!holders.empty()) {
                // Only the server's first process holds it, so far. That may be an
                // iterative server serving it, or a forking one whose new child this
                // look missed (/proc's children lists are not atomic): decided at close.
                connection.root_holds = true;
            }
        }
        bool changed = connection.state ? *connection.state != side->state
                                        : side->state != TcpState::established;
        if (changed && side->state != TcpState::syn_recv && side->state != TcpState::new_syn_recv) {
            auto& state = add(TraceEvent::Kind::state, at);
            state.connection = connection.number;
            state.detail = std::string(to_string(side->state));
            // Who keeps it open tells a missing close() apart: a CLOSE-WAIT socket
            // that the parent still holds after its child has gone.
            auto holders = side->inode != 0 ? now.holders(side->inode) : std::vector<pid_t>{};
            if (std::find(holders.begin(), holders.end(), root_) != holders.end())
                state.pid = root_;
            else if (!holders.empty())
                state.pid = holders.back();
        }
        connection.state = side->state;
        connection.queued = side->state == TcpState::established && side->inode == 0;
    }
}

std::map<pid_t, pid_t> TraceBuilder::known_processes() const {
    std::map<pid_t, pid_t> known;
    for (const auto& [pid, state] : processes_) known[pid] = state.parent;
    return known;
}

bool TraceBuilder::settled() const {
    return std::none_of(processes_.begin(), processes_.end(), [](const auto& entry) {
        return entry.second.zombie || entry.second.forked_in_check;
    });
}

TraceBuilder::ConnectionState* TraceBuilder::find_connection(std::uint16_t client_port) {
    auto it = connections_.find(client_port);
    return it == connections_.end() ? nullptr : &it->second;
}

void TraceBuilder::connection_opened(std::uint16_t client_port, Clock::time_point at) {
    if (!in_check()) return;
    ConnectionState connection;
    connection.number = next_connection_++;
    auto& event = add(TraceEvent::Kind::connect, at);
    event.connection = connection.number;
    event.detail = std::to_string(client_port);
    connections_[client_port] = connection;
}

bool TraceBuilder::wants_look(std::uint16_t client_port) const {
    auto it = connections_.find(client_port);
    return in_check() && it != connections_.end() && !it->second.served;
}

void TraceBuilder::connection_half_closed(std::uint16_t client_port, Clock::time_point at) {
    if (auto* connection = find_connection(client_port))
        add(TraceEvent::Kind::half_close, at).connection = connection->number;
}

void TraceBuilder::connection_closed(std::uint16_t client_port, bool reset, Clock::time_point at) {
    auto* connection = find_connection(client_port);
    if (!connection) return;
    if (!connection->served && connection->root_holds) {
        auto& served = add(TraceEvent::Kind::served, at);
        served.connection = connection->number;
        served.pid = root_;
        connection->served = true;
    }
    auto& event = add(reset ? TraceEvent::Kind::reset : TraceEvent::Kind::close, at);
    event.connection = connection->number;
    if (!connection->served) event.detail = connection->queued ? "queued" : "unserved";
}

void TraceBuilder::signalled(pid_t pid, int signal, Clock::time_point at) {
    if (!in_check()) return;
    auto& event = add(TraceEvent::Kind::signal, at);
    event.pid = pid;
    event.detail = sigabbrev_np(signal) ? fmt::format("SIG{}", sigabbrev_np(signal))
                                        : fmt::format("signal {}", signal);
}

}  // namespace labcheck
