#include "progress.hpp"

#include <algorithm>
#include <optional>
#include <ostream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "check_command.hpp"
#include "checks/check.hpp"
#include "fingerprint.hpp"
#include "report/paint.hpp"
#include "terminal.hpp"

namespace labcheck {
namespace {
namespace fs = std::filesystem;

constexpr int kConfigurationError = 2;

enum class State { no_source, not_started, not_built, passing, failing, cannot_check };

struct Lab {
    fs::path folder;
    std::optional<LabSpec> spec;  // unset when lab.toml cannot be read
    State state = State::cannot_check;
    std::string detail;  // what the state line says

    std::string number() const { return folder.filename().string().substr(0, 2); }
    std::string title() const { return spec ? spec->title : folder.filename().string(); }
};

// The states a lab can be in without running a check; nullopt when its checks must run.
std::optional<State> state_before_checks(const Kit& kit, const LabSpec& spec) {
    const fs::path source = kit.server_source(spec.folder, false);
    if (!fs::exists(source)) return State::no_source;
    if (spec.starter_fingerprint && fingerprint_of_file(source) == *spec.starter_fingerprint)
        return State::not_started;
    const fs::path binary = kit.server_binary(spec.folder, false);
    if (!fs::exists(binary) || fs::last_write_time(binary) < fs::last_write_time(source))
        return State::not_built;
    return std::nullopt;
}

// The report as progress counts it: graded checks only (expected_to_fail ones are
// shown in `check`, not counted here), and a skipped check is not a failure.
void judge(const RunReport& report, Lab& lab) {
    int graded = 0;
    int passed = 0;
    int skipped = 0;
    std::vector<std::string> failed;
    for (const CheckResult& check : report.checks) {
        if (check.expected_to_fail) continue;
        ++graded;
        if (check.status == Status::pass) ++passed;
        if (check.status == Status::skip) ++skipped;
        if (check.status == Status::fail || check.status == Status::error)
            failed.push_back(check.id);
    }
    if (report.no_graded_failures()) {
        lab.state = State::passing;
        lab.detail = fmt::format("passing ({} of {} graded checks{})", passed, graded,
                                 skipped ? fmt::format(", {} skipped", skipped) : "");
    } else {
        lab.state = State::failing;
        // A check skipped because an earlier one failed (a server that never listens)
        // is neither passed nor failed: say it did not run.
        lab.detail = fmt::format("failing {} of {} graded checks: {}{}", failed.size(), graded,
                                 fmt::join(failed, ", "),
                                 skipped ? fmt::format(" ({} not run)", skipped) : "");
    }
}

// Decides a lab's state when no check needs to run: true when it did. Never throws:
// what goes wrong is the lab's state.
bool settle_without_checks(const Kit& kit, Lab& lab) {
    try {
        std::optional<State> state = state_before_checks(kit, *lab.spec);
        if (!state) return false;
        lab.state = *state;
        lab.detail = *state == State::no_source     ? "no server.cpp yet"
                     : *state == State::not_started ? "not started"
                                                    : "not built: `make progress` rebuilds it";
    } catch (const std::exception& error) {
        lab.state = State::cannot_check;
        lab.detail = fmt::format("cannot check: {}", error.what());
    }
    return true;
}

// Runs the lab's checks as `labcheck check NN` does. Never throws, as above.
void settle_by_checks(const Kit& kit, Lab& lab) {
    try {
        CheckOptions options;
        options.lab = lab.folder.string();
        judge(run_lab_checks(options, kit), lab);
    } catch (const std::exception& error) {
        lab.state = State::cannot_check;
        lab.detail = fmt::format("cannot check: {}", error.what());
    }
}

std::string_view colour_of(State state) {
    switch (state) {
        case State::passing:
            return kGreen;
        case State::failing:
            return kRed;
        case State::not_built:
        case State::not_started:
            return kYellow;
        case State::no_source:
            return kDim;
        case State::cannot_check:
            return kBoldRed;
    }
    return "";
}

// The last line: the first lab that does not pass, and the command that helps with it.
std::string next_step(const std::vector<Lab>& labs, const Painter& paint) {
    auto next = std::find_if(labs.begin(), labs.end(),
                             [](const Lab& lab) { return lab.state != State::passing; });
    if (next == labs.end()) return paint(kGreen, "every lab passes: well done.") + "\n";
    std::string lab = fmt::format("lab {} ({})", next->number(), next->title());
    std::string check = fmt::format("`make check LAB={}`", next->number());
    std::string what;
    switch (next->state) {
        case State::not_started:
            what =
                fmt::format("read labs/{}/{}, write your server in labs/{}/server.cpp, then run {}",
                            next->spec->id, next->spec->text, next->spec->id, check);
            break;
        case State::not_built:
            what = fmt::format(
                "run {}: it builds your server, shows any compiler error, and "
                "checks it",
                check);
            break;
        case State::failing:
            what = fmt::format("run {} to see what fails and why", check);
            break;
        case State::no_source:
            what = "the kit has no server.cpp for it yet";
            break;
        case State::cannot_check:
            what = "labcheck could not check it (see above)";
            break;
        case State::passing:
            break;
    }
    return fmt::format("{} {}: {}\n", paint(kBold, "next:"), lab, what);
}

}  // namespace

int run_progress(const Kit& kit, const ProgressOptions& options, std::ostream& out) {
    // run_lab_checks makes labcheck a subreaper that stops servers on Ctrl-C before it
    // starts any server: nothing here needs that before the first lab's checks.
    const Painter paint(use_colour(options.colour));
    // Checks take a while: on a terminal, say which lab is being checked meanwhile.
    const bool show_checking = stdout_is_terminal();

    std::vector<Lab> labs;
    for (const auto& folder : kit.lab_folders()) {
        Lab lab;
        lab.folder = folder;
        try {
            lab.spec = load_lab_spec(folder, check_ids());
        } catch (const std::exception& error) {
            lab.detail = fmt::format("cannot check: {}", error.what());
        }
        labs.push_back(std::move(lab));
    }
    std::size_t title_width = 0;
    for (const Lab& lab : labs) title_width = std::max(title_width, lab.title().size());

    for (Lab& lab : labs) {
        std::string lead = fmt::format("{}  {:<{}}  ", lab.number(), lab.title(), title_width);
        if (lab.spec && !settle_without_checks(kit, lab)) {
            if (show_checking) out << lead << paint(kDim, "checking...") << std::flush;
            settle_by_checks(kit, lab);
            if (show_checking) out << "\r\x1b[K";  // back to the line's start, erased
        }
        out << lead << paint(colour_of(lab.state), lab.detail) << '\n' << std::flush;
    }
    out << '\n' << next_step(labs, paint) << std::flush;

    bool unreadable = std::any_of(labs.begin(), labs.end(),
                                  [](const Lab& lab) { return lab.state == State::cannot_check; });
    return unreadable ? kConfigurationError : 0;
}

}  // namespace labcheck
