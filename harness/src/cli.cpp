#include "cli.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "checks/check.hpp"
#include "interrupts.hpp"
#include "lab_catalog.hpp"
#include "lab_spec.hpp"
#include "report/report.hpp"
#include "runner.hpp"
#include "server_process.hpp"

namespace labcheck {
namespace {
namespace fs = std::filesystem;

constexpr int kUsageError = 2;

struct CommonOptions {
    std::optional<fs::path> kit;
};

struct CheckOptions {
    std::string lab;
    std::string server;
    bool solution = false;
    int port = 0;
    std::string attach;
    std::string only;
    std::string format = "text";
    std::string user = "nobody";
    int max_procs = 128;
    int timeout_s = 120;
    std::string log_dir;
    std::string colour = "auto";
    std::vector<std::string> command;
};

LabSpec load_spec(const Kit& kit, const std::string& lab) {
    return load_lab_spec(kit.resolve_lab(lab), check_ids());
}

std::vector<std::string> split_ids(const std::string& list, const LabSpec& spec) {
    std::vector<std::string> ids;
    std::string_view rest = list;
    while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string id(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (id.empty()) continue;
        if (!spec.find(id)) {
            std::string known;
            for (const auto& check : spec.checks) known += (known.empty() ? "" : ", ") + check.id;
            throw UsageError(
                fmt::format("lab {} has no check '{}': its checks are {}", spec.id, id, known));
        }
        ids.push_back(id);
    }
    return ids;
}

AttachTarget parse_attach(const std::string& text) {
    auto colon = text.rfind(':');
    AttachTarget target;
    int port = 0;
    if (colon != std::string::npos) {
        auto digits = std::string_view(text).substr(colon + 1);
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (error != std::errc() || end != digits.data() + digits.size()) port = 0;
    }
    if (colon == std::string::npos || port <= 0 || port > 65535)
        throw UsageError(
            fmt::format("--attach wants HOST:PORT, like 127.0.0.1:1205 (got '{}')", text));
    target.host = text.substr(0, colon);
    if (target.host.size() > 2 && target.host.front() == '[' && target.host.back() == ']')
        target.host = target.host.substr(1, target.host.size() - 2);
    target.port = static_cast<std::uint16_t>(port);
    return target;
}

// The server command: `-- CMD ...`, --server PATH, or the lab's built server.
std::vector<std::string> server_command(const CheckOptions& options, const Kit& kit,
                                        const LabSpec& spec) {
    if (!options.command.empty()) {
        bool has_placeholder =
            std::any_of(options.command.begin(), options.command.end(),
                        [](const std::string& a) { return a.find("{port}") != std::string::npos; });
        if (!has_placeholder && options.port == 0)
            throw UsageError(
                "the server command has no {port} placeholder: add one, or give --port N for a "
                "server that always listens on port N");
        std::vector<std::string> command = options.command;
        if (command[0].find('/') == std::string::npos) {
            // Search PATH here: the sandboxed child runs execv, which does not.
            for (std::string_view path = std::getenv("PATH") ? std::getenv("PATH")
                                                             : "/usr/bin:/bin";
                 !path.empty();) {
                auto colon = path.find(':');
                fs::path candidate = fs::path(path.substr(0, colon)) / command[0];
                if (access(candidate.c_str(), X_OK) == 0) {
                    command[0] = candidate.string();
                    break;
                }
                path =
                    colon == std::string_view::npos ? std::string_view() : path.substr(colon + 1);
            }
            if (command[0].find('/') == std::string::npos)
                throw UsageError(fmt::format("cannot find the program '{}' in PATH", command[0]));
        }
        return command;
    }
    fs::path binary;
    if (!options.server.empty()) {
        binary = options.server;
    } else {
        fs::path source = kit.server_source(spec.folder, options.solution);
        if (!fs::exists(source))
            throw UsageError(
                fmt::format("{} has no {} yet ({} is missing): nothing to check", spec.id,
                            options.solution ? "reference solution" : "server", source.string()));
        binary = kit.server_binary(spec.folder, options.solution);
        if (!fs::exists(binary))
            throw UsageError(
                fmt::format("{} is not built: run `make` (or `make check LAB={:02}`) first",
                            binary.string(), spec.number));
    }
    if (!fs::exists(binary))
        throw UsageError(fmt::format(
            "the server {} does not exist: build it first, or check the path", binary.string()));
    if (access(binary.c_str(), X_OK) != 0)
        throw UsageError(fmt::format("the server {} is not executable (chmod +x {})",
                                     binary.string(), binary.string()));
    return {fs::absolute(binary).string(), options.port ? std::to_string(options.port) : "{port}"};
}

bool use_colour(const std::string& choice) {
    if (choice == "always") return true;
    if (choice == "never") return false;
    return isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
}

int run_check(const CheckOptions& options, const CommonOptions& common) {
    Kit kit = Kit::locate(common.kit);
    RunOptions run;
    run.spec = load_spec(kit, options.lab);
    run.only = split_ids(options.only, run.spec);
    if (!options.attach.empty()) {
        if (!options.command.empty() || !options.server.empty() || options.solution)
            throw UsageError(
                "--attach checks a server that is already running: drop --server/--solution/-- "
                "CMD");
        run.attach = parse_attach(options.attach);
    } else {
        run.command = server_command(options, kit, run.spec);
        if (options.port) run.fixed_port = static_cast<std::uint16_t>(options.port);
    }
    run.policy.max_processes = options.max_procs;
    if (geteuid() == 0) run.policy.run_as = resolve_user(options.user);
    run.ceiling = std::chrono::seconds(options.timeout_s);

    // The staging area is the server's working directory, and holds a copy of
    // its binary when the unprivileged user cannot reach the original.
    StagingArea staging;
    run.policy.workdir = staging.path();
    if (!run.command.empty()) {
        for (const auto& argument : run.command)
            run.server_label += (run.server_label.empty() ? "" : " ") + argument;
        run.command = staging.stage(run.command, run.policy.run_as);
        run.policy.limit_memory = !looks_sanitized(run.command[0]);
    }
    run.log_dir = options.log_dir.empty() ? staging.path() : fs::path(options.log_dir);
    fs::create_directories(run.log_dir);

    become_subreaper();
    stop_servers_on_interrupt();
    RunReport report = run_checks(run);
    if (options.format == "json")
        std::cout << render_json(report) << '\n';
    else
        std::cout << render_text(report, TextStyle{use_colour(options.colour)});
    std::cout.flush();
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

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{
        "labcheck: checks a student's TCP server, check by check, with messages that teach"};
    app.require_subcommand(1);
    app.fallthrough();  // --kit may come after the subcommand too
    CommonOptions common;
    app.add_option("--kit", common.kit,
                   "the kit's folder (holds labs/); default: where labcheck was built from");

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
    check_command->add_option("--format", check.format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
    check_command->add_option("--user", check.user,
                              "as root: the user the server runs as (name or uid)");
    check_command
        ->add_option("--max-procs", check.max_procs, "stop a server with more processes than this")
        ->check(CLI::Range(2, 4096));
    check_command->add_option("--timeout", check.timeout_s, "ceiling for the whole run, in seconds")
        ->check(CLI::Range(1, 3600));
    check_command->add_option("--log-dir", check.log_dir,
                              "keep the server's logs here (default: dropped)");
    check_command->add_option("--color", check.colour, "auto, always or never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    check_command->add_option("command", check.command,
                              "after --: the server command; {port} becomes the port");

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
        return run_check(check, common);
    } catch (const std::exception& error) {  // UsageError, SpecError, a server that cannot start
        std::cerr << "labcheck: " << error.what() << '\n';
    }
    return kUsageError;
}

}  // namespace labcheck
