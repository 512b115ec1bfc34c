// The JSON report. DESIGN.md fixes its core; this renderer adds, and the README documents:
//   "port"              the port the server was given (0 when not known)
//   "protocol"          "plain" or "swapcase"
//   checks[].expected_to_fail  true for a check shown but not graded at this stage; its
//                       max_points is then 0 and it counts in neither score nor max_score
//   checks[].log_tail   the server's last output lines when the check failed, else ""
// Text that is not valid UTF-8 (a server's log can hold any bytes) is written with U+FFFD
// in place of the bad bytes, so the output always parses.

#include <nlohmann/json.hpp>

#include "report/report.hpp"

namespace labcheck {

std::string render_json(const RunReport& report) {
    nlohmann::ordered_json checks = nlohmann::ordered_json::array();
    for (const CheckResult& check : report.checks) {
        checks.push_back({
            {"id", check.id},
            {"title", check.title},
            {"status", to_string(check.status)},
            {"points", check.points},
            {"max_points", check.max_points},
            {"expected_to_fail", check.expected_to_fail},
            {"message", check.message},
            {"hint", check.hint},
            {"log_tail", check.log_tail},
            {"duration_ms", check.duration.count()},
        });
    }
    const nlohmann::ordered_json json = {
        {"lab", report.lab},
        {"server", report.server},
        {"port", report.port},
        {"protocol", report.protocol},
        {"score", report.score()},
        {"max_score", report.max_score()},
        {"duration_ms", report.duration.count()},
        {"checks", std::move(checks)},
    };
    return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace labcheck
