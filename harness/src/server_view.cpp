#include "server_view.hpp"

#include <unistd.h>

#include <algorithm>

#include "procfs/children.hpp"
#include "procfs/sock_diag.hpp"

namespace labcheck {

using procfs::TcpState;

const procfs::ProcessInfo* Snapshot::find(pid_t pid) const {
    for (const auto& process : processes)
        if (process.pid == pid) return &process;
    return nullptr;
}

std::vector<pid_t> Snapshot::holders(ino_t inode) const {
    std::vector<pid_t> result;
    for (const auto& [pid, inodes] : sockets)
        if (std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) result.push_back(pid);
    return result;
}

std::vector<pid_t> Snapshot::listeners() const {
    std::vector<pid_t> result;
    for (const auto& socket : tcp) {
        if (socket.state != TcpState::listen) continue;
        for (pid_t pid : holders(socket.inode))
            if (std::find(result.begin(), result.end(), pid) == result.end()) result.push_back(pid);
    }
    return result;
}

std::optional<pid_t> Snapshot::main_listener() const {
    auto all = listeners();
    for (pid_t pid : all) {
        const auto* process = find(pid);
        if (!process) continue;
        if (std::find(all.begin(), all.end(), process->ppid) == all.end()) return pid;
    }
    return all.empty() ? std::nullopt : std::optional<pid_t>(all.front());
}

std::optional<procfs::TcpSocket> Snapshot::server_side_of(std::uint16_t client_port) const {
    // A live row (held by a process, inode != 0) before a leftover TIME-WAIT one.
    for (const auto& socket : tcp)
        if (socket.state != TcpState::listen && socket.remote.port == client_port &&
            socket.inode != 0)
            return socket;
    for (const auto& socket : tcp)
        if (socket.state != TcpState::listen && socket.remote.port == client_port) return socket;
    return std::nullopt;
}

std::vector<pid_t> Snapshot::zombies() const {
    std::vector<pid_t> result;
    for (const auto& process : processes)
        if (process.is_zombie()) result.push_back(process.pid);
    return result;
}

std::size_t Snapshot::count_in_state(TcpState state) const {
    return static_cast<std::size_t>(std::count_if(
        tcp.begin(), tcp.end(), [&](const auto& socket) { return socket.state == state; }));
}

ServerView ServerView::launched(std::uint16_t port) {
    return ServerView(port, std::nullopt);
}

ServerView ServerView::attached(std::uint16_t port, pid_t root) {
    return ServerView(port, root);
}

std::vector<pid_t> ServerView::tree() const {
    if (!root_) {
        auto pids = procfs::descendant_pids(getpid());
        // A process whose parent exits during the walk is handed to labcheck (the
        // subreaper) after we read our own children: look at them once more.
        for (pid_t child : procfs::children_of(getpid())) {
            if (std::find(pids.begin(), pids.end(), child) != pids.end()) continue;
            pids.push_back(child);
            for (pid_t below : procfs::descendant_pids(child))
                if (std::find(pids.begin(), pids.end(), below) == pids.end()) pids.push_back(below);
        }
        return pids;
    }
    auto pids = procfs::descendant_pids(*root_);
    pids.insert(pids.begin(), *root_);
    return pids;
}

Snapshot ServerView::snapshot() const {
    Snapshot result;
    for (pid_t pid : tree()) {
        auto process = procfs::read_process(pid);
        if (!process) continue;
        result.processes.push_back(*process);
        result.sockets[pid] = procfs::socket_inodes_of(pid);
    }
    result.tcp = procfs::tcp_sockets_on_port(port_);
    return result;
}

std::optional<pid_t> find_listening_process(std::uint16_t port) {
    std::vector<pid_t> holders;
    for (const auto& socket : procfs::listening_tcp_sockets()) {
        if (socket.local.port != port || socket.inode == 0) continue;
        for (pid_t pid : procfs::find_holders_anywhere(socket.inode)) holders.push_back(pid);
    }
    for (pid_t pid : holders) {
        auto process = procfs::read_process(pid);
        if (process && std::find(holders.begin(), holders.end(), process->ppid) == holders.end())
            return pid;
    }
    return holders.empty() ? std::nullopt : std::optional<pid_t>(holders.front());
}

}  // namespace labcheck
