// Checks on the life and death of serving processes: children are reaped, even
// when their SIGCHLDs merge into one, and the signal does not break accept().

#include <signal.h>

#include <algorithm>

#include <fmt/format.h>

#include "check_failure.hpp"
#include "check_observer.hpp"
#include "checks/probes.hpp"

namespace labcheck {
namespace {

// The processes of the tree that are not part of its idle baseline.
std::vector<pid_t> beyond_baseline(const CheckContext& context, const Snapshot& snapshot) {
    std::vector<pid_t> extra;
    for (const auto& process : snapshot.processes)
        if (!context.in_baseline(process.pid)) extra.push_back(process.pid);
    return extra;
}

// Zombies this check made: an attached server may carry older ones in its baseline.
std::vector<pid_t> new_zombies(const CheckContext& context, const Snapshot& snapshot) {
    auto zombies = snapshot.zombies();
    std::erase_if(zombies, [&](pid_t pid) { return context.in_baseline(pid); });
    return zombies;
}

std::string explain_leftovers(const CheckContext& context, const Snapshot& snapshot,
                              std::string_view when) {
    auto zombies = new_zombies(context, snapshot);
    auto extra = beyond_baseline(context, snapshot);
    std::erase_if(extra, [&](pid_t pid) {
        return std::find(zombies.begin(), zombies.end(), pid) != zombies.end();
    });
    std::string text;
    if (!zombies.empty())
        text += fmt::format(
            "{} zombie(s) {}: {}\nA child that has exited stays a zombie until its "
            "parent collects its exit status with wait()/waitpid().",
            zombies.size(), when, describe_processes(snapshot, zombies));
    if (!extra.empty())
        text += fmt::format(
            "{}{} process(es) still running {} that were not there when the server was "
            "idle: {}\nA child should exit once its client has gone.",
            text.empty() ? "" : "\n", extra.size(), when, describe_processes(snapshot, extra));
    return text;
}

std::string no_zombies(CheckContext& context) {
    for (int i = 1; i <= 3; ++i)
        converse(context, fmt::format("client {} of 3", i), client_message(i));
    Snapshot snapshot;
    bool clean = poll_patiently(Deadline::after(kSettleBudget), [&] {
        snapshot = context.view.snapshot();
        return beyond_baseline(context, snapshot).empty();
    });
    if (clean) return "3 clients came and went; no zombie and no extra process remains";
    throw CheckFailure(explain_leftovers(
        context, snapshot, fmt::format("{} ms after 3 clients left", kSettleBudget.count())));
}

// Keeps a process stopped for as long as it lives, and continues it after.
class StoppedProcess {
  public:
    explicit StoppedProcess(pid_t pid) : pid_(pid) {
        if (send_signal(pid_, SIGSTOP) != 0)
            throw CheckSkipped(
                fmt::format("labcheck may not stop pid {} (it belongs to another user)", pid_));
        poll_patiently(Deadline::after(kSettleBudget), [&] {
            auto process = procfs::read_process(pid_);
            return !process || process->state == 'T';
        });
    }
    ~StoppedProcess() { resume(); }
    void resume() {
        if (pid_ > 0) send_signal(std::exchange(pid_, -1), SIGCONT);
    }

