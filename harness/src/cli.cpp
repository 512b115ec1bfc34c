#include "cli.hpp"

#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench/bench_command.hpp"
#include "check_command.hpp"
#include "checks/check.hpp"
#include "grade/grade_command.hpp"
#include "interrupts.hpp"
#include "lab_catalog.hpp"
#include "lab_spec.hpp"
#include "observe/observe_command.hpp"
#include "progress.hpp"
#include "report/report.hpp"
#include "terminal.hpp"
#include "trace/trace_file.hpp"
#include "trace/trace_recorder.hpp"
#include "watch.hpp"

namespace labcheck {
namespace {
namespace fs = std::filesystem;

constexpr int kUsageError = 2;

struct CommonOptions {
    std::optional<fs::path> kit;
};

int run_check(const CheckOptions& options, const CommonOptions& common) {
    Kit kit = Kit::locate(common.kit);
    std::optional<TraceRecorder> trace;
    if (!options.trace.empty()) {
        check_trace_path(options.trace);
        // Ctrl-C must reach the interrupt thread alone: its mask is set up before the
        // recorder starts its own thread, which then inherits it.
        stop_servers_on_interrupt();
        trace.emplace();
    }
    RunReport report = run_lab_checks(options, kit, trace ? &*trace : nullptr);
    if (options.format == "json")
        std::cout << render_json(report) << '\n';
    else if (options.format == "gradescope")
        std::cout << render_gradescope(report) << '\n';
    else if (options.format == "junit")
        std::cout << render_junit(report);
    else
        std::cout << render_text(report, TextStyle{use_colour(options.colour)});
    std::cout.flush();
    if (trace) {
        // On stderr: stdout may be JSON that a script parses.
        try {
            // Paths inside the kit are shown from its root: the picture travels.
            std::string server = report.server;
            if (std::string root = kit.root.string() + "/"; server.starts_with(root))
                server.erase(0, root.size());
            write_trace(trace->trace(), fmt::format("labcheck check {}: {}", report.lab, server),
                        options.trace, kit);
            std::cerr << fmt::format("labcheck: the trace is drawn in {}\n", options.trace);
        } catch (const std::runtime_error& error) {
            std::cerr << fmt::format("labcheck: {}\n", error.what());
            return 1;
        }
    }
    return report.no_graded_failures() ? 0 : 1;
}

int run_list(const CommonOptions& common) {
    Kit kit = Kit::locate(common.kit);
    for (const auto& folder : kit.lab_folders()) {
        LabSpec spec = load_lab_spec(folder, check_ids());
        std::cout << fmt::format("{}  {} ({})\n", spec.id, spec.title, to_string(spec.protocol));
        for (const auto& check : spec.checks) {
            const auto* definition = find_check(check.id);
            std::cout << fmt::format(
                "    {:<20} {:>3} pts  {}{}\n", check.id, check.points, definition->title,
                check.expected_to_fail ? "  (shown; expected to fail at this stage)" : "");
        }
    }
    return 0;
}

int run_hint(const std::string& lab, const std::string& check_id, int level,
             const CommonOptions& common) {
    Kit kit = Kit::locate(common.kit);
    LabSpec spec = load_spec(kit, lab);
    const CheckSpec* check = spec.find(check_id);
    if (!check) {
        split_ids(check_id, spec);  // throws "no check 'x': its checks are ..." for a real name
        throw UsageError(fmt::format("name one check of {} (labcheck list shows them)", spec.id));
    }
    int levels = static_cast<int>(check->hints.size());
    if (level < 1 || level > levels)
        throw UsageError(
            fmt::format("{} has hints at levels 1 to {} for {}", spec.id, levels, check_id));
    std::cout << fmt::format("{} — {} — hint {} of {}\n\n{}\n\nIn the lab text: \"{}\" ({}#{})\n",
                             spec.id, check_id, level, levels,
                             check->hints[static_cast<std::size_t>(level - 1)], check->step,
                             (spec.folder / spec.text).string(), check->anchor);
    if (level < levels)
        std::cout << fmt::format("Still stuck? labcheck hint {} {} --level {}\n", spec.number,
                                 check_id, level + 1);
    return 0;
}

void add_colour_option(CLI::App* command, std::string& colour) {
    command->add_option("--color", colour, "auto, always or never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
}

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{
        "labcheck: checks a student's TCP server, check by check, with messages that teach"};
    app.require_subcommand(1);
    app.fallthrough();  // --kit may come after the subcommand too
    CommonOptions common;
    app.add_option("--kit", common.kit,
                   "the kit's folder (holds labs/); default: where labcheck was built from");
    app.footer(
        "Environment:\n"
        "  LABCHECK_KIT    the kit's folder, as --kit\n"
        "  LABCHECK_BUILD  the build folder that holds the built servers (labs/NN-name/server);\n"
        "                  default: build/ in the --kit folder, else where labcheck was built\n"
        "  NO_COLOR        set: no colour, even on a terminal");

    app.add_subcommand("list", "list the labs and their checks");

    CheckOptions check;
    auto* check_command = app.add_subcommand("check", "run a lab's checks against a server");
    check_command->add_option("lab", check.lab, "lab: 3, 03, 03-fork-per-client or a lab folder")
        ->required();
    check_command->add_option("--server", check.server,
                              "the server binary (default: the lab's built server)");
    check_command->add_flag("--solution", check.solution, "check the lab's reference solution");
    check_command
        ->add_option("--port", check.port,
                     "the port the server always listens on (a hard-coded port)")
        ->check(CLI::Range(1, 65535));
    check_command->add_option("--attach", check.attach,
                              "check a server already running at HOST:PORT");
    check_command->add_option("--only", check.only, "run only these checks: ID,ID,...");
    check_command->add_option("--trace", check.trace,
                              "draw what the server did during the checks: FILE.svg, FILE.msc "
                              "for the chart's source, FILE.dot for the process trees");
    check_command
        ->add_option("--format", check.format,
                     "text, json, junit (JUnit XML) or gradescope (Gradescope's results.json)")
        ->check(CLI::IsMember({"text", "json", "junit", "gradescope"}));
    check_command->add_option("--user", check.user,
                              "as root: the user the server runs as (name or uid)");
    check_command
        ->add_option("--max-procs", check.max_procs, "stop a server with more processes than this")
        ->check(CLI::Range(2, 4096));
    check_command->add_option("--timeout", check.timeout_s, "ceiling for the whole run, in seconds")
        ->check(CLI::Range(1, 3600));
    check_command->add_option("--log-dir", check.log_dir,
                              "keep the server's logs here (default: dropped)");
    add_colour_option(check_command, check.colour);
    check_command->add_option("command", check.command,
                              "after --: the server command; {port} becomes the port");

    ProgressOptions progress;
    auto* progress_command =
        app.add_subcommand("progress", "where you stand: one line per lab, then what to do next");
    progress_command->footer(
        "Each lab is: no server.cpp yet; not started (its server.cpp is still the starter);\n"
        "not built (its server is missing or older than server.cpp); passing or failing (its\n"
        "checks, run as `labcheck check NN` runs them: checks expected to fail at that stage\n"
        "do not count, and a skipped check is not a failure). The last line names the first\n"
        "lab that does not pass. Exit status 0 whatever the labs' states; 2 when a lab cannot\n"
        "be checked at all (a malformed lab.toml). Which kit, which build folder: --kit,\n"
        "LABCHECK_KIT, LABCHECK_BUILD (labcheck --help).");
    add_colour_option(progress_command, progress.colour);

    WatchOptions watch;
    auto* watch_command =
        app.add_subcommand("watch", "rebuild and recheck a lab each time you save its server.cpp");
    watch_command->footer(
        "The first round starts at once; then each save of the lab's server.cpp starts one:\n"
        "the build (its output shown only when it fails), then the lab's checks with the\n"
        "report of `labcheck check`. Ctrl-C stops the build and every server; exit status 130.\n"
        "Which kit, which build folder: --kit, LABCHECK_KIT, LABCHECK_BUILD (labcheck --help).");
    watch_command->add_option("lab", watch.lab, "lab: 3, 03, 03-fork-per-client or a lab folder")
        ->required();
    watch_command->add_option("--only", watch.only, "run only these checks: ID,ID,...");
    watch_command->add_option("--build-command", watch.build_command,
                              "the build before each round's checks, run by /bin/sh in the kit's "
                              "folder (default: cmake --build BUILD --target lab-NN-name)");
    add_colour_option(watch_command, watch.colour);

    GradeOptions grade;
    auto* grade_command = app.add_subcommand(
        "grade", "build and check a whole class's submissions, several at once, into a gradebook");
    grade_command->footer(
        "SUBMISSIONS holds one folder, .zip or .tar.gz per student, named after the student,\n"
        "with the student's server.cpp at the top or in a copy of the kit's labs/ tree. Each\n"
        "is compiled with the kit's flags and checked in a scratch folder of its own (as a\n"
        "user of its own when run as root), under time limits. Writes OUT/grades.csv,\n"
        "OUT/summary.md and OUT/reports/STUDENT.{md,json}. Ctrl-C stops everything it started.");
    grade_command->add_option("lab", grade.lab, "lab: 3, 03, 03-fork-per-client or a lab folder")
        ->required();
    grade_command->add_option("submissions", grade.submissions, "the folder of submissions")
        ->required();
    grade_command->add_option("--jobs", grade.jobs, "submissions graded at once (default: cores)")
        ->check(CLI::Range(1, 64));
    grade_command->add_option("--out", grade.out, "the gradebook's folder (default: grades)");
    grade_command->add_option("--spec", grade.spec,
                              "a lab.toml of your own: its checks and points replace the lab's");
    grade_command
        ->add_option("--timeout", grade.timeout_s, "ceiling of one submission's checks, seconds")
        ->check(CLI::Range(10, 3600));

    ObserveOptions observe;
    auto* observe_command = app.add_subcommand(
        "observe", "watch a server live: its processes, its sockets by TCP state, its zombies");
    observe_command->footer(
        "Shows the server's processes as a tree (pid, state with zombies marked, age, the\n"
        "client each one serves), its sockets on the port grouped by TCP state (who holds\n"
        "each, the time a TIME-WAIT has left), counters since observe began (accepted,\n"
        "active, exited, reaped, zombies now) and TCP's state diagram, lit where the\n"
        "sockets are. On a terminal it redraws every --interval ms until q or Ctrl-C, which\n"
        "give the terminal back and stop every process observe started (exit status 0\n"
        "after q, 130 after Ctrl-C). When stdout is not a terminal, or with --format json,\n"
        "it prints a plain snapshot at each refresh instead (text separated by a line of\n"
        "dashes, JSON one object a line) until Ctrl-C; --once prints one and exits 0.\n"
        "Exit status 2: no server named, or it cannot be started.");
    observe_command->add_option(
        "lab", observe.lab, "lab: 3, 03, 03-fork-per-client or a lab folder (its built server)");
    observe_command->add_option("--server", observe.server, "the server binary to start");
    observe_command->add_flag("--solution", observe.solution, "the lab's reference solution");
    observe_command
        ->add_option("--port", observe.port,
                     "the port the server always listens on (a hard-coded port)")
        ->check(CLI::Range(1, 65535));
    observe_command->add_option("--attach", observe.attach,
                                "watch a server already running at HOST:PORT (left running)");
    observe_command->add_option("--user", observe.user,
                                "as root: the user the server runs as (name or uid)");
    observe_command->add_flag("--once", observe.once, "print one snapshot and exit");
    observe_command->add_option("--format", observe.format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
    observe_command->add_option("--interval", observe.interval_ms, "refresh every MS (default 250)")
        ->check(CLI::Range(20, 60000));
    add_colour_option(observe_command, observe.colour);
    observe_command->add_option("command", observe.command,
                                "after --: the server command; {port} becomes the port");
    observe_command->callback(
        [&observe, argc, argv] { move_lab_after_dashes_to_command(observe, argc, argv); });

    BenchOptions bench;
    auto* bench_command = app.add_subcommand(
        "bench", "drive a load against a server and verify every byte that comes back");
    bench_command->footer(
        "Modes: conn (each client loops: connect, a 64-byte round trip, close), stream (each\n"
        "connection sends --mib MiB while reading the reply, then half-closes), hold (open\n"
        "--hold connections, keep them all open, then a round trip on each). Prints\n"
        "connections/s and MB/s (reply bytes verified per second / 1e6; in conn mode over\n"
        "the round trips completed within --seconds), latency p50/p99/max (a round trip:\n"
        "from connect() in conn, from the first byte sent in hold; a whole connection in\n"
        "stream) and the errors, the first few with the offset of a wrong byte.\n"
        "Servers labcheck starts may open 1024 descriptors each. Exit status: 0 every byte\n"
        "verified and no error; 1 a connection failed or a byte was wrong; 2 bad options, no\n"
        "server, or it never listens.");
    bench_command->add_option("lab", bench.lab,
                              "lab: 3, 03, 03-fork-per-client or a lab folder (its built server)");
    bench_command->add_option("--server", bench.server, "the server binary to start");
    bench_command->add_flag("--solution", bench.solution, "the lab's reference solution");
    bench_command->add_option("--attach", bench.attach, "a server already running at HOST:PORT");
    bench_command->add_option("--mode", bench.mode, "conn (default), stream or hold")
        ->check(CLI::IsMember({"conn", "stream", "hold"}));
    bench_command->add_option("--clients", bench.clients, "conn: concurrent clients (default 8)")
        ->check(CLI::Range(1, 100000));
    bench_command->add_option("--seconds", bench.seconds, "conn: how long, e.g. 0.5 (default 3)")
        ->check(CLI::Range(0.001, 3600.0));
    bench_command->add_option("--mib", bench.mib, "stream: MiB each connection sends (default 16)")
        ->check(CLI::Range(1, 1 << 20));
    bench_command
        ->add_option("--connections", bench.connections, "stream: parallel connections (default 1)")
        ->check(CLI::Range(1, 100000));
    bench_command->add_option("--hold", bench.hold, "hold: connections open at once (default 1000)")
        ->check(CLI::Range(1, 1000000));
    bench_command
        ->add_option("--protocol", bench.protocol,
                     "plain or swapcase (default: the lab's; swapcase when no lab is named)")
        ->check(CLI::IsMember({"plain", "swapcase"}));
    bench_command->add_option("--threads", bench.threads, "generator threads (default: cores)")
        ->check(CLI::Range(1, 256));
    bench_command->add_flag("--ceiling", bench.ceiling,
                            "also run the load against the kit's fastest server, for comparison");
    bench_command->add_option("--format", bench.format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
    bench_command
        ->add_option("--port", bench.port, "the port the server always listens on (hard-coded)")
        ->check(CLI::Range(1, 65535));
    bench_command->add_option("--user", bench.user,
                              "as root: the user the server runs as (name or uid)");
    bench_command
        ->add_option("--timeout", bench.timeout_s,
                     "a connection that makes no progress this many seconds fails (default 30)")
        ->check(CLI::Range(1, 3600));
    bench_command->add_option("command", bench.command,
                              "after --: the server command; {port} becomes the port");
    bench_command->callback(
        [&bench, argc, argv] { move_lab_after_dashes_to_command(bench, argc, argv); });

    std::string hint_lab, hint_check;
    int hint_level = 1;
    auto* hint_command = app.add_subcommand("hint", "show a hint for a check, level by level");
    hint_command->add_option("lab", hint_lab, "the lab")->required();
    hint_command->add_option("check", hint_check, "the check id")->required();
    hint_command->add_option("--level", hint_level, "1 nudges; the last nearly gives it away");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::ParseError& error) {
        std::cerr << "labcheck: " << error.what() << " (see labcheck --help)\n";
        return kUsageError;
    }

    try {
        if (app.got_subcommand("list")) return run_list(common);
        if (app.got_subcommand("hint")) return run_hint(hint_lab, hint_check, hint_level, common);
        if (app.got_subcommand("progress"))
            return run_progress(Kit::locate(common.kit), progress, std::cout);
        if (app.got_subcommand("watch")) run_watch(Kit::locate(common.kit), watch);
        if (app.got_subcommand("grade")) return run_grade(grade, Kit::locate(common.kit));
        if (app.got_subcommand("observe")) return run_observe(observe, Kit::locate(common.kit));
        if (app.got_subcommand("bench")) return run_bench(bench, Kit::locate(common.kit));
        return run_check(check, common);
    } catch (const std::exception& error) {  // UsageError, SpecError, a server that cannot start
        std::cerr << "labcheck: " << error.what() << '\n';
    }
    return kUsageError;
}

}  // namespace labcheck
