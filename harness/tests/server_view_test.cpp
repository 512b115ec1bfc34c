#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "os/deadline.hpp"
#include "os/unique_fd.hpp"
#include "ports.hpp"
#include "procfs/children.hpp"
#include "server_process.hpp"
#include "server_view.hpp"

using namespace labcheck;
using namespace std::chrono_literals;
using procfs::TcpState;

namespace {

constexpr std::uint16_t kPort = 1205;

procfs::ProcessInfo process(pid_t pid, pid_t ppid, char state = 'S') {
    procfs::ProcessInfo info;
    info.pid = pid;
    info.ppid = ppid;
    info.state = state;
    info.comm = "server";
    return info;
}

procfs::TcpSocket listening(ino_t inode, std::string address = "0.0.0.0") {
    procfs::TcpSocket socket;
    socket.local = {std::move(address), kPort};
    socket.remote = {"0.0.0.0", 0};
    socket.state = TcpState::listen;
    socket.inode = inode;
    return socket;
}

procfs::TcpSocket connection(std::uint16_t client_port, TcpState state, ino_t inode) {
    procfs::TcpSocket socket;
    socket.local = {"127.0.0.1", kPort};
    socket.remote = {"127.0.0.1", client_port};
    socket.state = state;
    socket.inode = inode;
    return socket;
}

bool has(const std::vector<pid_t>& pids, pid_t pid) {
    return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

std::vector<pid_t> sorted(std::vector<pid_t> pids) {
    std::sort(pids.begin(), pids.end());
    return pids;
}

// A pre-fork server: parent 100 (child of labcheck, 1) and workers 101-103, all holding
// the listening socket 500; worker 102 serves a client on socket 600.
Snapshot prefork() {
    Snapshot snapshot;
    snapshot.processes = {process(100, 1), process(101, 100), process(102, 100), process(103, 100)};
    snapshot.sockets = {{100, {500}}, {101, {500}}, {102, {500, 600}}, {103, {500}}};
    snapshot.tcp = {listening(500), connection(40001, TcpState::established, 600)};
    return snapshot;
}

// ---------------------------------------------------------------- a live client

class Client {
  public:
    explicit Client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        REQUIRE(fd_);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE_MESSAGE(
            ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0,
            "connect to port " << port << ": errno " << errno);
    }

    std::uint16_t local_port() const {
        sockaddr_in address{};
        socklen_t length = sizeof address;
        REQUIRE(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
        return ntohs(address.sin_port);
    }

    void send_all(const std::string& data) {
        std::size_t sent = 0;
        while (sent < data.size()) {
            ssize_t n = ::send(fd_.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            REQUIRE(n > 0);
            sent += static_cast<std::size_t>(n);
        }
    }

    // Up to `count` bytes, or fewer at EOF or at the deadline.
    std::string receive(std::size_t count, const Deadline& deadline) {
        std::string data;
        while (data.size() < count) {
            pollfd entry{fd_.get(), POLLIN, 0};
            int ready = ::poll(&entry, 1, deadline.poll_timeout());
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) break;
            char buffer[64];
            const std::size_t want = std::min(sizeof buffer, count - data.size());
            ssize_t n = ::recv(fd_.get(), buffer, want, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            data.append(buffer, static_cast<std::size_t>(n));
        }
        return data;
    }

  private:
    UniqueFd fd_;
};

}  // namespace

// ---------------------------------------------------------------- Snapshot

TEST_CASE("server_view: an empty snapshot") {
    const Snapshot snapshot;
    CHECK(snapshot.listeners().empty());
    CHECK_FALSE(snapshot.main_listener().has_value());
    CHECK_FALSE(snapshot.server_side_of(40001).has_value());
    CHECK(snapshot.zombies().empty());
    CHECK(snapshot.holders(500).empty());
    CHECK(snapshot.find(100) == nullptr);
    CHECK(snapshot.count_in_state(TcpState::listen) == 0);
}

TEST_CASE("server_view: listeners are every holder of a LISTEN inode") {
    const Snapshot snapshot = prefork();
    CHECK(sorted(snapshot.listeners()) == std::vector<pid_t>{100, 101, 102, 103});

    SUBCASE("a process holding only a connection is no listener") {
        Snapshot one = snapshot;
        one.processes.push_back(process(104, 100));
        one.sockets[104] = {600};
        CHECK_FALSE(has(one.listeners(), 104));
        CHECK(one.listeners().size() == 4);
    }
    SUBCASE("two LISTEN sockets (IPv4 and IPv6), each pid listed once") {
        Snapshot both = snapshot;
        both.tcp.push_back(listening(501, "::"));
        both.sockets[100] = {500, 501};
        both.sockets[105] = {501};
        both.processes.push_back(process(105, 100));
        const auto pids = both.listeners();
        CHECK(sorted(pids) == std::vector<pid_t>{100, 101, 102, 103, 105});
    }
    SUBCASE("a socket inode in a non-LISTEN row does not make a listener") {
        Snapshot none;
        none.processes = {process(100, 1)};
        none.sockets = {{100, {600}}};
        none.tcp = {connection(40001, TcpState::established, 600)};
        CHECK(none.listeners().empty());
        CHECK_FALSE(none.main_listener().has_value());
    }
}

TEST_CASE("server_view: main_listener of a pre-fork server is the parent") {
    CHECK(prefork().main_listener() == std::optional<pid_t>(100));

    SUBCASE("whatever the order of the process table") {
        Snapshot snapshot = prefork();
        std::reverse(snapshot.processes.begin(), snapshot.processes.end());
        CHECK(snapshot.main_listener() == std::optional<pid_t>(100));
    }
    SUBCASE("a parent whose pid is above its workers' (pids wrap around)") {
        Snapshot snapshot = prefork();
        snapshot.processes = {process(900, 1), process(101, 900), process(102, 900)};
        snapshot.sockets = {{101, {500}}, {102, {500}}, {900, {500}}};
        CHECK(snapshot.main_listener() == std::optional<pid_t>(900));
    }
}

TEST_CASE("server_view: main_listener when the parent closed its listener is the first worker") {
    Snapshot snapshot = prefork();
    snapshot.sockets[100] = {};  // the parent keeps no socket; its workers accept
    CHECK(sorted(snapshot.listeners()) == std::vector<pid_t>{101, 102, 103});
    CHECK(snapshot.main_listener() == std::optional<pid_t>(101));
}

TEST_CASE("server_view: main_listener of a fork-per-client server ignores its children") {
    // The child forked for a client still holds the listener (it forgot to close it).
    Snapshot snapshot;
    snapshot.processes = {process(200, 1), process(201, 200)};
    snapshot.sockets = {{200, {500}}, {201, {500, 601}}};
    snapshot.tcp = {connection(40002, TcpState::established, 601), listening(500)};
    CHECK(snapshot.main_listener() == std::optional<pid_t>(200));
}

TEST_CASE("server_view: server_side_of matches the client port and skips LISTEN rows") {
    Snapshot snapshot = prefork();
    // A LISTEN row whose remote port happens to equal the client port (0 here).
    CHECK_FALSE(snapshot.server_side_of(0).has_value());
    CHECK_FALSE(snapshot.server_side_of(40999).has_value());

    const auto side = snapshot.server_side_of(40001);
    REQUIRE(side.has_value());
    CHECK(side->inode == 600);
    CHECK(side->state == TcpState::established);
    CHECK(side->local.port == kPort);
    CHECK(side->remote.port == 40001);
    CHECK(snapshot.holders(side->inode) == std::vector<pid_t>{102});

    SUBCASE("a connection in CLOSE-WAIT is found too") {
        snapshot.tcp.push_back(connection(40003, TcpState::close_wait, 603));
        const auto closing = snapshot.server_side_of(40003);
        REQUIRE(closing.has_value());
        CHECK(closing->state == TcpState::close_wait);
        CHECK(closing->inode == 603);
    }
}

TEST_CASE("server_view: holders of an inode") {
    const Snapshot snapshot = prefork();
    CHECK(sorted(snapshot.holders(500)) == std::vector<pid_t>{100, 101, 102, 103});
    CHECK(snapshot.holders(600) == std::vector<pid_t>{102});
    CHECK(snapshot.holders(999).empty());
}

TEST_CASE("server_view: zombies and find") {
    Snapshot snapshot;
    snapshot.processes = {process(300, 1, 'S'), process(301, 300, 'Z'), process(302, 300, 'R'),
                          process(303, 300, 'Z'), process(304, 300, 'X')};
    CHECK(sorted(snapshot.zombies()) == std::vector<pid_t>{301, 303, 304});
    REQUIRE(snapshot.find(302) != nullptr);
    CHECK(snapshot.find(302)->ppid == 300);
    CHECK(snapshot.find(302)->state == 'R');
    CHECK(snapshot.find(305) == nullptr);

    snapshot.processes = {process(300, 1, 'S'), process(302, 300, 'R')};
    CHECK(snapshot.zombies().empty());
}

TEST_CASE("server_view: count_in_state") {
    Snapshot snapshot = prefork();
    snapshot.tcp.push_back(connection(40002, TcpState::established, 601));
    snapshot.tcp.push_back(connection(40003, TcpState::close_wait, 602));
    snapshot.tcp.push_back(connection(40004, TcpState::time_wait, 0));
    snapshot.tcp.push_back(connection(40005, TcpState::time_wait, 0));
    snapshot.tcp.push_back(connection(40006, TcpState::time_wait, 0));
    CHECK(snapshot.count_in_state(TcpState::listen) == 1);
    CHECK(snapshot.count_in_state(TcpState::established) == 2);
    CHECK(snapshot.count_in_state(TcpState::close_wait) == 1);
    CHECK(snapshot.count_in_state(TcpState::time_wait) == 3);
    CHECK(snapshot.count_in_state(TcpState::fin_wait2) == 0);
}

// ---------------------------------------------------------------- a live server

TEST_CASE("server_view: a live fork-per-client server seen through /proc") {
    become_subreaper();  // orphans come back to this process, as they do to labcheck
    REQUIRE(procfs::descendant_pids(getpid()).empty());

    // Another process may take the port between the pick and the server's bind: retry.
    std::unique_ptr<ServerProcess> server;
    std::uint16_t port = 0;
    for (int attempt = 0; attempt < 5 && !server; ++attempt) {
        port = pick_free_port();
        LaunchSpec spec;
        spec.argv = {CORRECT_SERVER, "{port}"};
        spec.log_path = "/dev/null";
        auto launched = ServerProcess::launch(spec, port);
        const auto view = ServerView::launched(port);
        const bool listens = poll_until(Deadline::after(10s), [&] {
            return !view.snapshot().listeners().empty() || launched->wait_status().has_value();
        });
        if (listens && !launched->wait_status()) server = std::move(launched);
    }
    REQUIRE_MESSAGE(server, "the server never listened on a port of its own");
    const auto view = ServerView::launched(port);
    CHECK(view.port() == port);
    CHECK(has(view.tree(), server->pid()));

    const Snapshot before = view.snapshot();
    CHECK(before.main_listener() == std::optional<pid_t>(server->pid()));
    CHECK(has(before.listeners(), server->pid()));
    CHECK(before.count_in_state(TcpState::listen) >= 1);
    CHECK(before.zombies().empty());

    {
        Client client(port);
        const std::uint16_t client_port = client.local_port();
        client.send_all("hi");
        CHECK(client.receive(2, Deadline::after(10s)) == "HI");

        // The accepted socket is held by the child the server forked for us.
        std::optional<pid_t> worker;
        const bool served = poll_until(Deadline::after(10s), [&] {
            const Snapshot snapshot = view.snapshot();
            const auto side = snapshot.server_side_of(client_port);
            const auto listener = snapshot.main_listener();
            if (!side || side->inode == 0 || !listener) return false;
            for (pid_t pid : snapshot.holders(side->inode)) {
                if (pid != *listener) {
                    worker = pid;
                    return true;
                }
            }
            return false;
        });
        REQUIRE(served);
        REQUIRE(worker.has_value());
        CHECK(*worker != server->pid());
        const Snapshot during = view.snapshot();
        const auto* info = during.find(*worker);
        if (info != nullptr) CHECK(info->ppid == server->pid());
        const auto side = during.server_side_of(client_port);
        REQUIRE(side.has_value());
        CHECK(side->local.port == port);
        CHECK(side->remote.port == client_port);
        CHECK(side->state == TcpState::established);

        server.reset();  // while the client is still connected
    }
    CHECK(procfs::descendant_pids(getpid()).empty());
}
