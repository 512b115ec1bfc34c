#pragma once
// What an instructor takes away from grading a class: grades.csv (one row per
// student, one column per check), a report per student (Markdown to read, JSON for
// scripts), and summary.md, what the class got wrong at a glance.

#include <filesystem>
#include <string>
#include <vector>

#include "grade/student_result.hpp"

namespace labcheck {

// RFC 4180: student, score, max, outcome, then each check's points ("" when it did
// not run), in the spec's order.
std::string grades_csv(const GradingSpec& spec, const std::vector<StudentResult>& results);

// One student's report, in Markdown: the score, each check, each failure's story.
std::string student_markdown(const GradingSpec& spec, const StudentResult& result);

// For each check, how many failed it and the most common first line of failure
// (numbers written N, so that the same mistake reads the same for every student);
// the score distribution; who was not graded and why.
std::string class_summary(const GradingSpec& spec, const std::vector<StudentResult>& results);

// A student's name as a file name: letters, digits, '.', '-' and '_' kept, the rest '_'.
std::string file_name_of(const std::string& student);

// Writes all of the above into `folder` (created): grades.csv, summary.md, and
// reports/STUDENT.md and reports/STUDENT.json (labcheck's JSON report; for a student
// not graded, the same fields with no checks, plus "outcome" and "reason").
void write_gradebook(const std::filesystem::path& folder, const GradingSpec& spec,
                     const std::vector<StudentResult>& results);

}  // namespace labcheck
