#pragma once
// `labcheck observe`: a live view of a server, as `ps` and `ss` would show it, refreshed
// every --interval ms until `q` or Ctrl-C: its process tree, its sockets by TCP state,
// running counters and the TCP state diagram lit where its sockets are (observation.hpp
// computes it, text_view and json_view show it, live_terminal owns the screen).

#include <string>

#include "lab_catalog.hpp"
#include "server_target.hpp"

namespace labcheck {

struct ObserveOptions : TargetOptions {
    bool once = false;            // one look, printed, then exit
    std::string format = "text";  // or "json"
    int interval_ms = 250;
    std::string colour = "auto";
};

// Returns 0 after `q` (or when the reader of its output goes); Ctrl-C ends labcheck with
// 130 through the interrupt thread. Throws UsageError, or std::runtime_error when the
// server cannot be started; every process it started is gone when it returns or throws.
int run_observe(const ObserveOptions& options, const Kit& kit);

}  // namespace labcheck
