#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "os/deadline.hpp"
#include "procfs/children.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace labcheck;

namespace {

// Generous bounds: a loaded machine must not fail a test, a broken one must not hang it.
constexpr Millis kGenerous{20000};

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

LaunchSpec shell(const std::string& script, const fs::path& log) {
    LaunchSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.log_path = log;
    return spec;
}

std::vector<pid_t> descendants() {
    return procfs::descendant_pids(getpid());
}

// The session id of `pid` (field 6 of /proc/PID/stat), or 0 when it is gone.
pid_t session_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream fields(stat.substr(paren + 1));
    std::string state;
    long parent = 0, group = 0, session = 0;
    fields >> state >> parent >> group >> session;
    return static_cast<pid_t>(session);
}

}  // namespace

TEST_CASE("server_process: describe_wait_status") {
    CHECK(describe_wait_status(3 << 8) == "exited with status 3");
    CHECK(describe_wait_status(0) == "exited with status 0");
    CHECK(contains(describe_wait_status(9), "killed by signal 9"));
    CHECK(contains(describe_wait_status(9), "SIGKILL"));
    CHECK(contains(describe_wait_status(11), "killed by signal 11"));
}

TEST_CASE("server_process: captures stdout and stderr, and reports the exit status") {
    TempDir temp;
    auto server = ServerProcess::launch(
        shell("echo line1; echo line2 >&2; echo line3; exit 3", temp.path() / "server.log"), 4242);
    REQUIRE(server->pid() > 0);
    CHECK(server->port() == 4242);

    auto status = server->wait_exit(Deadline::after(kGenerous));
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 3);
    CHECK(describe_wait_status(*status) == "exited with status 3");
    REQUIRE(server->wait_status().has_value());
    CHECK(*server->wait_status() == *status);

    CHECK(server->log_tail() == "line1\nline2\nline3");
    CHECK(server->log_tail(2) == "line2\nline3");
    CHECK(server->log_tail(1) == "line3");
    CHECK(server->log_path() == temp.path() / "server.log");
    CHECK(read_text(server->log_path()) == "line1\nline2\nline3\n");

    server.reset();
    CHECK(descendants().empty());
}

TEST_CASE("server_process: a process killed by a signal") {
    TempDir temp;
    auto server = ServerProcess::launch(shell("kill -9 $$", temp.path() / "server.log"), 1);
    auto status = server->wait_exit(Deadline::after(kGenerous));
    REQUIRE(status.has_value());
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGKILL);
    CHECK(contains(describe_wait_status(*status), "killed by signal 9"));
    server.reset();
    CHECK(descendants().empty());
}

TEST_CASE("server_process: wait_exit gives up at its deadline while the process runs") {
    TempDir temp;
    auto server = ServerProcess::launch(shell("exec sleep 300", temp.path() / "server.log"), 1);
    CHECK_FALSE(server->wait_exit(Deadline::after(Millis(200))).has_value());
    CHECK_FALSE(server->wait_status().has_value());
    server.reset();
    CHECK(descendants().empty());
}

TEST_CASE("server_process: a flood of output neither blocks the process nor grows the log") {
    TempDir temp;
    auto server = ServerProcess::launch(
        shell("yes | head -c 5000000; echo finished; exit 0", temp.path() / "server.log"), 1);
    // Nobody but the watch thread reads the pipe: the process can only end if it drains.
    auto status = server->wait_exit(Deadline::after(kGenerous));
    REQUIRE(status.has_value());
    CHECK(describe_wait_status(*status) == "exited with status 0");

    std::string tail = server->log_tail(3);
    CHECK(contains(tail, "finished"));
    CHECK(contains(tail, "5000009 bytes of output in all"));
    CHECK(contains(tail, "the log keeps the first 1048576"));

    const auto size = fs::file_size(server->log_path());
    CHECK(size >= 1024 * 1024);
    CHECK(size <= 1024 * 1024 + 256);  // the cap plus the note that says so
    CHECK(contains(read_text(server->log_path()), "log capped here"));

    server.reset();
    CHECK(descendants().empty());
}

