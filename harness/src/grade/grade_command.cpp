#include "grade/grade_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "check_command.hpp"
#include "checks/check.hpp"
#include "grade/archive.hpp"
#include "grade/child_process.hpp"
#include "grade/gradebook.hpp"
#include "grade/submissions.hpp"
#include "interrupts.hpp"
#include "os/errors.hpp"
#include "sandbox.hpp"
#include "server_process.hpp"
#include "terminal.hpp"

namespace labcheck {
namespace {
namespace fs = std::filesystem;

// The kit's flags for lab servers (CMakeLists.txt): C++20, warnings on, optimised.
const std::vector<std::string> kCompile = {"/usr/bin/env", "g++",    "-std=c++20", "-O2",
                                           "-g",           "-Wall",  "-Wextra",    "-pthread",
                                           "-o",           "server", "server.cpp"};
constexpr Millis kCompileLimit{120000};
// Each job slot has a user of its own when labcheck is root, so that one student's
// processes never count against another's limits (RLIMIT_NPROC is per user). A
// free range of uids without passwd entries does.
constexpr uid_t kFirstGraderUid = 61000;

std::string read_text(const fs::path& path, std::size_t cap = 1 << 20) {
    std::ifstream in(path, std::ios::binary);
    std::string text;
    text.resize(cap);
    in.read(text.data(), static_cast<std::streamsize>(cap));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
}

// The compiler's first errors, as a student reads them.
std::string first_errors(const std::string& output) {
    std::string kept;
    int lines = 0;
    std::size_t start = 0;
    bool in_error = false;
    while (start < output.size() && lines < 30) {
        auto end = output.find('\n', start);
        std::string line = output.substr(start, end == std::string::npos ? end : end - start);
        start = end == std::string::npos ? output.size() : end + 1;
        if (line.find("error") != std::string::npos) in_error = true;
        if (in_error) {
            kept += line + "\n";
            ++lines;
        }
    }
    return kept.empty() ? output.substr(0, 4000) : kept;
}

std::string check_list(const LabSpec& lab) {
    std::string ids;
    for (const auto& check : lab.checks) ids += (ids.empty() ? "" : ", ") + check.id;
    return ids;
}

GradingSpec grading_spec(const LabSpec& lab, const std::optional<LabSpec>& override_spec) {
    GradingSpec spec;
    spec.lab = lab.id;
    for (const auto& check : (override_spec ? *override_spec : lab).checks)
        if (!check.expected_to_fail) spec.checks.emplace_back(check.id, check.points);
    return spec;
}

class Grader {
  public:
    Grader(const GradeOptions& options, const Kit& kit, LabSpec lab, GradingSpec spec,
           fs::path work)
        : options_(options),
          kit_(kit),
          lab_(std::move(lab)),
          spec_(std::move(spec)),
          work_(std::move(work)) {}

    StudentResult grade(const Submission& submission, int slot, std::size_t index) {
        StudentResult result;
        result.student = submission.student;
        fs::path scratch = work_ / fmt::format("{:04}-{}", index, file_name_of(submission.student));
        fs::create_directories(scratch);
        std::optional<RunAs> user = user_of(slot);
        if (user && chown(scratch.c_str(), user->uid, user->gid) != 0)
            throw_errno("chown " + scratch.string());
        // Its own user alone may enter: another student's server cannot read this one.
        fs::permissions(scratch, fs::perms::owner_all, fs::perm_options::replace);

        fs::path root = submission.entry;
        if (submission.archive) {
            root = scratch / "unpacked";
            fs::create_directories(root);
            try {
                unpack_archive(submission.entry, root);
            } catch (const ArchiveError& error) {
                return turned_away(result, "bad archive", error.what());
            }
        }
        auto source = find_server_source(root, lab_.number);
        if (!source)
            return turned_away(
                result, "no server.cpp",
                fmt::format("no server.cpp for lab {:02} in {}: looked for server.cpp at the top, "
                            "labs/{:02}-*/server.cpp, and a single server.cpp anywhere",
                            lab_.number, submission.entry.filename().string(), lab_.number));
        fs::copy_file(*source, scratch / "server.cpp", fs::copy_options::overwrite_existing);
        if (user) chown((scratch / "server.cpp").c_str(), user->uid, user->gid);

        SandboxPolicy compile_box;
        compile_box.run_as = user;
        compile_box.max_processes = 32;
        compile_box.workdir = scratch;
        auto compiled = run_child(kCompile, scratch, scratch / "compile.out",
                                  scratch / "compile.err", kCompileLimit, &compile_box);
        result.compile_time = compiled.took;
        if (!compiled.succeeded())
            return turned_away(
                result, "does not compile",
                compiled.timed_out
                    ? fmt::format("the compiler ran past {} s", kCompileLimit.count() / 1000)
                    : first_errors(read_text(scratch / "compile.err")));

        std::vector<std::string> check = {self_path(),
                                          "--kit",
                                          kit_.root.string(),
                                          "check",
                                          lab_.id,
                                          "--server",
                                          (scratch / "server").string(),
                                          "--format",
                                          "json",
                                          "--timeout",
                                          std::to_string(options_.timeout_s),
                                          "--only",
                                          only()};
        if (user) check.insert(check.end(), {"--user", std::to_string(user->uid)});
        auto checked = run_child(check, scratch, scratch / "report.json", scratch / "labcheck.err",
                                 Millis(options_.timeout_s * 1000L + 30000));
        result.check_time = checked.took;
        std::string json = read_text(scratch / "report.json");
        nlohmann::json report = nlohmann::json::parse(json, nullptr, false);
        if (checked.timed_out || report.is_discarded() || !report.contains("checks"))
            return turned_away(result, "could not be checked",
                               checked.timed_out ? "labcheck did not finish in time"
                                                 : read_text(scratch / "labcheck.err", 2000));
        result.report_json = json;
        for (const auto& entry : report["checks"]) {
            std::string id = entry.value("id", "");
            GradedCheck graded{entry.value("status", ""), 0, entry.value("message", "")};
            for (const auto& [spec_id, points] : spec_.checks)
                if (spec_id == id && graded.status == "pass") graded.points = points;
            result.score += graded.points;
            result.checks[id] = graded;
        }
        return result;
    }

