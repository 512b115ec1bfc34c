// The report a student reads in a terminal:
//
//   lab 01-iterative-echo (protocol plain): checking ./server on port 41205
//
//   PASS   listens      10/10  The server listens on its port
//   FAIL   eof           0/20  The server closes after the client's EOF
//          the server did not close the connection within 2 s
//          hint: Step 3: Read until EOF ...
//          server log (last lines):
//            accepted a client
//   FAIL (expected at this stage)  concurrent  Clients are served at the same time
//          client B waited for client A
//          hint: lab 03 fixes this
//
//   score: 80/100 — 1 check failed: eof

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "report/paint.hpp"
#include "report/report.hpp"

namespace labcheck {
namespace {

constexpr std::size_t kStatusWidth = 7;  // "ERROR" and two spaces
const std::string kIndent(kStatusWidth, ' ');

std::string pad(std::string text, std::size_t width) {
    if (text.size() < width) text.append(width - text.size(), ' ');
    return text;
}

std::string pad_left(const std::string& text, std::size_t width) {
    return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    std::vector<std::string_view> lines;
    if (text.empty()) return lines;
    for (;;) {
        const std::size_t end = text.find('\n');
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

// `text` with `first` before its first line and `indent` before the others.
std::string block(std::string_view text, const std::string& first, const std::string& indent,
                  const Painter& paint, std::string_view code) {
    std::string out;
    bool is_first = true;
    for (std::string_view line : lines_of(text)) {
        const std::string& lead = is_first ? first : indent;
        std::string_view body = line;
        if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
        if (body.empty()) {
            out += "\n";
        } else {
            out += paint(code, lead + std::string(body)) + "\n";
        }
        is_first = false;
    }
    return out;
}

std::string points_of(const CheckResult& check) {
    if (check.expected_to_fail) return "-";
    return std::to_string(check.points) + "/" + std::to_string(check.max_points);
}

std::string id_list(const std::vector<std::string>& ids) {
    std::string out;
    for (const std::string& id : ids) {
        if (!out.empty()) out += ", ";
        out += id;
    }
    return out;
}

}  // namespace

std::string render_text(const RunReport& report, TextStyle style) {
    const Painter paint(style.colour);
    std::string out;

    // Header: what was checked, how, where.
    std::string header = "lab " + (report.lab.empty() ? std::string("?") : report.lab);
    if (!report.protocol.empty()) header += " (protocol " + report.protocol + ")";
    if (!report.server.empty() || report.port != 0) {
        header += ": checking";
        if (!report.server.empty()) header += " " + report.server;
        if (report.port != 0) header += " on port " + std::to_string(report.port);
    }
    out += paint(kBold, header) + "\n\n";

    std::size_t id_width = 0;
    std::size_t points_width = 0;
    for (const CheckResult& check : report.checks) {
        id_width = std::max(id_width, check.id.size());
        points_width = std::max(points_width, points_of(check).size());
    }

    std::vector<std::string> failed;
    std::vector<std::string> skipped;
    std::vector<std::string> broken;
    std::string skip_reason;  // of the check just before, when it was skipped
    for (const CheckResult& check : report.checks) {
        const bool expected_failure = check.expected_to_fail && check.status == Status::fail;
        if (!check.expected_to_fail) {
            if (check.status == Status::fail) failed.push_back(check.id);
            if (check.status == Status::skip) skipped.push_back(check.id);
            if (check.status == Status::error) broken.push_back(check.id);
        }

        std::string line;
        if (expected_failure) {
            line = paint(kYellow, "FAIL (expected at this stage)") + "  " + check.id + "  " +
                   check.title;
        } else {
            std::string_view word;
            std::string_view code;
            switch (check.status) {
                case Status::pass:
                    word = "PASS", code = kGreen;
                    break;
                case Status::fail:
                    word = "FAIL", code = kRed;
                    break;
                case Status::skip:
                    word = "SKIP", code = kYellow;
                    break;
                case Status::error:
                    word = "ERROR", code = kBoldRed;
                    break;
            }
            line = paint(code, word) + std::string(kStatusWidth - word.size(), ' ') +
                   pad(check.id, id_width) + "  " + pad_left(points_of(check), points_width) +
                   "  " + check.title;
            if (check.expected_to_fail && check.status == Status::pass) {
                line += paint(kDim, "  (not graded at this stage)");
            }
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
        const std::string previous_skip_reason = std::exchange(
            skip_reason, check.status == Status::skip ? check.message : std::string());

        // Beneath: why, where to look, what the server said.
        const std::string_view detail_code = check.expected_to_fail ? kDim : std::string_view{};
        switch (check.status) {
            case Status::pass:
                break;
            case Status::skip:
                // A run of skips for one reason (the server never listened) says it once.
                if (check.message == previous_skip_reason) break;
                out += block(check.message.empty() ? "skipped" : "skipped: " + check.message,
                             kIndent, kIndent + "  ", paint, detail_code);
                break;
            case Status::fail:
            case Status::error:
                out += block(check.message, kIndent, kIndent, paint, detail_code);
                out +=
                    block(check.hint, kIndent + "hint: ", kIndent + "      ", paint, detail_code);
                if (!lines_of(check.log_tail).empty()) {
                    out += paint(detail_code, kIndent + "server log (last lines):") + "\n";
                    out += block(check.log_tail, kIndent + "  ", kIndent + "  ", paint, kDim);
                }
                break;
        }
    }

    // Summary: the score, then what to work on.
    std::string summary = "score: " + std::to_string(report.score()) + "/" +
                          std::to_string(report.max_score()) + " — ";
    if (report.no_graded_failures() && skipped.empty()) {
        summary += "every graded check passed";
    } else {
        std::vector<std::string> parts;
        const auto count = [&parts](const std::vector<std::string>& ids, std::string_view what) {
            if (ids.empty()) return;
            std::string part = std::to_string(ids.size());
            if (parts.empty()) part += ids.size() == 1 ? " check" : " checks";
            part += " " + std::string(what) + ": " + id_list(ids);
            parts.push_back(std::move(part));
        };
        if (report.no_graded_failures()) parts.push_back("no graded check failed");
        count(failed, "failed");
        count(broken, "could not run");
        count(skipped, "skipped");
        for (std::size_t i = 0; i < parts.size(); ++i) summary += (i > 0 ? "; " : "") + parts[i];
    }
    out += "\n" +
           paint(report.no_graded_failures() ? std::string(kBold) + std::string(kGreen)
                                             : std::string(kBold) + std::string(kRed),
                 summary) +
           "\n";
    return out;
}

}  // namespace labcheck
