#include <doctest/doctest.h>

#include <sys/wait.h>

#include <csignal>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "labcheck_process.hpp"
#include "procfs/children.hpp"
#include "procfs/process_table.hpp"
#include "temp_dir.hpp"
#include "text_file.hpp"
#include "trace/trace.hpp"
#include "trace/trace_chart.hpp"
#include "trace/trace_tree.hpp"

using namespace labcheck;
using namespace std::chrono_literals;
using Kind = TraceEvent::Kind;
using procfs::TcpState;
namespace fs = std::filesystem;

namespace {

constexpr std::uint16_t kServerPort = 1205;
constexpr std::uint16_t kClientPort = 50000;
const Clock::time_point t0 = Clock::now();

procfs::ProcessInfo process(pid_t pid, pid_t ppid, char state = 'S') {
    procfs::ProcessInfo info;
    info.pid = pid;
    info.ppid = ppid;
    info.state = state;
    return info;
}

// The server's side of the client's connection, as /proc/net/tcp shows it.
procfs::TcpSocket server_side(TcpState state, ino_t inode) {
    procfs::TcpSocket socket;
    socket.local = {"127.0.0.1", kServerPort};
    socket.remote = {"127.0.0.1", kClientPort};
    socket.state = state;
    socket.inode = inode;
    return socket;
}

std::vector<Kind> kinds(const Trace& trace) {
    std::vector<Kind> result;
    for (const auto& event : trace.events) result.push_back(event.kind);
    return result;
}

const TraceEvent& only(const Trace& trace, Kind kind) {
    auto count = std::count_if(trace.events.begin(), trace.events.end(),
                               [&](const TraceEvent& event) { return event.kind == kind; });
    REQUIRE(count == 1);
    return *std::find_if(trace.events.begin(), trace.events.end(),
                         [&](const TraceEvent& event) { return event.kind == kind; });
}

// Every match of `pattern`'s first group in `text`.
std::vector<std::string> matches(const std::string& text, const std::string& pattern) {
    std::vector<std::string> found;
    std::regex expression(pattern);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), expression);
         it != std::sregex_iterator(); ++it)
        found.push_back((*it)[1].str());
    return found;
}

std::set<std::string> as_set(const std::vector<std::string>& items) {
    return {items.begin(), items.end()};
}

// A child's whole life, as the sampler would see it: forked and serving, its client
// gone and its side in CLOSE-WAIT, a zombie, then reaped 12 ms later.
Trace one_child_reaped() {
    TraceBuilder builder(t0);
    Snapshot idle;
    idle.processes = {process(100, 1)};
    builder.begin_check("echo", 100, kServerPort, idle, t0);
    builder.connection_opened(kClientPort, t0 + 1ms);

    Snapshot serving = idle;
    serving.processes.push_back(process(101, 100));
    serving.sockets[101] = {7};
    serving.tcp = {server_side(TcpState::established, 7)};
    builder.observe(serving, t0 + 2ms);
    builder.connection_closed(kClientPort, false, t0 + 3ms);

    Snapshot exited = idle;
    exited.processes.push_back(process(101, 100, 'Z'));
    exited.tcp = {server_side(TcpState::close_wait, 7)};
    builder.observe(exited, t0 + 4ms);
    CHECK_FALSE(builder.settled());
    builder.observe(idle, t0 + 16ms);
    CHECK(builder.settled());
    builder.end_check("pass", idle, t0 + 20ms);
    return builder.trace();
}

}  // namespace

TEST_CASE("trace: a child's life is seen from fork to reap, with its client and its socket") {
    Trace trace = one_child_reaped();
    CHECK(kinds(trace) == std::vector<Kind>{Kind::check, Kind::server, Kind::connect, Kind::fork,
                                            Kind::served, Kind::close, Kind::exit, Kind::state,
                                            Kind::reap, Kind::outcome});
    CHECK(only(trace, Kind::fork).pid == 101);
    CHECK(only(trace, Kind::fork).parent == 100);
    CHECK(only(trace, Kind::served).pid == 101);
    CHECK(only(trace, Kind::served).connection == only(trace, Kind::connect).connection);
    CHECK(only(trace, Kind::state).detail == "CLOSE-WAIT");
    REQUIRE(only(trace, Kind::reap).lived.has_value());
    CHECK(*only(trace, Kind::reap).lived == 12ms);
}

