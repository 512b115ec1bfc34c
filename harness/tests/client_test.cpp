#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "check_failure.hpp"
#include "client.hpp"
#include "os/deadline.hpp"
#include "os/unique_fd.hpp"

using namespace labcheck;
using namespace std::chrono_literals;

namespace {

// The bound of every wait that is expected to succeed: generous, so that a loaded
// machine does not fail a test, and finite, so that a broken one does not hang it.
constexpr Millis kGenerous{10000};

// Waits until `fd` is ready for `events`; false when `stop_fd` became readable or
// the deadline passed first.
bool wait_ready(int fd, short events, int stop_fd, const Deadline& deadline) {
    for (;;) {
        pollfd entries[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
        int ready = ::poll(entries, 2, deadline.poll_timeout());
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0 || entries[1].revents != 0) return false;
        if (entries[0].revents != 0) return true;
    }
}

// Waits until stop() or the deadline.
void hold(int stop_fd, const Deadline& deadline) {
    pollfd entry{stop_fd, POLLIN, 0};
    while (::poll(&entry, 1, deadline.poll_timeout()) < 0 && errno == EINTR) {
    }
}

// Sends all of `data` on a non-blocking socket; false when the connection failed,
// stop() was called or the deadline passed.
bool peer_send(int fd, std::string_view data, int stop_fd, const Deadline& deadline) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
        if (!wait_ready(fd, POLLOUT, stop_fd, deadline)) return false;
    }
    return true;
}

// The far end of a test connection: a loopback listener and one thread that
// accepts one client and runs `behaviour` on it. Every wait of that thread is
// bounded by a deadline and ends at stop(), so destroying a Peer always returns.
class Peer {
  public:
    using Behaviour = std::function<void(int connection, int stop_fd, const Deadline& deadline)>;

