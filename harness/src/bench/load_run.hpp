#pragma once
// A whole run of the load generator: its threads, each with its share of the
// connections, started together and waited for, then their tallies merged.

#include <functional>

#include "bench/load_plan.hpp"

namespace labcheck::bench {

// Runs `plan` until every connection has ended. While it runs, `on_progress` is called
// from the calling thread about four times a second with the totals so far.
LoadResult run_load(const LoadPlan& plan,
                    const std::function<void(const LoadProgress&)>& on_progress = {});

}  // namespace labcheck::bench
