#pragma once
// Starting a server and knowing when it is ready: a free port (a lost race for it
// is retried with another), the wait for its LISTEN socket with the reason when it
// never comes, and the processes it runs when idle, which checks compare against.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "os/deadline.hpp"
#include "ports.hpp"
#include "server_process.hpp"
#include "server_view.hpp"

namespace labcheck {

struct StartedServer {
    std::unique_ptr<ServerProcess> process;
    std::uint16_t port = 0;
    std::vector<pid_t> baseline;  // the idle tree, once it stopped changing
    std::string failure;          // why it did not listen; empty when it does
};

// Launches `spec` on `port`, or on ports from `pick_port` (up to 3, when another
// process takes the chosen one first), and waits up to `timeout` for it to listen.
// No other ServerProcess may be alive (it would reap this one's children).
StartedServer start_server(const LaunchSpec& spec, std::optional<std::uint16_t> port,
                           Millis timeout,
                           const std::function<std::uint16_t()>& pick_port = pick_free_port);

// The processes of an idle server once they stop changing (a pre-forked pool
// starts its workers right after listen()).
std::vector<pid_t> settle_baseline(const ServerView& view);

}  // namespace labcheck
