#pragma once
// One run of the load generator, decided before it starts (LoadPlan), and what it
// measured (LoadResult). The three modes share one connection state machine:
//   conn    each client loops: connect, send 64 bytes, read the 64 back, close;
//   stream  each connection sends N bytes while reading the reply (full duplex), then
//           half-closes and reads to the server's close;
//   hold    all K connect first; once every one is connected (or has failed), each
//           sends 64 bytes and reads them back, all still open; closed at the end.

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/latency_histogram.hpp"
#include "os/deadline.hpp"
#include "protocol.hpp"

namespace labcheck::bench {

enum class Mode { conn, stream, hold };

// The bytes of one round trip (conn and hold).
constexpr std::size_t kRoundTripBytes = 64;
// How many errors a report quotes in full: the first few.
constexpr std::size_t kErrorSamples = 5;

struct LoadPlan {
    Mode mode = Mode::conn;
    sockaddr_storage target{};
    socklen_t target_size = 0;
    // Connect from 127.0.0.1-127.0.0.16 in turn (the target is IPv4 loopback): each
    // source address has its own ephemeral ports, so TIME-WAIT, which a client that
    // closes first keeps for a minute per connection, runs out 16 times later.
    bool spread_sources = false;
    Protocol protocol = Protocol::swapcase;
    std::uint32_t connections = 1;    // open at once: clients (conn), P (stream), K (hold)
    Clock::duration length{};         // conn: how long new connections are started
    std::uint64_t stream_bytes = 0;   // stream: per connection
    unsigned threads = 1;             // no more than connections
    Clock::duration stall_timeout{};  // a connection that makes no progress this long fails
};

struct LoadResult {
    Clock::duration elapsed{};      // from the first connect until the last connection ended
    std::uint64_t round_trips = 0;  // replies verified whole (a whole stream in stream mode)
    std::uint64_t round_trips_in_window = 0;  // conn: of those, completed within --seconds
    std::uint64_t connections_made = 0;       // connects that succeeded
    std::uint64_t errors = 0;                 // connections that failed, one error each
    std::vector<std::string> error_samples;   // the first few, in one line each
    std::uint64_t bytes_verified = 0;         // reply bytes that came back as they should
    LatencyHistogram latency;
    unsigned threads = 0;
    std::chrono::nanoseconds generator_cpu{};  // CPU time the generator's threads used
    // hold: when the last reply was verified, from the first connect.
    std::optional<Clock::duration> last_served;
};

// What the run prints while it goes (stderr, when a terminal): totals so far.
struct LoadProgress {
    Clock::duration elapsed{};
    std::uint64_t round_trips = 0;
    std::uint64_t connections_made = 0;
    std::uint64_t errors = 0;
    std::uint64_t bytes_verified = 0;
};

}  // namespace labcheck::bench
