#pragma once
// Renderers of a RunReport: what a student reads in a terminal, the stable JSON that
// instructors' scripts read, and the formats grading platforms read. They only
// format; every fact comes from the report.

#include <string>

#include "check_result.hpp"

namespace labcheck {

// The JSON of DESIGN.md ("lab", "server", "score", "max_score", "duration_ms", "checks"
// with "id", "title", "status", "points", "max_points", "message", "hint", "duration_ms"),
// plus "port", "protocol", and per check "expected_to_fail" and "log_tail".
// Pretty-printed with 2 spaces, keys in that order; ends without a newline.
std::string render_json(const RunReport& report);

// Gradescope's results.json (see gradescope_report.cpp for the fields).
std::string render_gradescope(const RunReport& report);

// JUnit XML for CI servers and GitHub Classroom (see junit_report.cpp).
std::string render_junit(const RunReport& report);

struct TextStyle {
    bool colour = false;  // ANSI colours and bold (for a terminal)
};

// A header line, one line per check with what went wrong beneath a failing one, and a
// summary line ("score: 70/100 — 2 checks failed: concurrent, eof"). Ends with a newline.
std::string render_text(const RunReport& report, TextStyle style);

}  // namespace labcheck