TEST_CASE("server_process: a missing binary throws a one-line runtime_error") {
    TempDir temp;
    LaunchSpec spec;
    spec.log_path = temp.path() / "server.log";

    SUBCASE("a path that does not exist") {
        spec.argv = {"/nonexistent/labcheck-test/server", "{port}"};
        CHECK_THROWS_WITH_AS(ServerProcess::launch(spec, 1),
                             "/nonexistent/labcheck-test/server does not exist",
                             std::runtime_error);
    }
    SUBCASE("a bare name") {
        spec.argv = {"server", "{port}"};
        CHECK_THROWS_WITH_AS(ServerProcess::launch(spec, 1), doctest::Contains("not a bare name"),
                             std::runtime_error);
    }
    SUBCASE("no command at all") {
        CHECK_THROWS_AS(ServerProcess::launch(spec, 1), std::runtime_error);
    }
    CHECK(descendants().empty());
}

TEST_CASE("server_process: {port} in argv becomes the port") {
    TempDir temp;
    LaunchSpec spec;
    spec.argv = {"/bin/sh", "-c",     "echo \"port=$1\"; echo \"both=$2\"",
                 "sh",      "{port}", "a{port}b{port}"};
    spec.log_path = temp.path() / "server.log";
    auto server = ServerProcess::launch(spec, 23456);
    CHECK(contains(server->command_line(), "sh 23456 a23456b23456"));
    REQUIRE(server->wait_exit(Deadline::after(kGenerous)).has_value());
    CHECK(server->log_tail() == "port=23456\nboth=a23456b23456");
    server.reset();
    CHECK(descendants().empty());
}

TEST_CASE("server_process: no descendant survives, not even one in its own session") {
    become_subreaper();  // orphans come back to this process, as they do to labcheck
    TempDir temp;
    auto server = ServerProcess::launch(
        shell("setsid sleep 300 & exec sleep 300", temp.path() / "server.log"), 1);
    const pid_t leader = server->pid();

    // Until the grandchild has left the server's session (so a kill of the
    // session's process group alone would miss it).
    bool escaped = poll_until(Deadline::after(kGenerous), [&] {
        for (pid_t pid : server->tree()) {
            pid_t session = session_of(pid);
            if (session != 0 && session != leader) return true;
        }
        return false;
    });
    REQUIRE(escaped);
    CHECK(server->tree().size() == 2);

    server.reset();
    CHECK(descendants().empty());
}

TEST_CASE("server_process: a fork burst past max_processes trips the watchdog") {
    become_subreaper();
    TempDir temp;
    LaunchSpec spec = shell("i=0; while [ $i -lt 60 ]; do sleep 300 & i=$((i+1)); done; wait",
                            temp.path() / "server.log");
    spec.policy.max_processes = 20;
    auto server = ServerProcess::launch(spec, 1);

    REQUIRE(
        poll_until(Deadline::after(kGenerous), [&] { return server->tripped_at().has_value(); }));
    CHECK(*server->tripped_at() > 20);

    // The watch thread killed the whole tree, the shell included.
    CHECK(poll_until(Deadline::after(kGenerous), [&] { return server->tree().empty(); }));
    auto status = server->wait_exit(Deadline::after(kGenerous));
    REQUIRE(status.has_value());
    CHECK(contains(describe_wait_status(*status), "killed by signal 9"));

    server.reset();
    CHECK(descendants().empty());
}

TEST_CASE("server_process: kill_tree ends a running server") {
    TempDir temp;
    auto server = ServerProcess::launch(
        shell("sleep 300 & sleep 300 & exec sleep 300", temp.path() / "server.log"), 1);
    REQUIRE(poll_until(Deadline::after(kGenerous), [&] { return server->tree().size() == 3; }));
    server->kill_tree();
    CHECK(server->tree().empty());
    auto status = server->wait_exit(Deadline::after(kGenerous));
    REQUIRE(status.has_value());
    CHECK(WIFSIGNALED(*status));
    server.reset();
    CHECK(descendants().empty());
}