TEST_CASE("trace: a zombie still there when the check ends is a leftover, with its age") {
    TraceBuilder builder(t0);
    Snapshot idle;
    idle.processes = {process(100, 1)};
    builder.begin_check("no-zombies", 100, kServerPort, idle, t0);
    Snapshot zombie = idle;
    zombie.processes.push_back(process(101, 100, 'Z'));
    builder.observe(zombie, t0 + 5ms);
    CHECK_FALSE(builder.settled());
    builder.end_check("fail", zombie, t0 + 305ms);

    const auto& leftover = only(builder.trace(), Kind::leftover);
    CHECK(leftover.pid == 101);
    CHECK(leftover.detail == "zombie");
    CHECK(leftover.lived == std::optional<Millis>(300ms));
    CHECK(only(builder.trace(), Kind::outcome).detail == "fail");
}

TEST_CASE("trace: the child serves a connection even while its parent still holds the socket") {
    TraceBuilder builder(t0);
    Snapshot idle;
    idle.processes = {process(100, 1)};
    builder.begin_check("fd-hygiene", 100, kServerPort, idle, t0);
    builder.connection_opened(kClientPort, t0);
    CHECK(builder.wants_look(kClientPort));
    Snapshot both = idle;
    both.processes.push_back(process(101, 100));
    both.sockets[100] = {7};
    both.sockets[101] = {7};
    both.tcp = {server_side(TcpState::established, 7)};
    builder.observe(both, t0 + 1ms);
    CHECK(only(builder.trace(), Kind::served).pid == 101);
    CHECK_FALSE(builder.wants_look(kClientPort));
}

TEST_CASE("trace: an iterative server serves its client itself, and nothing is forked") {
    TraceBuilder builder(t0);
    Snapshot serving;
    serving.processes = {process(100, 1)};
    serving.sockets[100] = {7};
    serving.tcp = {server_side(TcpState::established, 7)};
    builder.begin_check("echo", 100, kServerPort, serving, t0);
    builder.connection_opened(kClientPort, t0);
    builder.observe(serving, t0 + 1ms);
    builder.connection_closed(kClientPort, false, t0 + 2ms);
    CHECK(kinds(builder.trace()) ==
          std::vector<Kind>{Kind::check, Kind::server, Kind::connect, Kind::served, Kind::close});
    CHECK(only(builder.trace(), Kind::served).pid == 100);
}

TEST_CASE("trace: a new child that one look missed is still credited with its client") {
    TraceBuilder builder(t0);
    Snapshot idle;
    idle.processes = {process(100, 1)};
    builder.begin_check("concurrent", 100, kServerPort, idle, t0);
    builder.connection_opened(kClientPort, t0);
    // /proc's list of children is not atomic: this look saw the socket, held by the
    // parent (not yet closed after fork), but not the child that also holds it.
    Snapshot missed = idle;
    missed.sockets[100] = {7};
    missed.tcp = {server_side(TcpState::established, 7)};
    builder.observe(missed, t0 + 1ms);
    CHECK(builder.wants_look(kClientPort));
    Snapshot seen = missed;
    seen.processes.push_back(process(101, 100));
    seen.sockets[101] = {7};
    builder.observe(seen, t0 + 2ms);
    builder.connection_closed(kClientPort, true, t0 + 3ms);
    CHECK(only(builder.trace(), Kind::served).pid == 101);
}

