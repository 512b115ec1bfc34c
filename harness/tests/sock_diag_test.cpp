// sock_diag must tell the same story as /proc/net/tcp: the checks read it in place of
// the tables, so every field they use is compared here on live loopback sockets.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "labcheck_process.hpp"
#include "os/deadline.hpp"
#include "os/unique_fd.hpp"
#include "procfs/sock_diag.hpp"
#include "procfs/tcp_table.hpp"
#include "socket_address.hpp"
#include "temp_dir.hpp"

using namespace labcheck;
using namespace labcheck::procfs;

namespace {

// A dual-stack listener on an ephemeral port, as the lab servers open theirs: its IPv4
// clients show as ::ffff:127.0.0.1 on an AF_INET6 socket.
struct DualStackListener {
    UniqueFd fd{::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    std::uint16_t port = 0;

    DualStackListener() {
        REQUIRE(fd);
        int no = 0;
        REQUIRE(::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no) == 0);
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_addr = in6addr_any;
        REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(fd.get(), 8) == 0);
        socklen_t length = sizeof address;
        REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port = ntohs(address.sin6_port);
    }
};

UniqueFd connect_ipv4(std::uint16_t port) {
    UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(client);
    sockaddr_storage address{};
    const socklen_t length = make_address("127.0.0.1", port, address);
    REQUIRE(::connect(client.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0);
    return client;
}

void send_all(int fd, std::size_t bytes) {
    const std::string data(bytes, 'x');
    REQUIRE(::send(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(bytes));
}

// Everything but the time left on a timer, which runs on between the two reads.
auto key(const TcpSocket& socket) {
    return std::tuple(socket.local.address, socket.local.port, socket.remote.address,
                      socket.remote.port, socket.state, socket.tx_queue, socket.rx_queue,
                      socket.uid, socket.inode, socket.ipv6, socket.timer);
}

std::vector<TcpSocket> sorted(std::vector<TcpSocket> sockets) {
    std::sort(sockets.begin(), sockets.end(),
              [](const TcpSocket& a, const TcpSocket& b) { return key(a) < key(b); });
    return sockets;
}

auto keys(const std::vector<TcpSocket>& sockets) {
    std::vector<decltype(key(sockets.front()))> result;
    for (const auto& socket : sockets) result.push_back(key(socket));
    return result;
}

std::vector<TcpSocket> proc_rows_on(std::uint16_t port) {
    auto sockets = read_tcp_sockets();
    std::erase_if(sockets, [&](const TcpSocket& socket) { return socket.local.port != port; });
    return sorted(std::move(sockets));
}

}  // namespace

TEST_CASE("sock_diag: the sockets of a port are the rows /proc/net/tcp shows, field by field") {
    if (!diag_tcp_sockets(std::nullopt)) {
        MESSAGE("no sock_diag here: the /proc fallback is all there is");
        return;
    }
    DualStackListener listener;

    // One connection with bytes waiting both ways...
    const UniqueFd talker = connect_ipv4(listener.port);
    const UniqueFd served(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(served);
    send_all(talker.get(), 1000);
    send_all(served.get(), 500);
    // ...and one the server closed first, so the server's end waits in TIME-WAIT.
    {
        const UniqueFd leaver = connect_ipv4(listener.port);
        const UniqueFd closed_first(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        REQUIRE(closed_first);
    }

    // Loopback delivers at once, but the FINs and ACKs are a few steps: wait until the
    // tables hold still, then compare the two views of the same moment.
    std::vector<TcpSocket> from_proc;
    const bool settled = poll_until(Deadline::after(Millis(5000)), [&] {
        from_proc = proc_rows_on(listener.port);
        return std::any_of(from_proc.begin(), from_proc.end(),
                           [](const TcpSocket& s) { return s.state == TcpState::time_wait; }) &&
               std::any_of(from_proc.begin(), from_proc.end(),
                           [](const TcpSocket& s) { return s.rx_queue == 1000; }) &&
               keys(from_proc) == keys(proc_rows_on(listener.port));
    });
    REQUIRE(settled);
    const auto from_diag = sorted(*diag_tcp_sockets(listener.port));
    REQUIRE(from_diag.size() == from_proc.size());
    CHECK(from_proc.size() == 3);  // LISTEN, ESTAB, TIME-WAIT
    for (std::size_t i = 0; i < from_diag.size(); ++i) {
        INFO("row ", i, ": ", to_string(from_proc[i].state));
        CHECK(key(from_diag[i]) == key(from_proc[i]));
        const auto drift = from_diag[i].timer_left - from_proc[i].timer_left;
        CHECK(std::chrono::abs(drift) < std::chrono::milliseconds(1000));
    }
    CHECK(tcp_sockets_on_port(listener.port).size() == from_diag.size());
}

TEST_CASE("sock_diag: one connection is found by its two ports, from either end") {
    DualStackListener listener;
    const UniqueFd client = connect_ipv4(listener.port);
    const UniqueFd served(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(served);
    send_all(client.get(), 700);
    const std::uint16_t client_port = local_port_of(client.get());

    std::optional<TcpSocket> server_end;
    REQUIRE(poll_until(Deadline::after(Millis(5000)), [&] {
        server_end = tcp_connection("127.0.0.1", listener.port, client_port);
        return server_end && server_end->rx_queue == 700;
    }));
    CHECK(server_end->state == TcpState::established);
    CHECK(server_end->ipv6);  // the dual-stack socket, found through its IPv4 address
    CHECK(server_end->remote.address == "::ffff:127.0.0.1");

    const auto client_end = tcp_connection("127.0.0.1", client_port, listener.port);
    REQUIRE(client_end);
    CHECK_FALSE(client_end->ipv6);
    CHECK(client_end->rx_queue == 0);
    CHECK(client_end->local.port == client_port);

    // A pair of ports no connection uses.
    CHECK_FALSE(tcp_connection("127.0.0.1", listener.port, listener.port));
}

TEST_CASE("sock_diag: listening_tcp_sockets holds our listener and nothing but listeners") {
    DualStackListener listener;
    const UniqueFd client = connect_ipv4(listener.port);
    struct stat info {};
    REQUIRE(::fstat(listener.fd.get(), &info) == 0);

    const auto listening = listening_tcp_sockets();
    CHECK(std::all_of(listening.begin(), listening.end(),
                      [](const TcpSocket& s) { return s.state == TcpState::listen; }));
    const auto ours = std::find_if(listening.begin(), listening.end(),
                                   [&](const TcpSocket& s) { return s.inode == info.st_ino; });
    REQUIRE(ours != listening.end());
    CHECK(ours->local.port == listener.port);
    CHECK(ours->rx_queue == 1);  // the client waits in the accept queue
    CHECK(ours->tx_queue == 0);  // as /proc prints it, not the backlog sock_diag sends
}

TEST_CASE("procfs: tcp_buffer_ceiling adds the largest send and receive buffers, for both ends") {
    TempDir proc;
    std::filesystem::create_directories(proc.path() / "sys/net/ipv4");
    SUBCASE("read from the sysctls") {
        std::ofstream(proc.path() / "sys/net/ipv4/tcp_wmem") << "4096\t16384\t4194304\n";
        std::ofstream(proc.path() / "sys/net/ipv4/tcp_rmem") << "4096\t131072\t6291456\n";
        CHECK(tcp_buffer_ceiling(proc.path()) == 2 * (4194304 + 6291456));
    }
    SUBCASE("a missing or short sysctl gives no figure") {
        std::ofstream(proc.path() / "sys/net/ipv4/tcp_wmem") << "4096 16384\n";
        CHECK_FALSE(tcp_buffer_ceiling(proc.path()));
    }
}

// Where sock_diag is missing, labcheck reads /proc/net/tcp instead: LABCHECK_NO_SOCK_DIAG
// takes that path on purpose, and the verdicts must not change, in either direction.
TEST_CASE("sock_diag: without it, the checks that read TCP sockets judge the same") {
    const std::map<std::string, std::string> proc_only{{"LABCHECK_NO_SOCK_DIAG", "1"}};
    const std::string checks = "listens,eof,no-zombies,close-wait,restart";

    LabcheckProcess correct({"check", "05", "--server", CORRECT_SERVER, "--only", checks},
                            proc_only);
    auto status = correct.wait_exit(Deadline::after(Millis(60000)));
    REQUIRE(status.has_value());
    INFO(correct.output());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);

    LabcheckProcess never_reaps(
        {"check", "05", "--server", NO_REAPING_SERVER, "--only", checks, "--format", "json"},
        proc_only);
    status = never_reaps.wait_exit(Deadline::after(Millis(60000)));
    REQUIRE(status.has_value());
    INFO(never_reaps.output());
    CHECK(WEXITSTATUS(*status) == 1);
    const auto report = nlohmann::json::parse(never_reaps.output());
    for (const auto& check : report["checks"])
        CHECK_MESSAGE(check["status"] == (check["id"] == "no-zombies" ? "fail" : "pass"),
                      check["id"]);
}