  private:
    static StudentResult turned_away(StudentResult& result, const std::string& outcome,
                                     const std::string& reason) {
        result.outcome = outcome;
        result.reason = reason;
        result.score = 0;
        return result;
    }

    std::optional<RunAs> user_of(int slot) const {
        if (geteuid() != 0) return std::nullopt;
        uid_t uid = kFirstGraderUid + static_cast<uid_t>(slot);
        return RunAs{uid, static_cast<gid_t>(uid), std::to_string(uid)};
    }

    std::string only() const {
        std::string ids;
        for (const auto& [id, points] : spec_.checks) ids += (ids.empty() ? "" : ",") + id;
        return ids;
    }

    static std::string self_path() { return fs::read_symlink("/proc/self/exe").string(); }

    const GradeOptions& options_;
    const Kit& kit_;
    LabSpec lab_;
    GradingSpec spec_;
    fs::path work_;
};

double seconds(Millis duration) {
    return static_cast<double>(duration.count()) / 1000.0;
}

// Progress: a line rewritten in place on a terminal, a line per student otherwise.
class Progress {
  public:
    Progress(std::size_t total, bool terminal) : total_(total), terminal_(terminal) {}

    void done(const StudentResult& result, const GradingSpec& spec) {
        std::lock_guard lock(mutex_);
        ++done_;
        if (result.score < spec.max_score()) ++below_;
        if (!terminal_) {
            std::cout << fmt::format("{}: {}/{}{} (compile {:.1f} s, checks {:.1f} s)\n",
                                     result.student, result.score, spec.max_score(),
                                     result.graded() ? "" : " — " + result.outcome,
                                     seconds(result.compile_time), seconds(result.check_time));
            std::cout.flush();
            return;
        }
        auto elapsed = std::chrono::duration_cast<Millis>(Clock::now() - started_);
        auto left = elapsed * static_cast<long>(total_ - done_) / static_cast<long>(done_);
        std::cout << fmt::format("\r\x1b[Kgraded {}/{} · {} below full marks · about {} s left",
                                 done_, total_, below_, left.count() / 1000);
        if (done_ == total_) std::cout << '\n';
        std::cout.flush();
    }

  private:
    std::mutex mutex_;
    std::size_t total_, done_ = 0, below_ = 0;
    bool terminal_;
    Clock::time_point started_ = Clock::now();
};

}  // namespace

int run_grade(const GradeOptions& options, const Kit& kit) {
    LabSpec lab = load_spec(kit, options.lab);
    std::optional<LabSpec> override_spec;
    if (!options.spec.empty()) {
        fs::path file = options.spec;
        if (!fs::is_regular_file(file))
            throw UsageError(fmt::format("--spec {}: no such file", options.spec));
        override_spec = parse_lab_spec(read_text(file), file.string(), check_ids());
        for (const auto& check : override_spec->checks)
            if (!lab.find(check.id))
                throw SpecError(fmt::format("{}: check '{}' is not one of lab {}'s checks ({})",
                                            file.string(), check.id, lab.id, check_list(lab)));
    }
    GradingSpec spec = grading_spec(lab, override_spec);
    if (spec.checks.empty())
        throw SpecError(fmt::format("{} grades no check: give at least one check points",
                                    options.spec.empty() ? lab.id : options.spec));
    auto submissions = find_submissions(options.submissions);
    if (submissions.empty())
        throw UsageError(
            fmt::format("{} holds no submission: one folder, .zip or .tar.gz per student",
                        options.submissions));

    become_subreaper();
    stop_servers_on_interrupt();
    StagingArea work;  // under /tmp; the graders' users may enter it, not list it
    Grader grader(options, kit, lab, spec, work.path());
    int jobs =
        options.jobs > 0 ? options.jobs : static_cast<int>(std::thread::hardware_concurrency());
    jobs = std::clamp(jobs, 1, static_cast<int>(submissions.size()));
    Progress progress(submissions.size(), stdout_is_terminal());

    std::vector<StudentResult> results(submissions.size());
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> workers;
    for (int slot = 0; slot < jobs; ++slot)
        workers.emplace_back([&, slot] {
            for (std::size_t i; (i = next++) < submissions.size();) {
                try {
                    results[i] = grader.grade(submissions[i], slot, i);
                } catch (const std::exception& error) {
                    results[i].student = submissions[i].student;
                    results[i].outcome = "could not be checked";
                    results[i].reason = error.what();
                }
                progress.done(results[i], spec);
            }
        });
    for (auto& worker : workers) worker.join();
    kill_every_descendant();  // what a killed labcheck may have left

    write_gradebook(options.out, spec, results);
    std::cout << fmt::format(
        "grades: {} submissions graded into {}/ (grades.csv, summary.md, reports/)\n",
        results.size(), options.out);
    return 0;
}

}  // namespace labcheck
