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

namespace labcheck {
namespace {
namespace fs = std::filesystem;

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

}  // namespace

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
    return run_checks(run);
}

}  // namespace labcheck
