#pragma once
// One step of grading a submission (its compiler, or a `labcheck check` of it) run
// as a child process with a time limit: in a process group of its own, input from
// /dev/null, output and errors into files. Many run at once, so nothing here touches
// processes other than the child's own group.

#include <filesystem>
#include <string>
#include <vector>

#include "os/deadline.hpp"
#include "sandbox.hpp"

namespace labcheck {

struct ChildOutcome {
    int wait_status = 0;
    bool timed_out = false;  // killed at the limit
    Millis took{0};
    bool succeeded() const;  // exited with status 0, in time
};

// Runs argv[0] (a path) with `argv`, inside `sandbox` when given (its user and
// limits). Past `limit` its group gets SIGTERM, and SIGKILL 5 s later. Throws
// std::system_error when it cannot be started at all.
ChildOutcome run_child(const std::vector<std::string>& argv, const std::filesystem::path& workdir,
                       const std::filesystem::path& output, const std::filesystem::path& errors,
                       Millis limit, const SandboxPolicy* sandbox = nullptr);

}  // namespace labcheck