TEST_CASE("trace: a process whose parent died is seen handed to another") {
    TraceBuilder builder(t0);
    Snapshot before;
    before.processes = {process(100, 1), process(101, 100), process(102, 101)};
    builder.begin_check("no-zombies", 100, kServerPort, before, t0);
    Snapshot after;
    after.processes = {process(100, 1), process(102, 1)};
    builder.observe(after, t0 + 4ms);
    CHECK(only(builder.trace(), Kind::adopt).pid == 102);
    CHECK(only(builder.trace(), Kind::adopt).detail == "init");
    CHECK(only(builder.trace(), Kind::reap).pid == 101);
}

TEST_CASE("trace: nothing is recorded outside a check") {
    TraceBuilder builder(t0);
    Snapshot busy;
    busy.processes = {process(100, 1), process(101, 100, 'Z')};
    builder.connection_opened(kClientPort, t0);
    builder.observe(busy, t0);
    CHECK(builder.trace().events.empty());
    CHECK_FALSE(builder.wants_look(kClientPort));
}

TEST_CASE("trace chart: each event is a row in the look's colours, and each check is tallied") {
    std::string chart = trace_chart(one_child_reaped(), "lab \"04\"");
    CHECK(chart.find("msc {") != std::string::npos);
    CHECK(chart.find("lab \\\"04\\\"") != std::string::npos);  // quotes escaped for mscgen
    CHECK(chart.find("fork(): 101") != std::string::npos);
    CHECK(chart.find("#1 served by 101") != std::string::npos);
    CHECK(chart.find("101 exited: a zombie (zombies now: 1)") != std::string::npos);
    CHECK(chart.find("#1 server side: CLOSE-WAIT") != std::string::npos);
    CHECK(chart.find("101 reaped after 12 ms as a zombie") != std::string::npos);
    CHECK(chart.find("echo: pass · 1 forked, 1 reaped, 0 left as zombies, 0 left running") !=
          std::string::npos);

    // Every colour it names is one look.toml defines, so render.sh can put it in.
    std::string look = read_text(fs::path(KIT_DIR) / "diagrams" / "look.toml");
    auto names = matches(chart, "@([a-z_]+)@");
    REQUIRE_FALSE(names.empty());
    for (const auto& name : std::set<std::string>(names.begin(), names.end()))
        CHECK_MESSAGE(look.find("\n" + name + " = ") != std::string::npos,
                      "look.toml has no " << name);
}

namespace {

// labcheck check 04 --only zombie-burst --trace FILE against `server`: its exit status.
int traced_run(const std::string& server, const fs::path& trace) {
    LabcheckProcess labcheck({"check", "04", "--server", server, "--only", "zombie-burst",
                              "--trace", trace.string(), "--color", "never"},
                             {});
    auto status = labcheck.wait_exit(Deadline::after(60s));
    REQUIRE_MESSAGE(status.has_value(), labcheck.output());
    INFO(labcheck.output());
    REQUIRE(WIFEXITED(*status));
    CHECK(labcheck.output().find("labcheck: the trace is drawn in " + trace.string()) !=
          std::string::npos);
    return WEXITSTATUS(*status);
}

}  // namespace

TEST_CASE("trace: a correct lab-04 server is drawn with a child per connection, all reaped") {
    TempDir scratch;
    fs::path trace = scratch.path() / "solution-04.msc";
    CHECK(traced_run(SOLUTION_04_SERVER, trace) == 0);
    std::string chart = read_text(trace);
    INFO(chart);

    // zombie-burst holds 8 clients open, then ends them together.
    auto forked = matches(chart, "fork\\(\\): (\\d+)");
    auto served = matches(chart, "#\\d+ served by (\\d+)");
    auto reaped = matches(chart, "\"(\\d+) (?:reaped after|exited and was reaped)");
    CHECK(forked.size() == 8);
    CHECK(as_set(served).size() == 8);  // each connection its own child
    CHECK(as_set(served) == as_set(forked));
    CHECK(as_set(reaped) == as_set(forked));
    CHECK(chart.find("still a zombie") == std::string::npos);
    CHECK(chart.find("zombie-burst: pass · 8 forked, 8 reaped, 0 left as zombies") !=
          std::string::npos);
    // The check stops the server while its clients leave: all 8 are zombies until it
    // continues, and then all 8 are reaped.
    auto stop = chart.find("labcheck sends SIGSTOP");
    auto resume = chart.find("labcheck sends SIGCONT");
    REQUIRE(stop != std::string::npos);
    REQUIRE(resume != std::string::npos);
    CHECK(matches(chart.substr(stop, resume - stop), "exited: a (zombie)").size() == 8);
    CHECK(matches(chart.substr(resume), "(\\d+) reaped after \\d+ ms as a zombie").size() == 8);
    CHECK(chart.find('@') == std::string::npos);  // the look's values are in
}

