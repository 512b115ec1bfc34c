#include "trace/trace_chart.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "trace/label_text.hpp"

namespace labcheck {
namespace {

using Kind = TraceEvent::Kind;

// What a connection closed before any process served it had waited for.
std::string never_served(const TraceEvent& close) {
    if (close.detail == "queued") return ", never served: it waited in the accept queue";
    if (close.detail == "unserved") return ", never seen served";
    return "";
}

std::string seconds(Millis at) {
    return fmt::format("{:.3f} s", static_cast<double>(at.count()) / 1000.0);
}

struct Style {
    std::string line;  // look.toml names, without the @s
    std::string text;
    std::string fill;
};

class Chart {
  public:
    explicit Chart(const Trace& trace) : trace_(trace) {}

    std::string draw(const std::string& title) {
        bool children = has_children();
        out_ += "# Drawn by labcheck check --trace; render it with diagrams/render.sh.\n";
        out_ += "msc {\n  hscale = \"1.3\", wordwraparcs = \"true\";\n";
        out_ +=
            "  c [label=\"labcheck's clients\", textcolour=\"@client@\", "
            "linecolour=\"@client@\"],\n";
        out_ += fmt::format(
            "  s [label=\"the server\", textcolour=\"@server@\", "
            "linecolour=\"@server@\"]{}\n",
            children ? "," : ";");
        if (children)
            out_ +=
                "  k [label=\"its children\", textcolour=\"@child@\", "
                "linecolour=\"@child@\"];\n";
        last_.assign(1, children ? 'k' : 's');
        box("c", last_, "note",
            title +
                "\nTime runs down. Numbers are process ids; #N is the checks' Nth "
                "connection. Most connections end in an RST: labcheck aborts them so "
                "that its side leaves no TIME-WAIT behind.",
            {"ink", "ink", "note_fill"});
        for (const auto& event : trace_.events) row(event);
        if (trace_.dropped > 0)
            box("c", last_, "note",
                fmt::format("{} more events were not drawn: a trace keeps at most {}",
                            trace_.dropped, kMaxTraceEvents),
                {"wrong", "wrong", "wrong_fill"});
        out_ += "}\n";
        return out_;
    }

  private:
    bool has_children() const {
        pid_t root = 0;
        for (const auto& event : trace_.events) {
            if (event.kind == Kind::server) root = event.pid;
            if ((event.kind == Kind::fork || event.kind == Kind::served) && event.pid != root)
                return true;
        }
        return false;
    }

    std::string column(pid_t pid) const { return pid == root_ ? "s" : "k"; }

    void arc(const std::string& from, const std::string& arrow, const std::string& to,
             const std::string& label, const std::string& colour) {
        // mscgen centres a label's lines on its arc: two empty lines lift the text
        // clear of the line, which would otherwise run through it.
        out_ += fmt::format("  {} {} {} [label={}, linecolour=\"@{}@\", textcolour=\"@{}@\"];\n",
                            from, arrow, to, quoted_label(label + "\n\n"), colour, colour);
    }

    void box(const std::string& from, const std::string& to, const std::string& shape,
             const std::string& label, const Style& style) {
        out_ += fmt::format(
            "  {} {} {} [label={}, linecolour=\"@{}@\", textcolour=\"@{}@\", "
            "textbgcolour=\"@{}@\"];\n",
            from, shape, to, quoted_label(label), style.line, style.text, style.fill);
    }

    // Where the server's side of connection #n lives: its serving process, once known.
    std::string side_of(int connection) const {
        auto it = served_by_.find(connection);
        return it == served_by_.end() ? "s" : column(it->second);
    }

