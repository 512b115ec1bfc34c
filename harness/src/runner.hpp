#pragma once
// Runs a lab's checks against a server and gathers a RunReport. Each check gets a
// fresh server on a fresh port (or the one server it is attached to), so a check
// that breaks the server cannot fail the checks after it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "check_result.hpp"
#include "lab_spec.hpp"
#include "sandbox.hpp"

namespace labcheck {

class TraceRecorder;

struct AttachTarget {
    std::string host;
    std::uint16_t port = 0;
};

struct RunOptions {
    LabSpec spec;
    std::vector<std::string> only;            // check ids; empty: all of the lab's
    std::vector<std::string> command;         // argv, "{port}" replaced per run
    std::string server_label;                 // the server as the user named it, for reports
    std::optional<std::uint16_t> fixed_port;  // for servers that hard-code their port
    std::optional<AttachTarget> attach;       // check a server started elsewhere
    SandboxPolicy policy;
    std::filesystem::path log_dir;              // where server logs go
    std::chrono::milliseconds ceiling{120000};  // the whole run
    std::chrono::milliseconds start_timeout{5000};
    TraceRecorder* trace = nullptr;  // --trace: told when each check begins and ends
};

RunReport run_checks(const RunOptions& options);

}  // namespace labcheck