TEST_CASE("trace: a server that never reaps is drawn with its zombies piling up") {
    TempDir scratch;
    fs::path trace = scratch.path() / "no-reaping.msc";
    CHECK(traced_run(NO_REAPING_SERVER, trace) == 1);
    std::string chart = read_text(trace);
    INFO(chart);
    auto forked = matches(chart, "fork\\(\\): (\\d+)");
    auto piling = matches(chart, "exited: a zombie \\(zombies now: (\\d+)\\)");
    auto left = matches(chart, "\"(\\d+) still a zombie");
    CHECK(forked.size() == 8);
    REQUIRE(piling.size() == 8);
    for (std::size_t i = 0; i < piling.size(); ++i) CHECK(piling[i] == std::to_string(i + 1));
    auto stop = chart.find("labcheck sends SIGSTOP");
    auto resume = chart.find("labcheck sends SIGCONT");
    CHECK(stop < chart.find("exited: a zombie (zombies now: 1)"));
    CHECK(chart.find("exited: a zombie (zombies now: 8)") < resume);
    CHECK(as_set(left) == as_set(forked));
    CHECK(chart.find("zombie-burst: fail · 8 forked, 0 reaped, 8 left as zombies") !=
          std::string::npos);
}

TEST_CASE("trace: FILE.svg is rendered in the kit's look, stamped by render.sh") {
    TempDir scratch;
    fs::path trace = scratch.path() / "solution-04.svg";
    CHECK(traced_run(SOLUTION_04_SERVER, trace) == 0);
    std::string svg = read_text(trace);
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("fork(): ") != std::string::npos);
    CHECK(svg.find("#1A7F37") != std::string::npos);  // look.toml's child, as mscgen writes it
    CHECK(svg.find("<!-- rendered by diagrams/render.sh") != std::string::npos);
    CHECK_FALSE(fs::exists(scratch.path() / "solution-04.svg.labcheck-source.msc"));
}

TEST_CASE("trace: a --trace file that is not .svg or .msc is refused before any check runs") {
    TempDir scratch;
    for (std::string name : {"trace.png", "missing-folder/trace.svg"}) {
        LabcheckProcess labcheck({"check", "04", "--server", CORRECT_SERVER, "--trace",
                                  (scratch.path() / name).string()},
                                 {});
        auto status = labcheck.wait_exit(Deadline::after(20s));
        REQUIRE(status.has_value());
        INFO(labcheck.output());
        CHECK(WEXITSTATUS(*status) == 2);
        CHECK(labcheck.output().find("--trace") != std::string::npos);
        CHECK(labcheck.output().find("PASS") == std::string::npos);  // no check ran
    }
}

TEST_CASE("trace chart: a socket the parent still holds after its child left is called out") {
    TraceBuilder builder(t0);
    Snapshot idle;
    idle.processes = {process(100, 1)};
    builder.begin_check("eof", 100, kServerPort, idle, t0);
    builder.connection_opened(kClientPort, t0);
    Snapshot serving = idle;
    serving.processes.push_back(process(101, 100));
    serving.sockets[100] = {7};  // the parent forgot close(connfd)
    serving.sockets[101] = {7};
    serving.tcp = {server_side(TcpState::established, 7)};
    builder.observe(serving, t0 + 1ms);
    builder.connection_half_closed(kClientPort, t0 + 2ms);
    Snapshot child_gone = idle;
    child_gone.sockets[100] = {7};
    child_gone.tcp = {server_side(TcpState::close_wait, 7)};
    builder.observe(child_gone, t0 + 3ms);
    CHECK(only(builder.trace(), Kind::state).pid == 100);

    std::string chart = trace_chart(builder.trace(), "eof");
    CHECK(chart.find("#1 server side: CLOSE-WAIT, still held open by the server 100") !=
          std::string::npos);
}

