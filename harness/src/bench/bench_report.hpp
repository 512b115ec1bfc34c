#pragma once
// What `labcheck bench` prints: the same report as text for a person, or as JSON for
// a script (the shape is stable: the README documents it).

#include <cstdint>
#include <optional>
#include <string>

#include "bench/load_plan.hpp"

namespace labcheck::bench {

struct CeilingResult {
    std::string folder;  // "10-compare": whose reference solution
    std::string server;
    LoadResult result;
};

struct BenchReport {
    std::string server;
    // Why the server stopped during the run (labcheck's process cap, a crash); empty
    // when it was still running at the end, as it should be.
    std::string server_ended;
    LoadPlan plan;
    LoadResult result;
    std::optional<CeilingResult> ceiling;
};

std::string_view to_string(Mode mode);
// The rates. In conn mode they count what completed within the --seconds window, over
// the window: the connections still in flight at its end are finished and verified (and
// count in round_trips, errors and latency), but a straggler, such as a connect whose
// SYN a full accept queue dropped and that is retried a second later, must not stretch
// the time the rate is taken over. Stream and hold count everything, over the whole run.
double conn_per_s(const LoadPlan& plan, const LoadResult& result);
double mb_per_s(const LoadPlan& plan, const LoadResult& result);
// This server's rate as a percentage of the ceiling's: connections/s, or MB/s in stream
// mode. 0 when the ceiling measured nothing.
double percent_of_ceiling(const BenchReport& report);

std::string render_bench_text(const BenchReport& report);
std::string render_bench_json(const BenchReport& report);

}  // namespace labcheck::bench
