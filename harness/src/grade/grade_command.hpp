#pragma once
// `labcheck grade LAB SUBMISSIONS`: builds and checks a whole class's submissions,
// several at once, each in a scratch folder of its own, compiled and checked as a
// user of its own when labcheck is root, each step under a time limit. One
// student's hang, fork bomb or flood costs that student alone, and nothing is left
// running when grading ends. Writes the gradebook (gradebook.hpp).

#include <string>

#include "lab_catalog.hpp"

namespace labcheck {

struct GradeOptions {
    std::string lab;
    std::string submissions;
    int jobs = 0;  // 0: the number of cores
    std::string out = "grades";
    std::string spec;     // an instructor's lab.toml with other points; "" for the lab's
    int timeout_s = 300;  // ceiling of one submission's checks
    std::string colour = "auto";
};

// Returns the exit status: 0 when every submission was graded or turned away with a
// reason. Throws UsageError (options, a missing folder) or SpecError (--spec).
int run_grade(const GradeOptions& options, const Kit& kit);

}  // namespace labcheck
