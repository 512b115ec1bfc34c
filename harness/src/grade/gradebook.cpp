#include "grade/gradebook.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "os/text_file.hpp"

namespace labcheck {
namespace fs = std::filesystem;

namespace {

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    return line.size() > 160 ? line.substr(0, 157) + "..." : line;
}

// A failure's first line with its numbers (pids, ports, counts, times) written N, so
// that the same mistake made by two students reads the same.
std::string shape_of(const std::string& message) {
    std::string shape;
    for (char c : first_line(message)) {
        bool digit = std::isdigit(static_cast<unsigned char>(c)) != 0;
        if (!digit)
            shape += c;
        else if (shape.empty() || shape.back() != 'N')
            shape += 'N';
    }
    return shape;
}

// Markdown table cells hold no line breaks and no pipes.
std::string cell(const std::string& text) {
    std::string out;
    for (char c : first_line(text)) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

}  // namespace

int GradingSpec::max_score() const {
    return std::accumulate(checks.begin(), checks.end(), 0,
                           [](int sum, const auto& check) { return sum + check.second; });
}

std::string file_name_of(const std::string& student) {
    std::string name;
    for (char c : student)
        name += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'
                    ? c
                    : '_';
    if (name.empty() || name.front() == '.') name = "_" + name;
    return name;
}

std::string grades_csv(const GradingSpec& spec, const std::vector<StudentResult>& results) {
    std::string csv = "student,score,max,outcome";
    for (const auto& [id, points] : spec.checks) csv += "," + id;
    csv += "\r\n";
    for (const auto& result : results) {
        csv += fmt::format("{},{},{},{}", csv_field(result.student), result.score, spec.max_score(),
                           csv_field(result.outcome));
        for (const auto& [id, points] : spec.checks) {
            auto check = result.checks.find(id);
            csv += ",";
            if (check != result.checks.end() && !check->second.status.empty())
                csv += std::to_string(check->second.points);
        }
        csv += "\r\n";
    }
    return csv;
}

std::string student_markdown(const GradingSpec& spec, const StudentResult& result) {
    std::string md = fmt::format("# {}: lab {}, {}/{}\n\n", result.student, spec.lab, result.score,
                                 spec.max_score());
    if (!result.graded()) {
        md += fmt::format("Not graded: **{}**.\n\n```\n{}\n```\n", result.outcome, result.reason);
        return md;
    }
    md += "| check | result | points |\n| --- | --- | --- |\n";
    for (const auto& [id, points] : spec.checks) {
        auto check = result.checks.find(id);
        std::string status = check == result.checks.end() ? "not run" : check->second.status;
        int earned = check == result.checks.end() ? 0 : check->second.points;
        md += fmt::format("| {} | {} | {}/{} |\n", id, status, earned, points);
    }
    for (const auto& [id, points] : spec.checks) {
        auto check = result.checks.find(id);
        if (check == result.checks.end() || check->second.status == "pass") continue;
        md += fmt::format("\n## {} ({})\n\n```\n{}\n```\n", id, check->second.status,
                          check->second.message);
    }
    return md;
}

std::string class_summary(const GradingSpec& spec, const std::vector<StudentResult>& results) {
    std::size_t graded = static_cast<std::size_t>(
        std::count_if(results.begin(), results.end(), [](const auto& r) { return r.graded(); }));
    std::string md = fmt::format("# Lab {}: the class at a glance\n\n", spec.lab);
    md += fmt::format("{} submissions, {} graded by labcheck. Full marks: {} points.\n\n",
                      results.size(), graded, spec.max_score());

    md += "## What the class got wrong\n\n";
    md += "| check | points | did not pass | most common failure |\n| --- | --- | --- | --- |\n";
    for (const auto& [id, points] : spec.checks) {
        int failed = 0;
        std::map<std::string, int> firsts;
        for (const auto& result : results) {
            if (!result.graded()) continue;
            auto check = result.checks.find(id);
            if (check == result.checks.end() || check->second.status == "pass") continue;
            ++failed;
            ++firsts[shape_of(check->second.message)];
        }
        std::string common;
        int most = 0;
        for (const auto& [line, count] : firsts)
            if (count > most) std::tie(common, most) = std::tie(line, count);
        md += fmt::format("| {} | {} | {} of {} | {} |\n", id, points, failed, graded,
                          failed ? fmt::format("{} ({}×)", cell(common), most) : "");
    }

    md += "\n## Scores\n\n| score | students |\n| --- | --- |\n";
    int max = std::max(spec.max_score(), 1);
    std::vector<int> buckets(11, 0);  // 0-9 %, ..., 90-99 %, 100 %
    for (const auto& result : results) ++buckets[static_cast<std::size_t>(result.score * 10 / max)];
    for (std::size_t bucket = 11; bucket-- > 0;) {
        std::string range =
            bucket == 10 ? "100 %" : fmt::format("{}–{} %", bucket * 10, bucket * 10 + 9);
        md += fmt::format("| {} | {} {} |\n", range, buckets[bucket],
                          std::string(static_cast<std::size_t>(buckets[bucket]), '#'));
    }

    std::vector<const StudentResult*> ungraded;
    for (const auto& result : results)
        if (!result.graded()) ungraded.push_back(&result);
    if (!ungraded.empty()) {
        md += "\n## Not graded\n\n| student | why |\n| --- | --- |\n";
        for (const auto* result : ungraded)
            md += fmt::format("| {} | {}: {} |\n", cell(result->student), result->outcome,
                              cell(result->reason));
    }
    return md;
}

void write_gradebook(const fs::path& folder, const GradingSpec& spec,
                     const std::vector<StudentResult>& results) {
    fs::create_directories(folder / "reports");
    write_text_file(folder / "grades.csv", grades_csv(spec, results));
    write_text_file(folder / "summary.md", class_summary(spec, results));
    for (const auto& result : results) {
        std::string name = file_name_of(result.student);
        write_text_file(folder / "reports" / (name + ".md"), student_markdown(spec, result));
        if (!result.report_json.empty()) {
            write_text_file(folder / "reports" / (name + ".json"), result.report_json);
            continue;
        }
        // Not graded: the same shape as labcheck's report, with no check, and why.
        nlohmann::ordered_json json = {{"lab", spec.lab},
                                       {"server", ""},
                                       {"score", 0},
                                       {"max_score", spec.max_score()},
                                       {"outcome", result.outcome},
                                       {"reason", result.reason},
                                       {"checks", nlohmann::ordered_json::array()}};
        write_text_file(folder / "reports" / (name + ".json"),
                        json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    }
}

}  // namespace labcheck
