#pragma once
// One thread of the load generator: an epoll loop that owns a share of the run's
// connections and drives each through its states,
//   connecting -> exchanging (send while verifying what comes back) -> closed,
// and again while the load lasts (conn mode). Sockets are non-blocking and edge-
// triggered; nothing is allocated per connection or per call once the loop runs.

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/latency_histogram.hpp"
#include "bench/load_plan.hpp"
#include "bench/payload_pattern.hpp"
#include "bench/reply_verifier.hpp"
#include "os/unique_fd.hpp"

namespace labcheck::bench {

// What the threads of one run share.
struct SharedRun {
    SharedRun(const LoadPlan& load_plan, const PayloadPattern& payload);

    const LoadPlan& plan;
    const PayloadPattern& pattern;
    Clock::time_point start{};
    Clock::time_point load_end{};  // conn: no new connection is started after it
    // hold: connections connected or failed so far; the one that makes it K opens `go`.
    std::atomic<std::uint32_t> settled{0};
    UniqueFd go;  // hold: an eventfd, readable once every connection has settled
};

// Totals the main thread reads while the run goes: each is written by its own thread
// only, so an update is a plain store (no locked instruction on the hot path).
struct alignas(64) LiveCounters {
    std::atomic<std::uint64_t> round_trips{0};
    std::atomic<std::uint64_t> connections_made{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> bytes_verified{0};
};

class GeneratorThread {
  public:
    // Clients first_client .. first_client + clients - 1 of the run.
    GeneratorThread(SharedRun& run, std::uint32_t first_client, std::uint32_t clients);
    GeneratorThread(const GeneratorThread&) = delete;
    GeneratorThread& operator=(const GeneratorThread&) = delete;

    // The loop; returns once every connection of its share has ended (in hold mode,
    // served or failed: the served ones stay open until this object goes).
    void run() noexcept;

    const LiveCounters& counters() const { return counters_; }
    const LatencyHistogram& latency() const { return latency_; }
    // conn: the round trips completed before the load's end (the rest finished after it).
    std::uint64_t round_trips_in_window() const { return in_window_; }
    const std::vector<std::string>& error_samples() const { return samples_; }
    Clock::time_point finished_at() const { return finished_at_; }
    // The CPU time this thread used (user and system): how much the generator itself cost.
    std::chrono::nanoseconds cpu_time() const { return cpu_time_; }
    // hold: when this thread's last reply was verified; nullopt when none was.
    std::optional<Clock::time_point> last_served() const { return last_served_; }

  private:
    enum class Phase : std::uint8_t { idle, connecting, waiting, exchanging, served };

    struct Connection {
        UniqueFd fd;
        Phase phase = Phase::idle;
        std::uint32_t generation = 0;  // tells a closed socket's late events from the new one's
        std::uint32_t client = 0;
        std::uint64_t rounds = 0;  // connections this client has made before this one
        std::uint64_t pattern_offset = 0;
        std::uint64_t to_send = 0;
        std::uint64_t sent = 0;
        bool write_closed = false;
        Clock::time_point started{};  // latency is measured from here
        Clock::time_point last_progress{};
        ReplyVerifier reply;
    };

    void loop();
    void open(Connection& c, Clock::time_point now);
    void on_event(Connection& c, std::uint32_t events);
    void connected(Connection& c, Clock::time_point now);
    void begin_exchange(Connection& c, std::uint64_t bytes, Clock::time_point now);
    void pump(Connection& c, Clock::time_point now);
    bool send_some(Connection& c, Clock::time_point now);
    void receive(Connection& c, Clock::time_point now);
    void completed(Connection& c);
    void fail(Connection& c, const std::string& message, Clock::time_point now);
    void next_or_end(Connection& c, Clock::time_point now);
    void settle();
    void on_go();
    void sweep_stalled(Clock::time_point now);
    static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
        counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }

    SharedRun& run_;
    const LoadPlan& plan_;
    UniqueFd epoll_;
    std::vector<Connection> connections_;
    std::vector<std::uint32_t> to_open_;  // connections to (re)open after this batch of events
    std::vector<std::uint32_t> opening_;
    std::vector<char> scratch_;  // where replies land to be verified
    std::array<epoll_event, 256> events_{};
    std::uint32_t active_ = 0;            // connections not yet ended
    std::uint64_t connects_started_ = 0;  // picks each connect's source address
    LiveCounters counters_;
    std::uint64_t in_window_ = 0;
    LatencyHistogram latency_;
    std::vector<std::string> samples_;
    Clock::time_point finished_at_{};
    std::chrono::nanoseconds cpu_time_{};
    std::optional<Clock::time_point> last_served_;
};

}  // namespace labcheck::bench
