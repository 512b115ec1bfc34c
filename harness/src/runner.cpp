#include "runner.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <csignal>

#include <fmt/format.h>

#include "check_failure.hpp"
#include "checks/check.hpp"
#include "procfs/process_table.hpp"
#include "server_process.hpp"
#include "server_start.hpp"
#include "server_view.hpp"
#include "trace/trace_recorder.hpp"

namespace labcheck {
namespace {

class Session {
  public:
    explicit Session(const RunOptions& options) : options_(options) {}

    // Starts a server on a fresh port (or `port`, or the fixed one) and waits
    // for it to listen. Returns the failure, or an empty string.
    std::string start(std::optional<std::uint16_t> port, const std::string& label) {
        started_.process.reset();  // one ServerProcess at a time (it reaps all children)
        LaunchSpec spec{options_.command, options_.policy,
                        options_.log_dir / fmt::format("{}.log", label)};
        started_ = start_server(spec, port ? port : options_.fixed_port, options_.start_timeout);
        return started_.failure;
    }

    std::unique_ptr<ServerProcess>& server() { return started_.process; }
    std::uint16_t port() const { return started_.port; }
    const std::vector<pid_t>& baseline() const { return started_.baseline; }
    void stop() { started_.process.reset(); }

  private:
    const RunOptions& options_;
    StartedServer started_;
};

std::vector<const CheckSpec*> selected_checks(const RunOptions& options) {
    std::vector<const CheckSpec*> selected;
    for (const auto& check : options.spec.checks)
        if (options.only.empty() ||
            std::find(options.only.begin(), options.only.end(), check.id) != options.only.end())
            selected.push_back(&check);
    // restart leaves the server's port in TIME-WAIT on purpose. On a fixed port
    // every later check would start its server on that port, and one without
    // SO_REUSEADDR could not: restart goes last there.
    if (options.fixed_port)
        std::stable_partition(selected.begin(), selected.end(),
                              [](const CheckSpec* check) { return check->id != "restart"; });
    return selected;
}

CheckResult blank_result(const CheckSpec& spec, const CheckDefinition& definition,
                         const LabSpec& lab) {
    CheckResult result;
    result.id = spec.id;
    result.title = std::string(definition.title);
    result.max_points = spec.expected_to_fail ? 0 : spec.points;
    result.expected_to_fail = spec.expected_to_fail;
    if (!spec.step.empty())
        result.hint = fmt::format("reread \"{}\" in labs/{}/{}#{} (more: labcheck hint {} {})",
                                  spec.step, lab.id, lab.text, spec.anchor, lab.number, spec.id);
    return result;
}

// Runs one check, turning its exceptions into a status and message.
void execute(const CheckDefinition& definition, CheckContext& context, CheckResult& result) {
    try {
        result.message = definition.run(context);
        result.status = Status::pass;
    } catch (const CheckFailure& failure) {
        result.status = Status::fail;
        result.message = failure.what();
    } catch (const CheckSkipped& skipped) {
        result.status = Status::skip;
        result.message = skipped.what();
    } catch (const std::exception& error) {
        result.status = Status::error;
        result.message = fmt::format("labcheck could not run this check: {}", error.what());
    }
}

// The frame every check runs in, launched or attached: its identity and hint,
// the run's ceiling, its points and its timing. `body` decides the status.
template <typename Body>
RunReport for_each_check(const RunOptions& options, Body body) {
    RunReport report;
    auto ceiling = Deadline::after(options.ceiling);
    for (const CheckSpec* spec : selected_checks(options)) {
        const CheckDefinition& definition = *find_check(spec->id);
        CheckResult result = blank_result(*spec, definition, options.spec);
        auto started = Clock::now();
        if (ceiling.expired()) {
            result.status = Status::error;
            result.message = fmt::format("not run: the whole run passed its ceiling of {} s",
                                         options.ceiling.count() / 1000);
        } else {
            body(*spec, definition, result, report);
        }
        if (result.status == Status::pass) result.points = result.max_points;
        result.duration = std::chrono::duration_cast<Millis>(Clock::now() - started);
        report.checks.push_back(std::move(result));
    }
    return report;
}

RunReport run_launched(const RunOptions& options) {
    Session session(options);
    std::string never_listened;
    return for_each_check(options, [&](const CheckSpec& spec, const CheckDefinition& definition,
                                       CheckResult& result, RunReport& report) {
        TraceRecorder* trace = options.trace;
        if (!never_listened.empty()) {
            result.status = Status::skip;
            result.message = "not run: the server did not start listening (see listens)";
            if (trace) trace->check_not_run(spec.id, "skip");
            return;
        }
        if (std::string failure = session.start(std::nullopt, spec.id); !failure.empty()) {
            result.status = Status::fail;
            result.message =
                fmt::format("started `{}`: {}", session.server()->command_line(), failure);
            result.log_tail = session.server()->log_tail();
            if (spec.id == "listens" || report.checks.empty()) never_listened = failure;
            if (trace) trace->check_not_run(spec.id, "the server did not start");
            session.stop();
            return;
        }
        report.port = session.port();
        CheckContext context{options.spec.protocol,
                             "127.0.0.1",
                             session.port(),
                             ServerView::launched(session.port()),
                             session.baseline(),
                             &session.server(),
                             {}};
        context.relaunch = [&] {
            std::uint16_t port = session.port();
            session.stop();
            if (std::string reason = session.start(port, spec.id + "-restarted"); !reason.empty())
                throw CheckFailure(reason);
            context.baseline = session.baseline();
            if (trace) trace->server_restarted(session.server()->pid());
        };
        if (trace) trace->begin_check(spec.id, context.view, session.server()->pid());
        execute(definition, context, result);

        auto& server = *session.server();
        if (auto count = server.tripped_at()) {
            result.status = Status::fail;
            result.message = fmt::format(
                "the server ran {} processes at once, past the cap of {}, and was stopped. Does "
                "only the parent loop on accept()? Does every child exit when its client "
                "leaves?\n(what the check saw: {})",
                *count, options.policy.max_processes, result.message);
        }
        if (trace) trace->end_check(std::string(to_string(result.status)));
        if (result.status == Status::fail || result.status == Status::error) {
            // A crash explains a failure. An exit may come from the check's own clients
            // resetting their connections as it ends, and SIGPIPE likewise: not worth a word.
            // A server that is dying (exiting, or already a zombie) is given a moment to
            // be reaped, so the note does not depend on the watcher's timing: a crash
            // resets the clients while the kernel is still tearing the process down.
            auto root = procfs::read_process(server.pid());
            auto status = (!root || root->is_zombie() || root->is_exiting())
                              ? server.wait_exit(Deadline::after(Millis(500)))
                              : server.wait_status();
            if (status && WIFSIGNALED(*status) && WTERMSIG(*status) != SIGPIPE &&
                WTERMSIG(*status) != SIGKILL && spec.id != "shutdown")
                result.message +=
                    fmt::format("\nmeanwhile the server process {}", describe_wait_status(*status));
            result.log_tail = server.log_tail();
        }
        session.stop();
    });
}

RunReport run_attached(const RunOptions& options) {
    const auto& target = *options.attach;
    bool local = target.host == "127.0.0.1" || target.host == "::1" || target.host == "localhost";
    std::optional<pid_t> root = local ? find_listening_process(target.port) : std::nullopt;
    pid_t root_pid = root.value_or(-1);
    std::string host = target.host == "localhost" ? "127.0.0.1" : target.host;
    std::unique_ptr<ServerProcess> none;
    CheckContext context{options.spec.protocol,
                         host,
                         target.port,
                         ServerView::attached(target.port, root.value_or(-1)),
                         {},
                         &none,
                         {}};

    RunReport report = for_each_check(
        options,
        [&](const CheckSpec&, const CheckDefinition& definition, CheckResult& result, RunReport&) {
            TraceRecorder* trace = options.trace;
            if (definition.needs_launch) {
                if (trace) trace->check_not_run(std::string(definition.id), "skip");
                result.status = Status::skip;
                result.message =
                    "not possible with --attach: this check starts or stops the server itself";
            } else if (definition.needs_processes && !root) {
                result.status = Status::skip;
                result.message =
                    local ? fmt::format(
                                "labcheck cannot see the process listening on port {} (run "
                                "labcheck as the user who started the server)",
                                target.port)
                          : "labcheck sees processes only on this machine (attach to 127.0.0.1)";
            } else {
                // The server has lived through the checks before this one: judge this
                // check against what it left, as a fresh server is judged against idle.
                if (root) context.baseline = settle_baseline(context.view);
                if (trace && root)
                    trace->begin_check(std::string(definition.id), context.view, root_pid);
                execute(definition, context, result);
                if (trace) trace->end_check(std::string(to_string(result.status)));
            }
        });
    report.port = target.port;
    return report;
}

}  // namespace

RunReport run_checks(const RunOptions& options) {
    auto started = Clock::now();
    RunReport report = options.attach ? run_attached(options) : run_launched(options);
    report.lab = options.spec.id;
    report.protocol = std::string(to_string(options.spec.protocol));
    if (options.attach) {
        report.server = fmt::format("{}:{} (attached)", options.attach->host, options.attach->port);
    } else if (!options.server_label.empty()) {
        report.server = options.server_label;
    } else {
        for (const auto& argument : options.command)
            report.server += (report.server.empty() ? "" : " ") + argument;
    }
    report.duration = std::chrono::duration_cast<Millis>(Clock::now() - started);
    return report;
}

}  // namespace labcheck
