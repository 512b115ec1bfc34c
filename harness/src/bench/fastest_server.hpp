#pragma once
// --ceiling's yardstick: the kit's fastest server, so a result can say how close a
// server comes to what this machine and this generator can do at all.

#include <string>

#include "lab_catalog.hpp"
#include "server_target.hpp"

namespace labcheck::bench {

struct FastestServer {
    std::string folder;     // "10-compare"
    TargetOptions options;  // starts its built reference solution
};

// The built reference solution of the highest-numbered lab among solutions/10-compare
// and solutions/08-poll. Throws UsageError when neither is built. `like` gives the
// user and port options.
FastestServer find_fastest_server(const Kit& kit, const TargetOptions& like);

}  // namespace labcheck::bench
