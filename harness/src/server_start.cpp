#include "server_start.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "procfs/process_table.hpp"
#include "procfs/sock_diag.hpp"

namespace labcheck {
namespace {

// LISTEN sockets held by the server's tree, by port.
std::vector<std::uint16_t> listening_ports(const ServerView& view) {
    std::vector<ino_t> held;
    for (const auto& [pid, inodes] : view.snapshot().sockets)
        held.insert(held.end(), inodes.begin(), inodes.end());
    std::vector<std::uint16_t> ports;
    for (const auto& socket : procfs::listening_tcp_sockets())
        if (std::find(held.begin(), held.end(), socket.inode) != held.end())
            ports.push_back(socket.local.port);
    return ports;
}

// Waits until the tree holds a LISTEN socket on the port. Returns an empty string
// on success, or the reason it did not happen, in words a student can act on.
std::string wait_until_listening(const ServerProcess& server, const ServerView& view,
                                 std::chrono::milliseconds timeout) {
    auto deadline = Deadline::after(timeout);
    std::string failure;
    auto tripped = [&] {
        if (auto count = server.tripped_at()) {
            failure = fmt::format(
                "it ran {} processes at once, past the cap, and was stopped (a fork bomb?)",
                *count);
            return true;
        }
        return false;
    };
    bool listening = poll_patiently(deadline, [&] {
        if (tripped()) return true;
        bool has_listen_row = false;
        for (const auto& socket : procfs::listening_tcp_sockets())
            if (socket.local.port == view.port()) has_listen_row = true;
        if (has_listen_row && !view.snapshot().listeners().empty()) return true;
        if (auto status = server.wait_status(); status && server.tree().empty()) {
            if (tripped()) return true;  // killed by the watchdog, not by its own bug
            failure = fmt::format("it {} before listening on port {}",
                                  describe_wait_status(*status), view.port());
            return true;
        }
        return false;
    });
    if (listening && failure.empty()) return {};
    if (!failure.empty()) return failure;
    std::string text =
        fmt::format("no listening socket on port {} after {} ms", view.port(), timeout.count());
    auto elsewhere = listening_ports(view);
    const auto byte_swapped = static_cast<std::uint16_t>((view.port() >> 8) | (view.port() << 8));
    if (std::find(elsewhere.begin(), elsewhere.end(), byte_swapped) != elsewhere.end())
        text += fmt::format(
            "; the server listens on port {} instead, which is {} with its two bytes swapped: "
            "sin_port must be in network byte order, htons(port)",
            byte_swapped, view.port());
    else if (!elsewhere.empty())
        text += fmt::format("; the server listens on port {} instead: take the port from argv[1]",
                            elsewhere.front());
    else
        text += "; the server is running but never called listen() on that port";
    return text;
}

}  // namespace

std::vector<pid_t> settle_baseline(const ServerView& view) {
    // Idle means: the same processes three samples running, and all of them
    // asleep (in accept, poll, pause...). A parent still forking its pool is
    // running or runnable, so a loaded machine cannot make us settle too early.
    auto idle_tree = [&](std::vector<pid_t>& pids) {
        pids = view.tree();
        std::sort(pids.begin(), pids.end());
        return std::all_of(pids.begin(), pids.end(), [](pid_t pid) {
            auto process = procfs::read_process(pid);
            return !process || process->state == 'S' || process->is_zombie();
        });
    };
    std::vector<pid_t> previous, now;
    int stable = 0;
    poll_until(
        Deadline::after(Millis(2000)),
        [&] {
            bool idle = idle_tree(now);
            stable = (idle && now == previous) ? stable + 1 : 0;
            previous = now;
            return stable >= 2;
        },
        Millis(5));
    return previous;
}

StartedServer start_server(const LaunchSpec& spec, std::optional<std::uint16_t> port,
                           Millis timeout, const std::function<std::uint16_t()>& pick_port) {
    StartedServer started;
    for (int attempt = 1;; ++attempt) {
        started.process.reset();
        started.port = port ? *port : pick_port();
        started.process = ServerProcess::launch(spec, started.port);
        auto view = ServerView::launched(started.port);
        started.failure = wait_until_listening(*started.process, view, timeout);
        if (started.failure.empty()) {
            started.baseline = settle_baseline(view);
            return started;
        }
        // Lost the race: the server is gone and someone else holds its port.
        bool lost_race =
            !port && attempt < 3 && started.process->tree().empty() && port_is_busy(started.port);
        if (!lost_race) return started;
    }
}

}  // namespace labcheck