    // `receive_buffer` > 0 pins SO_RCVBUF of the accepted socket (no autotuning).
    Peer(int family, Behaviour behaviour, int receive_buffer = 0) {
        listener_ = UniqueFd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        REQUIRE(listener_);
        if (receive_buffer > 0)
            REQUIRE(setsockopt(listener_.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer,
                               sizeof receive_buffer) == 0);
        sockaddr_storage address{};
        socklen_t length = 0;
        if (family == AF_INET6) {
            auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
            v6->sin6_family = AF_INET6;
            v6->sin6_addr = in6addr_loopback;
            length = sizeof(sockaddr_in6);
        } else {
            auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
            v4->sin_family = AF_INET;
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            length = sizeof(sockaddr_in);
        }
        REQUIRE(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), length) == 0);
        REQUIRE(::listen(listener_.get(), 4) == 0);
        length = sizeof address;
        REQUIRE(getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                         : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
        int ends[2];
        REQUIRE(pipe2(ends, O_CLOEXEC) == 0);
        stop_read_ = UniqueFd(ends[0]);
        stop_write_ = UniqueFd(ends[1]);
        thread_ = std::thread([this, run = std::move(behaviour)] { serve(run); });
    }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;
    ~Peer() {
        stop();
        join();
    }

    std::uint16_t port() const { return port_; }
    // Makes every wait of the thread end now (the pipe stays readable).
    void stop() {
        char byte = 1;
        [[maybe_unused]] auto ignored = ::write(stop_write_.get(), &byte, 1);
    }
    // Waits for the behaviour to return by itself.
    void join() {
        if (thread_.joinable()) thread_.join();
    }

  private:
    void serve(const Behaviour& behaviour) {
        auto deadline = Deadline::after(3 * kGenerous);
        if (!wait_ready(listener_.get(), POLLIN, stop_read_.get(), deadline)) return;
        UniqueFd connection(
            ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (connection) behaviour(connection.get(), stop_read_.get(), deadline);
    }

    UniqueFd listener_;
    UniqueFd stop_read_;
    UniqueFd stop_write_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

// Echoes everything until EOF, then closes.
void echo(int connection, int stop_fd, const Deadline& deadline) {
    std::string buffer(64 * 1024, '\0');
    for (;;) {
        if (!wait_ready(connection, POLLIN, stop_fd, deadline)) return;
        ssize_t n = ::recv(connection, buffer.data(), buffer.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) return;
        if (!peer_send(connection, std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                       stop_fd, deadline))
            return;
    }
}

// Never reads, never writes: holds the connection until stop().
void silent(int, int stop_fd, const Deadline& deadline) {
    hold(stop_fd, deadline);
}

std::string random_bytes(std::size_t size) {
    std::mt19937 generator(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(byte(generator));
    return data;
}

bool ipv6_loopback_available() {
    UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return false;
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

Millis since(Clock::time_point start) {
    return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

}  // namespace

TEST_CASE("client: round trip with an echoing peer") {
    Peer peer(AF_INET, echo);
    auto connection = Connection::open("127.0.0.1", peer.port(), Deadline::after(kGenerous));
    CHECK(connection.is_open());
    CHECK(connection.peer() == "127.0.0.1:" + std::to_string(peer.port()));
    CHECK(connection.local_port() != 0);

    connection.send_all("Hello, Socket World!\n", Deadline::after(kGenerous));
    Received reply = connection.receive(21, Deadline::after(kGenerous));
    CHECK(reply.end == Received::End::complete);
    CHECK(reply.data == "Hello, Socket World!\n");
    CHECK(reply.describe_end(kGenerous) == "all of it came back");

    expect_reply(connection, "again", "again", kGenerous);

    SUBCASE("a reply that differs throws CheckFailure with what was sent and expected") {
        CHECK_THROWS_WITH_AS(expect_reply(connection, "abc", "abd", kGenerous),
                             doctest::Contains("expected"), CheckFailure);
    }
}

TEST_CASE("client: round_trip connects, sends and keeps the connection open") {
    Peer peer(AF_INET, echo);
    auto connection = round_trip("127.0.0.1", peer.port(), "ping", "ping", kGenerous);
    CHECK(connection.is_open());
    expect_reply(connection, "pong", "pong", kGenerous);
}

TEST_CASE("client: receive times out with the partial data within its deadline") {
    std::atomic<bool> sent{false};
    Peer peer(AF_INET, [&](int connection, int stop_fd, const Deadline& deadline) {
        if (peer_send(connection, "partial", stop_fd, deadline)) sent = true;
        hold(stop_fd, deadline);
    });
    auto connection = Connection::open("127.0.0.1", peer.port(), Deadline::after(kGenerous));
    REQUIRE(poll_until(Deadline::after(kGenerous), [&] { return sent.load(); }));

    const Millis budget{300};
    auto start = Clock::now();
    Received reply = connection.receive(100, Deadline::after(budget));
    Millis elapsed = since(start);

    CHECK(reply.end == Received::End::timeout);
    CHECK(reply.data == "partial");
    CHECK(elapsed >= budget - Millis(50));
    CHECK(elapsed < budget + kGenerous);
    CHECK(reply.describe_end(budget) == "then nothing more came for 300 ms");
}

TEST_CASE("client: receive_until_eof sees the peer close") {
    SUBCASE("a short message, then close") {
        Peer peer(AF_INET, [](int connection, int stop_fd, const Deadline& deadline) {
            peer_send(connection, "goodbye\n", stop_fd, deadline);
        });
        auto connection = Connection::open("127.0.0.1", peer.port(), Deadline::after(kGenerous));
        Received reply = connection.receive_until_eof(1024, Deadline::after(kGenerous));
        CHECK(reply.end == Received::End::eof);
        CHECK(reply.data == "goodbye\n");
        CHECK(reply.describe_end(kGenerous) == "then the server closed the connection");
    }
    SUBCASE("exactly the cap, then close, is EOF and not the cap") {
        const std::string message(1000, 'x');
        Peer peer(AF_INET, [&](int connection, int stop_fd, const Deadline& deadline) {
            peer_send(connection, message, stop_fd, deadline);
        });
        auto connection = Connection::open("127.0.0.1", peer.port(), Deadline::after(kGenerous));
        Received reply = connection.receive_until_eof(message.size(), Deadline::after(kGenerous));
        CHECK(reply.end == Received::End::eof);
        CHECK(reply.data == message);
    }
    SUBCASE("after a half-close, the echo of what was sent") {
        Peer peer(AF_INET, echo);
        auto connection = Connection::open("127.0.0.1", peer.port(), Deadline::after(kGenerous));
        connection.send_all("half", Deadline::after(kGenerous));
        connection.shutdown_write();
        Received reply = connection.receive_until_eof(1024, Deadline::after(kGenerous));
        CHECK(reply.end == Received::End::eof);
        CHECK(reply.data == "half");
    }
}

TEST_CASE("client: receive_until_eof stops at the cap for a peer that keeps sending") {
    Peer peer(AF_INET, [](int connection, int stop_fd, const Deadline& deadline) {
        const std::string chunk(64 * 1024, 'y');
        while (peer_send(connection, chunk, stop_fd, deadline)) {
        }
    });
    auto connection = Connection::open("127.0.0.1", peer.port(), Deadline::after(kGenerous));
    const std::size_t cap = 100000;
    Received reply = connection.receive_until_eof(cap, Deadline::after(kGenerous));
    CHECK(reply.end == Received::End::cap);
    // One byte past the cap tells "more than the cap" from "exactly the cap".
    CHECK(reply.data.size() == cap + 1);
    CHECK(reply.data.find_first_not_of('y') == std::string::npos);
    CHECK(reply.describe_end(kGenerous) == "and the server kept sending more than was asked for");
    connection.abort();  // the peer's next send fails and its thread ends
}

TEST_CASE("client: exchange of 1 MiB with an echoing peer") {
    Peer peer(AF_INET, echo);
    auto connection = Connection::open("127.0.0.1", peer.port(), Deadline::after(kGenerous));
    const std::string payload = random_bytes(1024 * 1024);
    Received reply =
        connection.exchange(payload, payload.size(), Millis(5000), Deadline::after(3 * kGenerous));
    CHECK(reply.end == Received::End::complete);
    CHECK(reply.data.size() == payload.size());
    CHECK((reply.data == payload));  // as a bool: no 1 MiB of text on failure
    CHECK(reply.error.empty());
}

TEST_CASE("client: exchange reports a stall against a peer that never reads") {
    // A small, fixed receive buffer on the peer: no autotuning, so the payload
    // below surely fills both sides.
    Peer peer(AF_INET, silent, 64 * 1024);
    auto connection = Connection::open("127.0.0.1", peer.port(), Deadline::after(kGenerous));
    const std::string payload(16 * 1024 * 1024, 'z');
    const Millis stall{300};

    auto start = Clock::now();
    Received reply =
        connection.exchange(payload, payload.size(), stall, Deadline::after(3 * kGenerous));
    Millis elapsed = since(start);

    CHECK(reply.end == Received::End::timeout);
    CHECK(reply.data.empty());
    CHECK(reply.error.find("could send only") != std::string::npos);
    CHECK(reply.error.find(std::to_string(payload.size()) + " bytes") != std::string::npos);
    CHECK(elapsed >= stall - Millis(50));
    CHECK(elapsed < stall + kGenerous);
}

TEST_CASE("client: connecting to a closed port throws CheckFailure naming the address") {
    // A bound socket that does not listen: its port refuses connections, and
    // nobody else can take it while the test runs.
    UniqueFd holder(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(holder);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(holder.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(holder.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const std::uint16_t port = ntohs(address.sin_port);

    const std::string where = "could not connect to 127.0.0.1:" + std::to_string(port);
    CHECK_THROWS_WITH_AS(Connection::open("127.0.0.1", port, Deadline::after(kGenerous)),
                         doctest::Contains(where.c_str()), CheckFailure);
    CHECK_THROWS_WITH_AS(Connection::open("127.0.0.1", port, Deadline::after(kGenerous)),
                         doctest::Contains("refused"), CheckFailure);
}

namespace {

// Connects to a listener that never accepts, with a backlog of 0, until a
// connection request goes unanswered (Linux drops SYNs while the accept queue is
// full); returns that attempt's CheckFailure message and how long it took.
std::pair<std::string, Millis> unanswered_connect(Millis budget) {
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener.get(), 0) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const std::uint16_t port = ntohs(address.sin_port);

    std::vector<Connection> queued;  // they fill the accept queue
    for (int attempt = 0; attempt < 16; ++attempt) {
        auto start = Clock::now();
        try {
            queued.push_back(Connection::open("127.0.0.1", port, Deadline::after(budget)));
        } catch (const CheckFailure& failure) {
            return {failure.what(), since(start)};
        }
    }
    FAIL("every connection request was answered: the accept queue never filled");
    return {};
}

}  // namespace

TEST_CASE("client: a connection request nobody answers fails at the deadline") {
    const Millis budget{300};
    auto [message, elapsed] = unanswered_connect(budget);
    CHECK(message.find("could not connect to 127.0.0.1:") != std::string::npos);
    CHECK(message.find("no answer to the connection request") != std::string::npos);
    CHECK(elapsed >= budget - Millis(50));
    CHECK(elapsed < budget + kGenerous);
}

TEST_CASE("client: an unanswered connection request names the time waited") {
    auto [message, elapsed] = unanswered_connect(Millis(300));
    CAPTURE(message);
    CHECK(message.find("within 0 ms") == std::string::npos);
    CHECK((message.find("within 300 ms") != std::string::npos ||
           message.find("within 299 ms") != std::string::npos));
}

TEST_CASE("client: a host that is not a numeric address throws CheckFailure") {
    CHECK_THROWS_WITH_AS(Connection::open("localhost", 1, Deadline::after(kGenerous)),
                         doctest::Contains("not a numeric IP address"), CheckFailure);
}

TEST_CASE("client: how the peer sees the connection end") {
    // The peer does one round trip, then records what its next recv returns.
    struct Outcome {
        bool reached = false;
        ssize_t result = 1;
        int error = 0;
    } outcome;
    Peer peer(AF_INET, [&](int connection, int stop_fd, const Deadline& deadline) {
        char buffer[4];
        std::size_t got = 0;
        while (got < sizeof buffer) {
            if (!wait_ready(connection, POLLIN, stop_fd, deadline)) return;
            ssize_t n = ::recv(connection, buffer + got, sizeof buffer - got, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) return;
            got += static_cast<std::size_t>(n);
        }
        if (!peer_send(connection, std::string_view(buffer, sizeof buffer), stop_fd, deadline))
            return;
        for (;;) {
            if (!wait_ready(connection, POLLIN, stop_fd, deadline)) return;
            ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            outcome.result = n;
            outcome.error = n < 0 ? errno : 0;
            outcome.reached = true;
            return;
        }
    });
    std::optional<Connection> connection =
        round_trip("127.0.0.1", peer.port(), "ping", "ping", kGenerous);

    SUBCASE("abort() makes the peer's recv fail with ECONNRESET") {
        connection->abort();
        CHECK_FALSE(connection->is_open());
        peer.join();
        REQUIRE(outcome.reached);
        CHECK(outcome.result == -1);
        CHECK(outcome.error == ECONNRESET);
    }
    SUBCASE("dropping an open connection aborts it too") {
        connection.reset();
        peer.join();
        REQUIRE(outcome.reached);
        CHECK(outcome.result == -1);
        CHECK(outcome.error == ECONNRESET);
    }
    SUBCASE("close_gracefully() lets the peer read EOF") {
        connection->close_gracefully();
        CHECK_FALSE(connection->is_open());
        peer.join();
        REQUIRE(outcome.reached);
        CHECK(outcome.result == 0);
    }
}

TEST_CASE("client: round trip over IPv6 ::1") {
    if (!ipv6_loopback_available()) {
        MESSAGE("skipped: this machine has no IPv6 loopback");
        return;
    }
    Peer peer(AF_INET6, echo);
    auto connection = Connection::open("::1", peer.port(), Deadline::after(kGenerous));
    CHECK(connection.peer() == "[::1]:" + std::to_string(peer.port()));
    CHECK(connection.local_port() != 0);
    expect_reply(connection, "over IPv6\n", "over IPv6\n", kGenerous);
}
