#include "bench_command.hpp"

#include <algorithm>
#include <iostream>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_report.hpp"
#include "bench/connector.hpp"
#include "bench/descriptor_limit.hpp"
#include "bench/fastest_server.hpp"
#include "bench/load_run.hpp"
#include "bench/progress_line.hpp"
#include "interrupts.hpp"
#include "server_process.hpp"

namespace labcheck {
namespace {

using bench::Mode;

Mode parse_mode(const std::string& name) {
    if (name == "stream") return Mode::stream;
    if (name == "hold") return Mode::hold;
    if (name == "conn") return Mode::conn;
    throw UsageError(fmt::format("--mode is conn, stream or hold (got '{}')", name));
}

std::uint32_t concurrent_connections(const BenchOptions& options, Mode mode) {
    switch (mode) {
        case Mode::conn:
            return static_cast<std::uint32_t>(options.clients);
        case Mode::stream:
            return static_cast<std::uint32_t>(options.connections);
        case Mode::hold:
            return static_cast<std::uint32_t>(options.hold);
    }
    return 1;
}

// The server's process cap (above it labcheck stops the server as a fork bomb): a
// server with a process per client needs one per connection labcheck holds open, and
// in conn mode a few more for children that have not been reaped yet.
int process_budget(const BenchOptions& options, Mode mode, std::uint32_t connections) {
    const int needed = static_cast<int>(connections) * (mode == Mode::hold ? 1 : 2) + 64;
    return std::max(options.max_procs, needed);
}

// Starts the server, or says in one line why it cannot be (exit status 2).
LiveServer start_server(const TargetOptions& target, const Kit& kit, Protocol fallback) {
    try {
        return LiveServer::start(target, kit, fallback);
    } catch (const UsageError&) {
        throw;
    } catch (const std::runtime_error& error) {
        // "LABEL: it exited with status 1 before listening on port N; its log ends:\n..."
        std::string line = error.what();
        line = line.substr(0, line.find('\n'));
        if (const auto log = line.rfind("; its log ends:"); log != std::string::npos)
            line.erase(log);
        throw UsageError(line);
    }
}

// Why a server labcheck started is gone at the end of the run; empty while it runs.
std::string how_it_ended(const LiveServer& server, int max_procs) {
    const ServerProcess* process = server.process();
    if (!process) return "";
    if (auto count = process->tripped_at())
        return fmt::format(
            "was stopped by labcheck during the run: it had {} processes, more than the cap of {} "
            "(a fork bomb, or children that are never reaped)",
            *count, max_procs);
    if (auto status = process->wait_status())
        return fmt::format("{} during the run", describe_wait_status(*status));
    return "";
}

bench::LoadPlan make_plan(const BenchOptions& options, Mode mode, const LiveServer& server,
                          Protocol protocol, std::uint32_t connections) {
    bench::LoadPlan plan;
    plan.mode = mode;
    bench::resolve_target(server.host(), server.port(), plan);
    plan.protocol = protocol;
    plan.connections = connections;
    plan.length = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(mode == Mode::conn ? options.seconds : 0));
    plan.stream_bytes = mode == Mode::stream ? std::uint64_t(options.mib) * 1024 * 1024 : 0;
    plan.threads = options.threads > 0 ? static_cast<unsigned>(options.threads)
                                       : std::max(1u, std::thread::hardware_concurrency());
    plan.stall_timeout = std::chrono::seconds(options.timeout_s);
    return plan;
}

}  // namespace

int run_bench(const BenchOptions& options, const Kit& kit) {
    // Before any thread starts, so that Ctrl-C reaches the thread that stops the servers.
    stop_servers_on_interrupt();
    const Mode mode = parse_mode(options.mode);
    std::optional<Protocol> forced;
    if (!options.protocol.empty()) {
        forced = parse_protocol(options.protocol);
        if (!forced)
            throw UsageError(
                fmt::format("--protocol is plain or swapcase (got '{}')", options.protocol));
    }
    const std::uint32_t connections = concurrent_connections(options, mode);
    bench::require_descriptors(connections, bench::raise_descriptor_limit());
    std::optional<bench::FastestServer> fastest;
    if (options.ceiling) fastest = bench::find_fastest_server(kit, options);

    bench::BenchReport report;
    {
        TargetOptions target = options;  // the server part of the options, with its cap
        target.max_procs = process_budget(options, mode, connections);
        LiveServer server = start_server(target, kit, forced.value_or(Protocol::swapcase));
        report.server = server.label();
        report.plan =
            make_plan(options, mode, server, forced.value_or(server.protocol()), connections);
        if (server.attached())
            bench::require_listening(report.plan, options.attach, std::chrono::seconds(5));
        bench::ProgressLine progress(report.plan);
        report.result =
            bench::run_load(report.plan, [&](const bench::LoadProgress& p) { progress.show(p); });
        report.server_ended = how_it_ended(server, target.max_procs);
    }  // stopped before the ceiling's server starts: they would share the cores
    if (fastest) {
        fastest->options.max_procs = process_budget(options, mode, connections);
        LiveServer server = start_server(fastest->options, kit, Protocol::swapcase);
        bench::LoadPlan plan = make_plan(options, mode, server, server.protocol(), connections);
        bench::ProgressLine progress(plan);
        report.ceiling = bench::CeilingResult{
            fastest->folder, server.label(),
            bench::run_load(plan, [&](const bench::LoadProgress& p) { progress.show(p); })};
    }

    if (options.format == "json")
        std::cout << bench::render_bench_json(report) << '\n';
    else
        std::cout << bench::render_bench_text(report);
    std::cout.flush();
    // A server that died during the run failed it, even if no connection saw it.
    return report.result.errors == 0 && report.server_ended.empty() ? 0 : 1;
}

}  // namespace labcheck
