#include "trace/trace_tree.hpp"

#include <map>
#include <ranges>
#include <vector>

#include <fmt/format.h>

#include "trace/label_text.hpp"

namespace labcheck {
namespace {

using Kind = TraceEvent::Kind;

struct Process {
    pid_t parent = 0;
    bool server = false;
    std::vector<int> served;
    std::string fate;            // how it ended, as far as the checks saw
    std::string look = "child";  // look.toml's name for its colours
};

struct Check {
    std::string id;
    std::string outcome;
    std::map<pid_t, Process> processes;
    std::vector<pid_t> order;  // as first seen

    Process& process(pid_t pid) {
        auto [it, added] = processes.try_emplace(pid);
        if (added) order.push_back(pid);
        return it->second;
    }
};

std::vector<Check> checks_of(const Trace& trace) {
    std::vector<Check> checks;
    for (const auto& event : trace.events) {
        if (event.kind == Kind::check) {
            checks.push_back(Check{event.detail, {}, {}, {}});
            continue;
        }
        if (checks.empty()) continue;
        Check& check = checks.back();
        switch (event.kind) {
            case Kind::server: {
                Process& server = check.process(event.pid);
                server.server = true;
                server.look = "server";
                server.fate = event.detail == "restarted"
                                  ? "started again"
                                  : fmt::format("listens on port {}", event.detail);
                break;
            }
            case Kind::fork:
                check.process(event.pid).parent = event.parent;
                check.process(event.parent);
                break;
            case Kind::served:
                check.process(event.pid).served.push_back(event.connection);
                break;
            case Kind::exit:
                if (!check.process(event.pid).server) check.process(event.pid).look = "zombie";
                break;
            case Kind::reap: {
                Process& process = check.process(event.pid);
                if (process.server) {
                    process.fate = "ended";
                    process.look = "wrong";
                } else {
                    process.fate = event.lived ? fmt::format("reaped after {} ms as a zombie",
                                                             event.lived->count())
                                               : "exited and was reaped at once";
                    process.look = "child";
                }
                break;
            }
            case Kind::adopt:
                check.process(event.pid).fate =
                    fmt::format("its parent died: adopted by {}",
                                event.detail.empty() ? std::to_string(event.parent) : event.detail);
                break;
            case Kind::leftover: {
                Process& process = check.process(event.pid);
                bool zombie = event.detail == "zombie";
                process.fate = zombie ? fmt::format("still a zombie as the check ended ({} ms)",
                                                    event.lived.value_or(Millis(0)).count())
                                      : "still running as the check ended";
                process.look = zombie ? "wrong" : "muted";
                break;
            }
            case Kind::outcome:
                check.outcome = event.detail;
                break;
            default:
                break;
        }
    }
    return checks;
}

std::string served_text(const std::vector<int>& served) {
    if (served.empty()) return "";
    std::string text = "served";
    for (int connection : served) text += fmt::format(" #{}", connection);
    return text;
}

std::string fill_of(const std::string& look) {
    return look == "muted" ? "note_fill" : look + "_fill";
}

}  // namespace

std::string trace_tree(const Trace& trace, const std::string& title) {
    std::string out = "// Drawn by labcheck check --trace; render it with diagrams/render.sh.\n";
    out += "digraph trace {\n";
    out += fmt::format(
        "  graph [rankdir=LR, labelloc=t, label={}, nodesep=0.15, ranksep=0.5];\n",
        quoted_label(title + "\nwho forked whom, what each process served, how each ended"));
    out += "  node [shape=box, style=\"rounded,filled\"];\n";
    // Emitted last to first: dot stacks the clusters of one rank upwards, so the
    // first check then reads at the top.
    auto checks = checks_of(trace);
    for (int number = static_cast<int>(checks.size()); number >= 1; --number) {
        const Check& check = checks[static_cast<std::size_t>(number - 1)];
        std::string frame = check.outcome == "pass"   ? "child"
                            : check.outcome == "skip" ? "muted"
                                                      : "wrong";
        out += fmt::format("  subgraph cluster_{} {{\n", number);
        out += fmt::format("    label={}; style=rounded; color=\"@{}@\"; fontcolor=\"@{}@\";\n",
                           quoted_label(fmt::format("check {}: {}", check.id, check.outcome)),
                           frame, frame);
        if (check.order.empty())
            out += fmt::format("    c{}_none [label=\"no process seen\", style=dashed];\n", number);
        for (pid_t pid : check.order | std::views::reverse) {  // as the clusters
            const Process& process = check.processes.at(pid);
            std::string label =
                process.server ? fmt::format("server {}", pid) : std::to_string(pid);
            for (const auto& line : {served_text(process.served), process.fate})
                if (!line.empty()) label += "\n" + line;
            out +=
                fmt::format("    c{}_{} [label={}, color=\"@{}@\", fillcolor=\"@{}@\"];\n", number,
                            pid, quoted_label(label), process.look, fill_of(process.look));
        }
        for (pid_t pid : check.order | std::views::reverse) {  // as the clusters
            const Process& process = check.processes.at(pid);
            if (process.parent != 0 && check.processes.contains(process.parent))
                out += fmt::format("    c{}_{} -> c{}_{} [label=\"fork()\"];\n", number,
                                   process.parent, number, pid);
        }
        out += "  }\n";
    }
    out += "}\n";
    return out;
}

}  // namespace labcheck
