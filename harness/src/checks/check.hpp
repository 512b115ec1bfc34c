#pragma once
// The shape every check has: an id and title from the design, what it needs from
// the situation (a server labcheck launched itself, a view of its processes), and
// a function that runs it. A check returns a short note on success and throws
// CheckFailure (with what was sent, what came back, what was expected) or
// CheckSkipped (why it could not apply).

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol.hpp"
#include "server_process.hpp"
#include "server_view.hpp"

namespace labcheck {

struct CheckContext {
    Protocol protocol = Protocol::plain;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    ServerView view;
    std::vector<pid_t> baseline;  // the server's processes when idle, right after it listened
    // The server labcheck started for this check; null when attached.
    std::unique_ptr<ServerProcess>* process = nullptr;
    // Replaces *process with a new server on the same port (the old one must be
    // stopped first); empty when attached.
    std::function<void()> relaunch;

    std::string expected(std::string_view sent) const { return expected_reply(protocol, sent); }
    bool in_baseline(pid_t pid) const;
};

struct CheckDefinition {
    std::string_view id;
    std::string_view title;
    bool needs_launch = false;     // starts or stops the server itself
    bool needs_processes = false;  // reads the server's processes and sockets in /proc
    std::function<std::string(CheckContext&)> run;
};

std::span<const CheckDefinition> all_checks();
const CheckDefinition* find_check(std::string_view id);
// Every check id, in the order of all_checks().
std::span<const std::string_view> check_ids();

// Each family registers its checks in one place (checks/*.cpp).
std::vector<CheckDefinition> data_checks();
std::vector<CheckDefinition> concurrency_checks();
std::vector<CheckDefinition> reaping_checks();
std::vector<CheckDefinition> robustness_checks();
// Beyond the fork (labs 06-10): designs other than a process per client.
std::vector<CheckDefinition> tcp_state_checks();  // lab 06: each state provoked on purpose
std::vector<CheckDefinition> thread_checks();     // lab 07
std::vector<CheckDefinition> fairness_checks();   // lab 08: one client cannot starve the rest
std::vector<CheckDefinition> pool_checks();       // lab 09: a pre-forked pool

}  // namespace labcheck
