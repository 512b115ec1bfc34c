#pragma once
// `labcheck bench`: start (or attach to) a server, drive a load against it that
// verifies every byte that comes back, and report rates, latencies and errors.

#include "bench/bench_options.hpp"
#include "lab_catalog.hpp"

namespace labcheck {

// Exit status: 0 every byte verified and no error, 1 some connection failed or a
// byte was wrong. Throws UsageError (exit 2) for bad options, a missing server or one
// that never listens.
int run_bench(const BenchOptions& options, const Kit& kit);

}  // namespace labcheck