  private:
    pid_t pid_;
};

// The children serving `clients`; skips the check when the server does not
// create a process per client (threads, poll, a pre-forked pool).
std::vector<pid_t> children_created_for(const CheckContext& context,
                                        const std::vector<Connection>& clients) {
    std::vector<pid_t> children;
    // Polled briefly: a double-forking server hands each connection over in two steps.
    bool found = poll_until(Deadline::after(Millis(300)), [&] {
        auto snapshot = context.view.snapshot();
        children.clear();
        for (const auto& client : clients) {
            auto serving = find_serving(snapshot, client);
            auto created =
                std::find_if(serving.processes.begin(), serving.processes.end(), [&](pid_t pid) {
                    const auto* process = snapshot.find(pid);
                    return !context.in_baseline(pid) && process && !process->is_zombie();
                });
            if (created == serving.processes.end()) return false;
            children.push_back(*created);
        }
        return true;
    });
    if (!found)
        throw CheckSkipped(
            "not applicable: the server does not create a process per client, so no "
            "child exits and no SIGCHLD arrives");
    return children;
}

bool gone_or_zombie(pid_t pid) {
    auto process = procfs::read_process(pid);
    return !process || process->is_zombie();
}

std::string zombie_burst(CheckContext& context) {
    constexpr int kClients = 8;
    pid_t listener = require_listener(context);
    // One client first: a server without a process per client is told so at
    // once, instead of timing out on the clients it cannot serve together.
    std::vector<Connection> clients;
    clients.push_back(connect_and_echo(context, "client 1 (leaving together)", client_message(1)));
    children_created_for(context, clients);
    for (int number = 2; number <= kClients; ++number)
        clients.push_back(connect_and_echo(
            context, fmt::format("client {} of {} (leaving together)", number, kClients),
            client_message(number)));
    auto children = children_created_for(context, clients);

    // With the parent stopped, every child's exit raises the same pending
    // SIGCHLD: when the parent continues, it receives exactly one.
    StoppedProcess stopped(listener);
    auto leaving = Deadline::after(kReplyBudget);
    for (auto& client : clients) client.shutdown_write();
    for (auto& client : clients) {
        client.receive_until_eof(64 * 1024, leaving);
        client.close_gracefully();
    }
    bool all_exited = poll_patiently(Deadline::after(kSettleBudget), [&] {
        return std::all_of(children.begin(), children.end(), gone_or_zombie);
    });
    if (!all_exited)
        throw CheckFailure(
            fmt::format("the children serving {} clients did not exit within {} ms of their "
                        "clients' EOF (see the eof check)",
                        kClients, kSettleBudget.count()));
    stopped.resume();

    Snapshot snapshot;
    bool clean = poll_patiently(Deadline::after(kSettleBudget), [&] {
        snapshot = context.view.snapshot();
        return new_zombies(context, snapshot).empty();
    });
    if (clean) return fmt::format("{} children exited at once; all were reaped", kClients);
    auto zombies = new_zombies(context, snapshot);
    if (zombies.size() == static_cast<std::size_t>(kClients))
        throw CheckFailure(fmt::format(
            "{} clients left while the server was stopped. {} ms after the server continued, "
            "none of the {} children has been reaped: {}\nNothing collects the children that "
            "exit: install a SIGCHLD handler that calls waitpid(-1, &status, WNOHANG) in a loop "
            "until it returns 0.",
            kClients, kSettleBudget.count(), kClients, describe_processes(snapshot, zombies)));
    throw CheckFailure(fmt::format(
        "{} clients left at the same moment while the server was stopped, so their {} SIGCHLD "
        "signals merged into one. {} ms after the server continued, {} of the {} children are "
        "still zombies: {}\nSignals of one kind do not queue: one wait() per SIGCHLD reaps one "
        "child. Loop on waitpid(-1, &status, WNOHANG) until it returns 0.",
        kClients, kClients, kSettleBudget.count(), zombies.size(), kClients,
        describe_processes(snapshot, zombies)));
}

// Blocked inside a system call (accept, poll, ...), where a signal interrupts it.
bool blocked_in_syscall(pid_t pid) {
    auto process = procfs::read_process(pid);
    if (!process || process->state != 'S') return false;
    auto syscall = procfs::read_syscall(pid);
    return !syscall || (!syscall->running && syscall->number >= 0);
}

std::string accept_after_signal(CheckContext& context) {
    pid_t listener = require_listener(context);
    std::vector<Connection> one;
    one.push_back(connect_and_echo(context, "client 1", client_message(1)));
    pid_t serving = children_created_for(context, one).front();

    if (!poll_patiently(Deadline::after(kSettleBudget),
                        [&] { return blocked_in_syscall(listener); }))
        throw CheckSkipped(fmt::format("pid {} never settled into a blocking call", listener));
    one.front().shutdown_write();
    one.front().receive_until_eof(64 * 1024, Deadline::after(kReplyBudget));
    one.front().close_gracefully();
    poll_patiently(Deadline::after(kSettleBudget), [&] { return departed(serving); });

    try {
        converse(context, "client 2, after client 1's child exited", client_message(2));
    } catch (const CheckFailure& failure) {
        auto process = procfs::read_process(listener);
        std::string fate =
            (!process || process->is_zombie()) ? "has exited" : "is still there but does not serve";
        throw CheckFailure(fmt::format(
            "client 1's child exited while the listening process (pid {}) was blocked in accept(); "
            "the SIGCHLD interrupted it. Since then the server {}.\n{}\nWhen a signal handler runs "
            "during accept(), accept() fails with EINTR unless the handler was installed with "
            "SA_RESTART: retry accept() on EINTR, or set SA_RESTART in sigaction.",
            listener, fate, failure.what()));
    }
    return "the server kept accepting after a child's SIGCHLD";
}

}  // namespace

std::vector<CheckDefinition> reaping_checks() {
    return {
        {"no-zombies", "leaves no zombie or lingering child", false, true, no_zombies},
        {"zombie-burst", "reaps children that exit at the same instant", false, true, zombie_burst},
        {"accept-after-signal", "keeps accepting after SIGCHLD interrupts accept()", false, true,
         accept_after_signal},
    };
}

}  // namespace labcheck
