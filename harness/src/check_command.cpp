#include "check_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "checks/check.hpp"
#include "interrupts.hpp"
#include "runner.hpp"
#include "server_process.hpp"
#include "server_target.hpp"

namespace labcheck {
namespace fs = std::filesystem;

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

RunReport run_lab_checks(const CheckOptions& options, const Kit& kit, TraceRecorder* trace) {
    RunOptions run;
    run.trace = trace;
    run.spec = load_spec(kit, options.lab);
    run.only = split_ids(options.only, run.spec);
    if (!options.attach.empty()) {
        if (!options.command.empty() || !options.server.empty() || options.solution)
            throw UsageError(
                "--attach checks a server that is already running: drop --server/--solution/-- "
                "CMD");
        run.attach = parse_attach(options.attach);
    } else {
        run.command = server_command(options, kit, &run.spec);
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
    return run_checks(run);
}

}  // namespace labcheck
