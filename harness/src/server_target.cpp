#include "server_target.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "check_command.hpp"
#include "server_process.hpp"

namespace labcheck {
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

std::vector<std::string> server_command(const TargetOptions& options, const Kit& kit,
                                        const LabSpec* spec) {
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
    } else if (!spec) {
        throw UsageError("name a lab, --server PATH, --attach HOST:PORT or -- CMD ... {port}");
    } else {
        fs::path source = kit.server_source(spec->folder, options.solution);
        if (!fs::exists(source))
            throw UsageError(
                fmt::format("{} has no {} yet ({} is missing): nothing to check", spec->id,
                            options.solution ? "reference solution" : "server", source.string()));
        binary = kit.server_binary(spec->folder, options.solution);
        if (!fs::exists(binary))
            throw UsageError(
                fmt::format("{} is not built: run `make` (or `make check LAB={:02}`) first",
                            binary.string(), spec->number));
    }
    if (!fs::exists(binary))
        throw UsageError(fmt::format(
            "the server {} does not exist: build it first, or check the path", binary.string()));
    if (access(binary.c_str(), X_OK) != 0)
        throw UsageError(fmt::format("the server {} is not executable (chmod +x {})",
                                     binary.string(), binary.string()));
    return {fs::absolute(binary).string(), options.port ? std::to_string(options.port) : "{port}"};
}

void move_lab_after_dashes_to_command(TargetOptions& options, int argc, char** argv) {
    if (options.lab.empty()) return;
    for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i)
        if (argv[i] == options.lab) return;  // before "--": a lab indeed
    options.command.insert(options.command.begin(), options.lab);
    options.lab.clear();
}

LiveServer LiveServer::start(const TargetOptions& options, const Kit& kit, Protocol fallback) {
    LiveServer live;
    std::optional<LabSpec> spec;
    if (!options.lab.empty()) spec = load_spec(kit, options.lab);
    live.protocol_ = spec ? spec->protocol : fallback;
    if (!options.attach.empty()) {
        if (!options.command.empty() || !options.server.empty() || options.solution)
            throw UsageError(
                "--attach watches a server that is already running: drop --server/--solution/-- "
                "CMD");
        AttachTarget target = parse_attach(options.attach);
        live.host_ = target.host;
        live.port_ = target.port;
        live.label_ = fmt::format("{}:{} (attached)", target.host, target.port);
        std::optional<pid_t> root = find_listening_process(target.port);
        live.view_ = ServerView::attached(target.port, root.value_or(-1));
        return live;
    }
    std::vector<std::string> command = server_command(options, kit, spec ? &*spec : nullptr);
    for (const auto& argument : command) live.label_ += (live.label_.empty() ? "" : " ") + argument;
    if (std::string root = kit.root.string() + "/"; live.label_.starts_with(root))
        live.label_.erase(0, root.size());

    SandboxPolicy policy;
    policy.max_processes = options.max_procs;
    if (geteuid() == 0) policy.run_as = resolve_user(options.user);
    live.staging_ = std::make_unique<StagingArea>();
    policy.workdir = live.staging_->path();
    command = live.staging_->stage(command, policy.run_as);
    policy.limit_memory = !looks_sanitized(command[0]);

    become_subreaper();
    LaunchSpec launch{command, policy, live.staging_->path() / "server.log"};
    std::optional<std::uint16_t> fixed;
    if (options.port) fixed = static_cast<std::uint16_t>(options.port);
    live.started_ = start_server(launch, fixed, std::chrono::seconds(5));
    if (!live.started_.failure.empty()) {
        std::string log = live.started_.process ? live.started_.process->log_tail(6) : "";
        throw std::runtime_error(fmt::format("{}: {}{}{}", live.label_, live.started_.failure,
                                             log.empty() ? "" : "; its log ends:\n", log));
    }
    live.port_ = live.started_.port;
    for (auto at = live.label_.find("{port}"); at != std::string::npos;
         at = live.label_.find("{port}", at))
        live.label_.replace(at, 6, std::to_string(live.port_));
    live.view_ = ServerView::launched(live.port_);
    return live;
}

LiveServer::~LiveServer() {
    started_.process.reset();  // stops the whole tree before its staging folder goes
}

}  // namespace labcheck
