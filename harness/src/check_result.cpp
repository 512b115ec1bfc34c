#include "check_result.hpp"

#include <algorithm>

namespace labcheck {

std::string_view to_string(Status status) {
    switch (status) {
        case Status::pass:
            return "pass";
        case Status::fail:
            return "fail";
        case Status::skip:
            return "skip";
        case Status::error:
            return "error";
    }
    return "unknown";
}

int RunReport::score() const {
    int total = 0;
    for (const CheckResult& check : checks) total += check.points;
    return total;
}

int RunReport::max_score() const {
    int total = 0;
    for (const CheckResult& check : checks) {
        if (!check.expected_to_fail) total += check.max_points;
    }
    return total;
}

bool RunReport::no_graded_failures() const {
    return std::none_of(checks.begin(), checks.end(), [](const CheckResult& check) {
        return !check.expected_to_fail &&
               (check.status == Status::fail || check.status == Status::error);
    });
}

}  // namespace labcheck
