#pragma once
// Where the generator connects, and how one connection starts: a non-blocking socket,
// from one of several loopback source addresses when the target is loopback, with a
// connect() that returns at once (the epoll loop learns when it completes).

#include <cstdint>
#include <string>

#include "bench/load_plan.hpp"
#include "os/unique_fd.hpp"

namespace labcheck::bench {

// HOST (numeric or a name) and PORT into the plan's target, and whether its source
// addresses can be spread. Throws UsageError when HOST does not resolve.
void resolve_target(const std::string& host, std::uint16_t port, LoadPlan& plan);

struct ConnectStart {
    UniqueFd fd;    // the socket, its connect in progress (or done); empty on failure
    int error = 0;  // errno of the call that failed
    const char* call = "";
};

// Starts connection number `sequence` of this thread (it picks the source address).
ConnectStart start_connect(const LoadPlan& plan, std::uint64_t sequence);

// Throws UsageError when a connection to the plan's target cannot be made within
// `budget` (nothing listens there): for an --attach'ed server, which labcheck did not
// see start listening.
void require_listening(const LoadPlan& plan, const std::string& where, Millis budget);

// One line on why a connect failed, with what to do for the failures a load causes.
std::string describe_connect_error(const char* call, int error);

}  // namespace labcheck::bench
