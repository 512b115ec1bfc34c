#include "watch.hpp"

#include <time.h>

#include <iostream>

#include <fmt/format.h>

#include "build_command.hpp"
#include "check_command.hpp"
#include "interrupts.hpp"
#include "report/paint.hpp"
#include "report/report.hpp"
#include "save_watcher.hpp"
#include "server_process.hpp"
#include "terminal.hpp"

namespace labcheck {
namespace {
namespace fs = std::filesystem;

// How much of a failed build to show: the first error is what matters, and it
// comes first; the rest scrolls the report off the screen.
constexpr std::size_t kBuildLinesShown = 30;

constexpr std::string_view kClearScreen = "\x1b[H\x1b[2J";

std::string time_of_day() {
    time_t now = time(nullptr);
    tm local{};
    localtime_r(&now, &local);
    char text[16];
    return strftime(text, sizeof text, "%H:%M:%S", &local) ? text : "";
}

// labs/NN-x/server.cpp when the lab is in the kit, the full path otherwise.
std::string shown_path(const Kit& kit, const fs::path& file) {
    fs::path relative = file.lexically_relative(kit.root);
    return relative.empty() || *relative.begin() == ".." ? file.string() : relative.string();
}

// The first lines of a failed build's output, and how many more there were.
std::string first_lines(const BuildOutcome& build) {
    std::string shown;
    std::size_t lines = 0;
    std::size_t at = 0;
    for (; at < build.output.size() && lines < kBuildLinesShown; ++lines) {
        std::size_t end = build.output.find('\n', at);
        if (end == std::string::npos) end = build.output.size();
        shown += "  " + build.output.substr(at, end - at) + "\n";
        at = end + 1;
    }
    std::size_t more = 0;
    for (; at < build.output.size(); ++more) {
        std::size_t end = build.output.find('\n', at);
        at = end == std::string::npos ? build.output.size() : end + 1;
    }
    if (more || build.truncated)
        shown += fmt::format("  ... {}{} more lines (run the build command to see them all)\n",
                             build.truncated ? "over " : "", more);
    return shown;
}

class Rounds {
  public:
    Rounds(const Kit& kit, const WatchOptions& options, const LabSpec& spec)
        : kit_(kit),
          colour_(use_colour(options.colour)),
          source_(kit.server_source(spec.folder, false)),
          build_command_(options.build_command.empty() ? default_build_command(kit, spec.id)
                                                       : options.build_command),
          paint_(colour_) {
        check_.lab = spec.folder.string();
        check_.only = options.only;
        check_.colour = options.colour;
    }

    void run(int number) {
        std::ostream& out = std::cout;
        if (stdout_is_terminal())
            out << kClearScreen;
        else if (number > 1)
            out << '\n';  // in a log, a blank line between rounds
        out << paint_(kBold, fmt::format("labcheck watch: round {} at {}", number, time_of_day()))
            << '\n'
            << "build: " << build_command_ << '\n'
            << std::flush;
        if (build()) check();
        out << '\n'
            << paint_(kDim, fmt::format("watching {} — save to recheck, Ctrl-C to stop",
                                        shown_path(kit_, source_)))
            << '\n'
            << std::flush;
    }

  private:
    bool build() {
        BuildOutcome outcome = run_build(build_command_, kit_.root);
        if (outcome.succeeded()) return true;
        std::cout << paint_(kBoldRed, fmt::format("the build failed ({}):",
                                                  describe_wait_status(outcome.wait_status)))
                  << '\n'
                  << first_lines(outcome)
                  << "fix the first error above and save: nothing was checked this round.\n";
        return false;
    }

    void check() {
        std::cout << '\n';
        try {
            RunReport report = run_lab_checks(check_, kit_);
            std::cout << render_text(report, TextStyle{colour_});
        } catch (const std::exception& error) {
            // A round that cannot check (the build made no binary) is no reason to stop.
            std::cout << paint_(kBoldRed, fmt::format("labcheck: {}", error.what())) << '\n';
        }
    }

    const Kit& kit_;
    bool colour_;
    fs::path source_;
    std::string build_command_;
    Painter paint_;
    CheckOptions check_;
};

}  // namespace

std::string default_build_command(const Kit& kit, const std::string& lab_id) {
    return fmt::format("cmake --build {} --target lab-{}",
                       shell_quote(fs::absolute(kit.build).string()), lab_id);
}

void run_watch(const Kit& kit, const WatchOptions& options) {
    const LabSpec spec = load_spec(kit, options.lab);
    split_ids(options.only, spec);  // a wrong id is a usage error now, not each round
    // Before any thread starts: every thread then inherits the blocked signals.
    become_subreaper();
    stop_servers_on_interrupt();
    // Watching starts before the first round, so a save made during it is not missed.
    SaveWatcher saves(spec.folder, kit.server_source(spec.folder, false).filename().string());
    Rounds rounds(kit, options, spec);
    for (int number = 1;; ++number) {
        rounds.run(number);
        saves.wait_for_save();
    }
}

}  // namespace labcheck
