#pragma once
// What a run of labcheck found: one CheckResult per check, gathered in a RunReport.
// Renderers (report/) turn it into text, JSON, JUnit, Gradescope; checks never format.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace labcheck {

enum class Status { pass, fail, skip, error };
std::string_view to_string(Status status);  // "pass" "fail" "skip" "error"

struct CheckResult {
    std::string id;
    std::string title;
    Status status = Status::skip;
    int points = 0;
    int max_points = 0;
    bool expected_to_fail = false;  // shown at this stage, not graded
    std::string message;            // what was sent, what came back, what was expected
    std::string hint;               // where in the lab text to look
    std::string log_tail;           // the server's last output lines, on failure
    std::chrono::milliseconds duration{0};
};

struct RunReport {
    std::string lab;     // "03-fork-per-client"
    std::string server;  // path or command line
    int port = 0;
    std::string protocol;
    std::vector<CheckResult> checks;
    std::chrono::milliseconds duration{0};

    int score() const;
    int max_score() const;
    // No graded (not expected-to-fail) check failed or errored: labcheck's exit
    // status 0. A skipped check (not applicable, or impossible with --attach) is
    // listed, but does not fail the run.
    bool no_graded_failures() const;
};

}  // namespace labcheck