TEST_CASE("trace: the signals a check sends are drawn, SIGSTOP and SIGCONT explained") {
    TraceBuilder builder(t0);
    Snapshot running;
    running.processes = {process(100, 1)};
    builder.begin_check("zombie-burst", 100, kServerPort, running, t0);
    builder.signalled(100, SIGSTOP, t0 + 1ms);
    builder.signalled(100, SIGCONT, t0 + 9ms);
    CHECK(kinds(builder.trace()) ==
          std::vector<Kind>{Kind::check, Kind::server, Kind::signal, Kind::signal});
    std::string chart = trace_chart(builder.trace(), "zombie-burst");
    CHECK(chart.find("labcheck sends SIGSTOP to 100: it runs nothing") != std::string::npos);
    CHECK(chart.find("labcheck sends SIGCONT to 100: signals that came meanwhile arrive") !=
          std::string::npos);
}

TEST_CASE("trace: without mscgen the chart's source is kept, and labcheck says so") {
    TempDir scratch;
    // A PATH with every tool render.sh uses, but no mscgen.
    fs::path bin = scratch.path() / "bin";
    fs::create_directories(bin);
    for (std::string tool :
         {"bash", "sed", "grep", "sort", "tr", "sha256sum", "cut", "awk", "mktemp", "cat", "head",
          "tail", "rm", "mv", "basename", "dirname", "find", "sh"})
        for (std::string folder : {"/usr/bin", "/bin"})
            if (fs::exists(fs::path(folder) / tool) && !fs::exists(bin / tool))
                fs::create_symlink(fs::path(folder) / tool, bin / tool);
    fs::path trace = scratch.path() / "echo.svg";
    LabcheckProcess labcheck({"check", "04", "--server", SOLUTION_04_SERVER, "--only", "echo",
                              "--trace", trace.string(), "--color", "never"},
                             {{"PATH", bin.string()}});
    auto status = labcheck.wait_exit(Deadline::after(60s));
    REQUIRE(status.has_value());
    INFO(labcheck.output());
    CHECK(WEXITSTATUS(*status) == 1);
    CHECK(labcheck.output().find("PASS   echo") != std::string::npos);  // the report came first
    CHECK(labcheck.output().find("mscgen is missing") != std::string::npos);
    CHECK(labcheck.output().find((scratch.path() / "echo.msc").string()) != std::string::npos);
    CHECK_FALSE(fs::exists(trace));
    std::string source = read_text(scratch.path() / "echo.msc");
    CHECK(source.find("#1 connect()") != std::string::npos);
    CHECK(source.find('@') == std::string::npos);  // the look's values are in
}

TEST_CASE("trace tree: each check's processes, who forked whom, what each served, its end") {
    std::string tree = trace_tree(one_child_reaped(), "lab 04");
    CHECK(tree.find("digraph trace {") != std::string::npos);
    CHECK(tree.find("label=\"check echo: pass\"") != std::string::npos);
    CHECK(tree.find("\"server 100\\nlistens on port 1205\"") != std::string::npos);
    CHECK(tree.find("\"101\\nserved #1\\nreaped after 12 ms as a zombie\"") != std::string::npos);
    CHECK(tree.find("c1_100 -> c1_101 [label=\"fork()\"]") != std::string::npos);
    std::string look = read_text(fs::path(KIT_DIR) / "diagrams" / "look.toml");
    for (const auto& name : matches(tree, "@([a-z_]+)@"))
        CHECK_MESSAGE(look.find("\n" + name + " = ") != std::string::npos,
                      "look.toml has no " << name);
}

