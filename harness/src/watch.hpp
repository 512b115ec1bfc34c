#pragma once
// `labcheck watch LAB`: rebuilds and rechecks a lab each time the student saves its
// server.cpp. Each round: clear the screen (on a terminal), a header with the round's
// number and time, the build (its output shown only when it fails), the checks with
// the usual text report, then a line saying what is watched. The first round runs at
// once. Ctrl-C kills the build and every server, and labcheck exits 130.

#include <string>

#include "lab_catalog.hpp"

namespace labcheck {

struct WatchOptions {
    std::string lab;            // 3, 03, 03-fork-per-client or a lab folder
    std::string only;           // --only ID,ID,...
    std::string build_command;  // --build-command; empty: default_build_command()
    std::string colour = "auto";
};

// `cmake --build <build folder> --target lab-<lab id>`: the lab's CMake target
// (labkit_add_servers_in in the kit's CMakeLists.txt), e.g. lab-01-iterative-echo.
std::string default_build_command(const Kit& kit, const std::string& lab_id);

// Runs until interrupted (the interrupt thread exits the process); returns only on
// an error before the first round or when the lab folder disappears (both throw).
[[noreturn]] void run_watch(const Kit& kit, const WatchOptions& options);

}  // namespace labcheck
