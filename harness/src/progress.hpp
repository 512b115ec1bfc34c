#pragma once
// `labcheck progress`: where a student stands in the kit, lab by lab, like
// rustlings' list. Each lab is one of
//   no server.cpp yet   the kit has no starter for it (yet)
//   not started         server.cpp is still the starter, byte for byte (lab.toml's
//                       starter_fingerprint; never said of a lab without one)
//   not built           its built server is missing, or older than server.cpp
//   passing / failing   its checks, run exactly as `labcheck check NN` runs them
// and a last line says what to do next. A report, not a verdict: it exits 0
// whatever the labs' states, 2 only when a lab.toml cannot be read.

#include <iosfwd>
#include <string>

#include "lab_catalog.hpp"

namespace labcheck {

struct ProgressOptions {
    std::string colour = "auto";  // --color
};

// Prints one line per lab as soon as it is known (the checks take about a second
// per lab), then the next step. Returns the exit status.
int run_progress(const Kit& kit, const ProgressOptions& options, std::ostream& out);

}  // namespace labcheck
