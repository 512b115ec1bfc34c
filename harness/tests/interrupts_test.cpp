#include "interrupts.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "os/deadline.hpp"
#include "procfs/children.hpp"
#include "procfs/process_table.hpp"
#include "server_process.hpp"

using namespace labcheck;

TEST_CASE("interrupts: SIGINT to labcheck kills the server and every child it forked") {
    int report[2];
    REQUIRE(pipe2(report, O_CLOEXEC) == 0);
    pid_t checker = fork();
    REQUIRE(checker >= 0);
    if (checker == 0) {
        // Plays labcheck: a subreaper with a server whose children escape its session.
        close(report[0]);
        become_subreaper();
        stop_servers_on_interrupt();
        LaunchSpec spec;
        spec.argv = {"/bin/sh", "-c", "setsid sleep 300 & sleep 300 & exec sleep 300"};
        spec.log_path = "/dev/null";
        auto server = ServerProcess::launch(spec, 1);
        std::vector<pid_t> tree;
        poll_until(Deadline::after(Millis(10000)),
                   [&] { return (tree = server->tree()).size() >= 3; });
        for (pid_t pid : tree) [[maybe_unused]] auto n = write(report[1], &pid, sizeof pid);
        close(report[1]);
        for (;;) pause();  // until the signal thread ends us
    }
    close(report[1]);
    std::vector<pid_t> started;
    pid_t pid = 0;
    while (read(report[0], &pid, sizeof pid) == static_cast<ssize_t>(sizeof pid))
        started.push_back(pid);
    close(report[0]);
    REQUIRE(started.size() >= 3);

    REQUIRE(kill(checker, SIGINT) == 0);
    int status = 0;
    REQUIRE(waitpid(checker, &status, 0) == checker);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + SIGINT);
    // The server's processes were children of the checker: once it is gone they are
    // either dead or orphans of ours (we are a subreaper in other tests) — never alive.
    bool all_gone = poll_until(Deadline::after(Millis(5000)), [&] {
        for (pid_t child : started) {
            auto process = procfs::read_process(child);
            if (process && !process->is_zombie()) return false;
        }
        return true;
    });
    CHECK(all_gone);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}
