// Lab 09: checks a pre-forked pool of workers. The pool's workers are the processes
// of the server's tree, other than its root (the parent), that hold the listening
// socket: they were forked after listen() and wait in accept() on it. They belong
// to the idle baseline: a pool exists before any client comes, and keeps its size
// when a worker dies, because the parent forks a replacement.

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "check_failure.hpp"
#include "check_observer.hpp"
#include "checks/probes.hpp"

namespace labcheck {
namespace {

// The process at the top of the server's tree: the one whose parent is not in it
// (the oldest such, should a daemon or an orphan add another).
std::optional<pid_t> root_of(const Snapshot& snapshot) {
    const procfs::ProcessInfo* root = nullptr;
    for (const auto& process : snapshot.processes) {
        if (snapshot.find(process.ppid)) continue;
        if (!root || process.start_ticks < root->start_ticks) root = &process;
    }
    return root ? std::optional<pid_t>(root->pid) : std::nullopt;
}

// The pool: every live process but the root that holds a LISTEN socket on the port.
std::vector<pid_t> workers_of(const Snapshot& snapshot, std::optional<pid_t> root) {
    std::vector<pid_t> workers;
    for (pid_t pid : snapshot.listeners()) {
        const auto* process = snapshot.find(pid);
        if (pid == root || !process || process->is_zombie() || process->is_exiting()) continue;
        workers.push_back(pid);
    }
    std::sort(workers.begin(), workers.end());
    return workers;
}

// "1 worker", "3 workers"
std::string workers_text(std::size_t count) {
    return fmt::format("{} worker{}", count, count == 1 ? "" : "s");
}

// "pid 1234 (state S, in inet_csk_accept)": where a worker sleeps, as `ps -o wchan`
// shows it; a worker ready for a client sleeps in accept().
std::string describe_worker(pid_t pid) {
    auto process = procfs::read_process(pid);
    if (!process) return fmt::format("pid {} (gone)", pid);
    std::string wchan = procfs::read_wait_channel(pid);
    if (wchan.empty()) return fmt::format("pid {} (state {})", pid, process->state);
    return fmt::format("pid {} (state {}, in {})", pid, process->state, wchan);
}

std::string pid_list(const std::vector<pid_t>& pids) {
    std::string text;
    for (pid_t pid : pids) text += fmt::format("{}{}", text.empty() ? "" : ", ", pid);
    return text.empty() ? "none" : text;
}

// The pool as the idle server shows it, or a CheckFailure saying there is none.
std::vector<pid_t> require_pool(const CheckContext& context, const Snapshot& snapshot,
                                std::optional<pid_t> root) {
    auto workers = workers_of(snapshot, root);
    if (!workers.empty()) return workers;
    if (snapshot.processes.empty())
        throw CheckFailure("the server has no process left: it exited before any client came");
    const std::string what =
        snapshot.processes.size() == 1
            ? fmt::format(
                  "it was a single process ({}), which held the listening socket on port "
                  "{} itself",
                  describe_process(snapshot, snapshot.processes.front().pid), context.port)
            : fmt::format(
                  "{} processes ran ({}), and none but the parent{} held the listening "
                  "socket on port {}",
                  snapshot.processes.size(), describe_processes(snapshot, context.baseline),
                  root ? fmt::format(" (pid {})", *root) : "", context.port);
    throw CheckFailure(fmt::format(
        "when the server was idle, before any client, {}: there is no pool of workers.\nA "
        "pre-forked server forks its workers right after listen(), before the first client: each "
        "inherits the listening socket and waits in accept() on it.",
        what));
}

// ---------------------------------------------------------------- pool-size

std::string pool_size(CheckContext& context) {
    auto idle = context.view.snapshot();
    auto root = root_of(idle);
    auto workers = require_pool(context, idle, root);

    // As many clients at once as there are workers (8 at most): a pool serves that
    // many together, each with a worker that was already there.
    const int count = static_cast<int>(std::min<std::size_t>(workers.size(), 8));
    std::vector<Connection> clients;
    for (int number = 1; number <= count; ++number) {
        try {
            clients.push_back(connect_and_echo(
                context, fmt::format("client {} of {} (kept open together)", number, count),
                client_message(number)));
        } catch (const CheckFailure& failure) {
            std::string doing;
            for (pid_t pid : workers) doing += (doing.empty() ? "" : ", ") + describe_worker(pid);
            throw CheckFailure(fmt::format(
                "the idle server had {} holding the listening socket (pids {}), so {} "
                "clients at once should each have one.\n{}\nThe workers, meanwhile: {}. A worker "
                "free for a client sleeps in accept() (inet_csk_accept); each should loop: "
                "accept(), serve the client until EOF, close, accept() again. Is one still busy "
                "with an earlier client, or waiting for something else?",
                workers_text(workers.size()), pid_list(workers), count, failure.what(), doing));
        }
    }
    auto busy = context.view.snapshot();
    for (int number = 1; number <= count; ++number) {
        auto serving = find_serving(busy, clients[static_cast<std::size_t>(number - 1)]);
        for (pid_t pid : serving.processes)
            if (!context.in_baseline(pid))
                throw CheckFailure(fmt::format(
                    "client {} of {} is served by {}, a process that was not there when the "
                    "server was idle: it was forked for this client. In a pool, the workers are "
                    "forked once, before any client, and each serves client after client.",
                    number, count, describe_process(busy, pid)));
        if (serving.processes.empty() && serving.listener_holds)
            throw CheckFailure(fmt::format(
                "client {} of {} is served by the parent (pid {}), which should only supervise "
                "the pool: the workers accept, the parent never does.",
                number, count, root.value_or(0)));
    }
    return fmt::format(
        "{} waiting before any client came; {} clients at once were each served by one of them",
        workers_text(workers.size()), count);
}

// ---------------------------------------------------------------- worker-respawn

std::string worker_respawn(CheckContext& context) {
    auto idle = context.view.snapshot();
    auto root = root_of(idle);
    auto workers = require_pool(context, idle, root);
    const pid_t victim = workers.front();

    auto started = Clock::now();
    if (send_signal(victim, SIGKILL) != 0)
        throw CheckSkipped(
            fmt::format("labcheck may not kill pid {} (it belongs to another user)", victim));

    // Back to full strength: the dead worker reaped (no zombie left), and as many
    // workers as before, one of them new.
    Snapshot now;
    std::vector<pid_t> pool;
    auto victim_state = [&]() -> const procfs::ProcessInfo* { return now.find(victim); };
    bool replaced = poll_patiently(Deadline::after(kSettleBudget), [&] {
        now = context.view.snapshot();
        pool = workers_of(now, root);
        bool fresh = std::any_of(pool.begin(), pool.end(), [&](pid_t pid) {
            return std::find(workers.begin(), workers.end(), pid) == workers.end();
        });
        return !victim_state() && pool.size() >= workers.size() && fresh;
    });
    auto took = std::chrono::duration_cast<Millis>(Clock::now() - started);

    if (!replaced) {
        std::string what = fmt::format(
            "labcheck killed worker {} (SIGKILL), one of the pool's {} (pids {}). {} ms later",
            victim, workers.size(), pid_list(workers), kSettleBudget.count());
        auto parent = root ? procfs::read_process(*root) : std::nullopt;
        if (!parent || parent->is_zombie())
            throw CheckFailure(fmt::format(
                "{} the parent (pid {}) has exited: it must outlive its workers and look after "
                "them.",
                what, root.value_or(0)));
        const auto* dead = victim_state();
        if (dead && dead->is_zombie())
            throw CheckFailure(fmt::format(
                "{} it is still a zombie ({}), and the pool has {}: the parent never "
                "collected it.\nThe parent learns that a worker died from SIGCHLD, and which one "
                "from waitpid(), which also reaps it: waitpid(-1, &status, WNOHANG) in a loop, "
                "then fork() a new worker for each pid it returns.",
                what, describe_process(now, victim), workers_text(pool.size())));
        throw CheckFailure(fmt::format(
            "{} the parent (pid {}) had reaped it, but the pool has {} (pids {}), "
            "expected {} again, one of them new.\nFor each worker that waitpid() reports, the "
            "parent must fork() a replacement; otherwise the pool shrinks with every crash until "
            "nobody accepts.",
            what, root.value_or(0), workers_text(pool.size()), pid_list(pool), workers.size()));
    }

    converse(context, "a client after the worker was replaced", client_message(3));
    std::vector<pid_t> fresh;
    for (pid_t pid : pool)
        if (std::find(workers.begin(), workers.end(), pid) == workers.end()) fresh.push_back(pid);
    return fmt::format(
        "killed worker {} of {}; within {} ms the parent reaped it and forked {} in its place, "
        "and the pool still serves",
        victim, workers.size(), took.count(), pid_list(fresh));
}

}  // namespace

std::vector<CheckDefinition> pool_checks() {
    return {
        {"pool-size", "keeps a pool of workers forked before any client", false, true, pool_size},
        {"worker-respawn", "replaces a worker that dies", false, true, worker_respawn},
    };
}

}  // namespace labcheck
