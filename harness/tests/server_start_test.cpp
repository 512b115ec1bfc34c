#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "os/unique_fd.hpp"
#include "ports.hpp"
#include "procfs/children.hpp"
#include "server_start.hpp"

using namespace labcheck;

namespace {

// Holds a port the way another program on the machine would: bound and listening on 0.0.0.0.
UniqueFd occupy(std::uint16_t port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd.get(), 1) == 0);
    return fd;
}

LaunchSpec correct_server() {
    LaunchSpec spec;
    spec.argv = {CORRECT_SERVER, "{port}"};
    spec.log_path = "/dev/null";
    return spec;
}

}  // namespace

TEST_CASE("server_start: a port taken before the server binds is retried with another") {
    become_subreaper();
    std::uint16_t taken = pick_free_port();
    UniqueFd holder = occupy(taken);
    std::uint16_t free_port = 0;
    std::vector<std::uint16_t> offered;
    auto picker = [&] {
        // First the port someone else grabbed, then a free one.
        std::uint16_t port = offered.empty() ? taken : (free_port = pick_free_port());
        offered.push_back(port);
        return port;
    };
    {
        StartedServer started = start_server(correct_server(), std::nullopt, Millis(10000), picker);
        CHECK(started.failure.empty());
        CHECK(offered.size() == 2);
        CHECK(started.port == free_port);
        CHECK(started.port != taken);
        CHECK_FALSE(started.baseline.empty());
    }
    CHECK(procfs::descendant_pids(getpid()).empty());
}

TEST_CASE("server_start: a fixed port that is taken is a failure that names the port") {
    become_subreaper();
    std::uint16_t taken = pick_free_port();
    UniqueFd holder = occupy(taken);
    StartedServer started = start_server(correct_server(), taken, Millis(10000));
    CHECK(started.failure.find("before listening on port " + std::to_string(taken)) !=
          std::string::npos);
    CHECK(started.failure.find("exited with status") != std::string::npos);
    started.process.reset();
    CHECK(procfs::descendant_pids(getpid()).empty());
}

TEST_CASE("server_start: a server that never listens is reported after the timeout") {
    become_subreaper();
    LaunchSpec spec;
    spec.argv = {"/bin/sh", "-c", "exec sleep 30"};
    spec.log_path = "/dev/null";
    StartedServer started = start_server(spec, pick_free_port(), Millis(300));
    CHECK(started.failure.find("no listening socket on port") != std::string::npos);
    started.process.reset();
    CHECK(procfs::descendant_pids(getpid()).empty());
}

namespace {

std::uint16_t byte_swapped(std::uint16_t port) {
    return static_cast<std::uint16_t>((port >> 8) | (port << 8));
}

// A correct server told to listen on `actual`, while labcheck waits on `expected`.
std::string failure_when_listening_on(std::uint16_t actual, std::uint16_t expected) {
    LaunchSpec spec = correct_server();
    spec.argv = {CORRECT_SERVER, std::to_string(actual)};
    StartedServer started = start_server(spec, expected, Millis(1500));
    started.process.reset();
    return started.failure;
}

}  // namespace

TEST_CASE("server_start: a port with its bytes swapped is a forgotten htons, and says so") {
    become_subreaper();
    std::uint16_t actual = pick_free_port();
    std::uint16_t expected = byte_swapped(actual);  // what htons-less code would bind
    REQUIRE(expected != actual);
    std::string failure = failure_when_listening_on(actual, expected);
    CHECK(failure.find("listens on port " + std::to_string(actual) + " instead") !=
          std::string::npos);
    CHECK(failure.find("htons(port)") != std::string::npos);
    CHECK(procfs::descendant_pids(getpid()).empty());
}

TEST_CASE("server_start: a server on some other port is told to take the port from argv[1]") {
    become_subreaper();
    std::uint16_t actual = pick_free_port();
    std::uint16_t expected = static_cast<std::uint16_t>(actual + 1);
    REQUIRE(byte_swapped(actual) != expected);
    std::string failure = failure_when_listening_on(actual, expected);
    CHECK(failure.find("take the port from argv[1]") != std::string::npos);
    CHECK(failure.find("htons") == std::string::npos);
    CHECK(procfs::descendant_pids(getpid()).empty());
}
