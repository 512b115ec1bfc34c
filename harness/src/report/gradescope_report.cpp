// Gradescope's results.json (gradescope-autograders.readthedocs.io, "Autograder
// Specifications"): a top-level score, execution_time in seconds, output, and one
// test per check with name, number, score, max_score, status ("passed" or
// "failed"), output and visibility. A check shown but not graded at this stage has
// max_score 0, is "passed", and says so in its name; a skipped check that is graded
// scores 0, is "failed", and says why.

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "report/check_story.hpp"
#include "report/report.hpp"

namespace labcheck {
namespace {

// Gradescope knows only passed and failed. A check shown but not graded at this
// stage is not held against the student, whatever it found.
bool passed(const CheckResult& check) {
    return check.expected_to_fail || check.status == Status::pass;
}

}  // namespace

std::string render_gradescope(const RunReport& report) {
    nlohmann::ordered_json tests = nlohmann::ordered_json::array();
    int number = 0;
    for (const CheckResult& check : report.checks) {
        ++number;
        std::string name = fmt::format("{}: {}", check.id, check.title);
        if (check.expected_to_fail) name += " (shown, not graded at this stage)";
        tests.push_back({
            {"name", name},
            {"number", std::to_string(number)},
            {"score", check.points},
            {"max_score", check.max_points},
            {"status", passed(check) ? "passed" : "failed"},
            {"output", fmt::format("{}{}\n{}", check.expected_to_fail ? "not graded yet: " : "",
                                   to_string(check.status), check_story(check))},
            {"output_format", "text"},
            {"tags", {check.id}},
            {"visibility", "visible"},
        });
    }
    int graded = 0, failed = 0;
    for (const CheckResult& check : report.checks) {
        if (check.expected_to_fail) continue;
        ++graded;
        if (check.status != Status::pass) ++failed;
    }
    // Rounded up: a run that took any time at all did not take 0 s.
    auto seconds = (report.duration.count() + 999) / 1000;
    const nlohmann::ordered_json json = {
        {"score", report.score()},
        {"execution_time", seconds},
        {"output", fmt::format("labcheck check {}: {}/{} points; {} of {} graded checks did not "
                               "pass",
                               report.lab, report.score(), report.max_score(), failed, graded)},
        {"output_format", "text"},
        {"visibility", "visible"},
        {"stdout_visibility", "hidden"},
        {"tests", std::move(tests)},
    };
    return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace labcheck