    void row(const TraceEvent& event) {
        switch (event.kind) {
            case Kind::check:
                out_ += fmt::format(
                    "  --- [label={}];\n",
                    quoted_label(fmt::format("check {} (at {})", event.detail, seconds(event.at))));
                zombies_ = 0;
                check_ = event.detail;
                tally_ = {};
                break;
            case Kind::server:
                root_ = event.pid;
                box("s", "s", "abox",
                    event.detail == "restarted"
                        ? fmt::format("the server, restarted: {}", event.pid)
                        : fmt::format("server {} listens on port {}", event.pid, event.detail),
                    {"server", "server", "server_fill"});
                break;
            case Kind::connect:
                arc("c", "=>", "s",
                    fmt::format("#{} connect() from port {}", event.connection, event.detail),
                    "client");
                break;
            case Kind::served:
                served_by_[event.connection] = event.pid;
                arc("c", "<=>", column(event.pid),
                    event.pid == root_
                        ? fmt::format("#{} served by the server itself ({})", event.connection,
                                      event.pid)
                        : fmt::format("#{} served by {}", event.connection, event.pid),
                    event.pid == root_ ? "server" : "child");
                break;
            case Kind::state: {
                auto where = side_of(event.connection);
                auto served = served_by_.find(event.connection);
                bool parent_keeps_it =
                    event.pid == root_ && served != served_by_.end() && served->second != root_;
                if (parent_keeps_it)
                    box("s", "s", "rbox",
                        fmt::format("#{} server side: {}, still held open by the server {}",
                                    event.connection, event.detail, event.pid),
                        {"wrong", "wrong", "wrong_fill"});
                else
                    box(where, where, "rbox",
                        fmt::format("#{} server side: {}", event.connection, event.detail),
                        {"server", "ink", "server_fill"});
                break;
            }
            case Kind::half_close:
                arc("c", "->", side_of(event.connection),
                    fmt::format("#{} shutdown(SHUT_WR): FIN, still reading", event.connection),
                    "client");
                break;
            case Kind::close:
                arc("c", "->", side_of(event.connection),
                    fmt::format("#{} close(): FIN{}", event.connection, never_served(event)),
                    "client");
                break;
            case Kind::reset:
                arc("c", "-x", side_of(event.connection),
                    fmt::format("#{} abort: RST{}", event.connection, never_served(event)),
                    "muted");
                break;
            case Kind::fork:
                ++tally_.forked;
                if (event.parent == root_ || column(event.pid) == "s")
                    arc("s", "->", "k", fmt::format("fork(): {}", event.pid), "child");
                else
                    arc("k", "->", "k", fmt::format("{} forks {}", event.parent, event.pid),
                        "child");
                break;
            case Kind::exit:
                if (event.pid == root_) {
                    box("s", "s", "abox", fmt::format("the server {} exited", event.pid),
                        {"wrong", "wrong", "wrong_fill"});
                } else {
                    ++zombies_;
                    box("k", "k", "abox",
                        fmt::format("{} exited: a zombie (zombies now: {})", event.pid, zombies_),
                        {"zombie", "zombie", "zombie_fill"});
                }
                break;
            case Kind::reap:
                if (event.pid == root_) {
                    box("s", "s", "abox", fmt::format("the server process {} is gone", event.pid),
                        {"wrong", "wrong", "wrong_fill"});
                    break;
                }
                ++tally_.reaped;
                if (event.lived) {
                    zombies_ = std::max(0, zombies_ - 1);
                    box("k", "k", "box",
                        fmt::format("{} reaped after {} ms as a zombie", event.pid,
                                    event.lived->count()),
                        {"child", "ink", "child_fill"});
                } else {
                    box("k", "k", "box", fmt::format("{} exited and was reaped at once", event.pid),
                        {"child", "ink", "child_fill"});
                }
                break;
            case Kind::adopt:
                box(column(event.pid), column(event.pid), "rbox",
                    fmt::format("{}'s parent died: {} adopts it", event.pid,
                                event.detail.empty() ? std::to_string(event.parent) : event.detail),
                    {"wrong", "ink", "note_fill"});
                break;
            case Kind::signal: {
                std::string why = event.detail == "SIGSTOP"
                                      ? ": it runs nothing and takes no signal until SIGCONT"
                                  : event.detail == "SIGCONT"
                                      ? ": signals that came meanwhile arrive, once per kind"
                                      : "";
                arc("c", "->", column(event.pid),
                    fmt::format("labcheck sends {} to {}{}", event.detail, event.pid, why), "ink");
                break;
            }
            case Kind::leftover:
                if (event.detail == "zombie") {
                    ++tally_.zombies;
                    box("k", "k", "abox",
                        fmt::format("{} still a zombie ({} ms)", event.pid,
                                    event.lived.value_or(Millis(0)).count()),
                        {"wrong", "wrong", "zombie_fill"});
                } else {
                    ++tally_.running;
                    box("k", "k", "box", fmt::format("{} still running", event.pid),
                        {"muted", "ink", "note_fill"});
                }
                break;
            case Kind::outcome: {
                std::string fill = event.detail == "pass"   ? "child_fill"
                                   : event.detail == "skip" ? "note_fill"
                                                            : "wrong_fill";
                std::string label = fmt::format("{}: {}", check_, event.detail);
                if (tally_.forked + tally_.reaped + tally_.zombies + tally_.running > 0)
                    label += fmt::format(
                        " · {} forked, {} reaped, {} left as zombies, {} left "
                        "running",
                        tally_.forked, tally_.reaped, tally_.zombies, tally_.running);
                box("c", last_, "rbox", label, {"ink", "ink", fill});
                break;
            }
        }
    }

    const Trace& trace_;
    std::string out_;
    std::string last_;
    std::string check_;
    pid_t root_ = 0;
    int zombies_ = 0;  // now, in this check
    struct Tally {
        int forked = 0, reaped = 0, zombies = 0, running = 0;
    } tally_;  // of this check's processes, for its outcome line
    std::map<int, pid_t> served_by_;
};

}  // namespace

std::string trace_chart(const Trace& trace, const std::string& title) {
    return Chart(trace).draw(title);
}

}  // namespace labcheck
