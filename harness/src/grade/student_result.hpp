#pragma once
// What grading one student's submission came to: graded by labcheck, or stopped
// before (no server.cpp, a bad archive, a compile error), with the reason.

#include <map>
#include <string>
#include <vector>

#include "os/deadline.hpp"

namespace labcheck {

struct GradedCheck {
    std::string status;   // pass, fail, skip, error; "" when the check did not run
    int points = 0;       // earned, by the grading spec
    std::string message;  // labcheck's whole message
};

struct StudentResult {
    std::string student;
    // "graded", or why not: "no server.cpp", "bad archive", "does not compile",
    // "could not be checked".
    std::string outcome = "graded";
    std::string reason;  // for the outcomes other than graded: what the student reads
    std::map<std::string, GradedCheck> checks;  // by check id
    int score = 0;
    Millis compile_time{0};
    Millis check_time{0};
    std::string report_json;  // labcheck's JSON report, when graded

    bool graded() const { return outcome == "graded"; }
};

// The checks graded and their points, in the lab's order.
struct GradingSpec {
    std::string lab;  // "03-fork-per-client"
    std::vector<std::pair<std::string, int>> checks;
    int max_score() const;
};

}  // namespace labcheck