TEST_CASE("trace: FILE.dot holds the process trees of a server that never reaps") {
    TempDir scratch;
    fs::path trace = scratch.path() / "no-reaping.dot";
    CHECK(traced_run(NO_REAPING_SERVER, trace) == 1);
    std::string tree = read_text(trace);
    INFO(tree);
    CHECK(tree.find("check zombie-burst: fail") != std::string::npos);
    CHECK(matches(tree, "(still a zombie as the check ended)").size() == 8);
    CHECK(matches(tree, "(-> c1_\\d+ \\[label=\"fork\\(\\)\"\\])").size() == 8);
    CHECK(tree.find('@') == std::string::npos);
}

TEST_CASE("trace: a server that forks without end fills the trace only up to its cap") {
    TraceBuilder builder(t0);
    Snapshot idle;
    idle.processes = {process(100, 1)};
    builder.begin_check("no-zombies", 100, kServerPort, idle, t0);
    for (pid_t pid = 1000; pid < 1000 + static_cast<pid_t>(kMaxTraceEvents); ++pid) {
        Snapshot busy = idle;
        busy.processes.push_back(process(pid, 100));
        builder.observe(busy, t0);  // a fork, and the last one's reap
    }
    builder.end_check("fail", idle, t0 + 1ms);
    const Trace& trace = builder.trace();
    CHECK(trace.events.size() == kMaxTraceEvents + 1);  // the outcome is always kept
    CHECK(trace.events.back().kind == Kind::outcome);
    CHECK(trace.dropped > 0);
    CHECK(trace_chart(trace, "bomb").find("more events were not drawn") != std::string::npos);
}

TEST_CASE("trace: Ctrl-C during a traced check still stops every server and exits 130") {
    TempDir scratch;
    // A server that never listens: labcheck waits for it while the recorder samples.
    LabcheckProcess labcheck({"check", "04", "--trace", (scratch.path() / "t.svg").string(),
                              "--port", "1", "--", "/bin/sleep", "300"},
                             {});
    // Until the server itself runs: earlier, labcheck's descendants are only its
    // short-lived helpers (the check that the server user can run the binary).
    std::vector<pid_t> server;
    REQUIRE(poll_until(Deadline::after(20s), [&] {
        server = procfs::descendant_pids(labcheck.pid());
        return std::any_of(server.begin(), server.end(), [](pid_t pid) {
            auto process = procfs::read_process(pid);
            return process && process->comm == "sleep";
        });
    }));
    REQUIRE(kill(labcheck.pid(), SIGINT) == 0);
    auto status = labcheck.wait_exit(Deadline::after(20s));
    REQUIRE(status.has_value());
    INFO(labcheck.output());
    CHECK(WIFEXITED(*status));  // not killed by the signal: the interrupt thread took it
    CHECK(WEXITSTATUS(*status) == 130);
    CHECK(poll_until(Deadline::after(5s), [&] {
        return std::none_of(server.begin(), server.end(), [](pid_t pid) {
            auto process = procfs::read_process(pid);
            return process && !process->is_zombie();
        });
    }));
}

TEST_CASE("trace: a connection closed while it waited in the accept queue is called so") {
    TraceBuilder builder(t0);
    Snapshot busy;
    busy.processes = {process(100, 1)};
    builder.begin_check("concurrent", 100, kServerPort, busy, t0);
    builder.connection_opened(kClientPort, t0);
    busy.tcp = {server_side(TcpState::established, 0)};  // done by the kernel, not accepted
    builder.observe(busy, t0 + 1ms);
    builder.connection_closed(kClientPort, true, t0 + 2ms);
    CHECK(only(builder.trace(), Kind::reset).detail == "queued");
    CHECK(trace_chart(builder.trace(), "lab 01")
              .find("#1 abort: RST, never served: it waited in the accept queue") !=
          std::string::npos);
}
