#pragma once
// What `labcheck check` does between reading its options and printing a report:
// find the server (the lab's built binary, --server, `-- CMD` or --attach), stage it
// where the unprivileged user can run it, set the sandbox, and run the lab's checks.
// `progress` and `watch` run a lab's checks through here too, so a lab passes in
// them exactly when `labcheck check` passes it.

#include <string>
#include <vector>

#include "check_result.hpp"
#include "lab_catalog.hpp"
#include "lab_spec.hpp"
#include "server_target.hpp"

namespace labcheck {

struct CheckOptions : TargetOptions {
    std::string only;
    std::string format = "text";
    int timeout_s = 120;
    std::string log_dir;
    std::string colour = "auto";
    std::string trace;  // --trace FILE.svg or FILE.msc: draw what the server did
};

// The spec of the lab `lab` names. Throws UsageError (no such lab) or SpecError.
LabSpec load_spec(const Kit& kit, const std::string& lab);

// --only's "ID,ID,...": throws UsageError naming the lab's checks when one is not among them.
std::vector<std::string> split_ids(const std::string& list, const LabSpec& spec);

class TraceRecorder;

// Runs the checks, with labcheck a subreaper that kills every server on Ctrl-C, and
// tells `trace` (when given) what happens. Throws UsageError (options, a missing or
// unbuilt server), SpecError (lab.toml), or std::runtime_error when the server
// cannot be staged or started at all.
RunReport run_lab_checks(const CheckOptions& options, const Kit& kit,
                         TraceRecorder* trace = nullptr);

}  // namespace labcheck
