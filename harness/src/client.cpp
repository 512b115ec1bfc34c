#include "client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include <fmt/format.h>

#include "byte_diff.hpp"
#include "check_failure.hpp"
#include "os/errors.hpp"
#include "socket_address.hpp"

namespace labcheck {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

std::string endpoint_text(const std::string& host, std::uint16_t port) {
    return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                               : fmt::format("{}:{}", host, port);
}

// Waits for `events` on fd; returns the revents, 0 on timeout.
short wait_for(int fd, short events, const Deadline& deadline) {
    pollfd entry{fd, events, 0};
    int ready = retry_on_eintr([&] { return ::poll(&entry, 1, deadline.poll_timeout()); });
    if (ready < 0) throw_errno("poll");
    return ready == 0 ? 0 : entry.revents;
}

}  // namespace

std::string Received::describe_end(Millis waited) const {
    switch (end) {
        case End::complete:
            return "all of it came back";
        case End::eof:
            return "then the server closed the connection";
        case End::timeout:
            return fmt::format("then nothing more came for {} ms", waited.count());
        case End::reset:
            return fmt::format("then the connection was reset ({})", error);
        case End::cap:
            return "and the server kept sending more than was asked for";
    }
    return {};
}

Connection Connection::open(const std::string& host, std::uint16_t port, const Deadline& deadline,
                            int receive_buffer) {
    const std::string where = endpoint_text(host, port);
    sockaddr_storage address{};
    socklen_t length = make_address(host, port, address);
    if (length == 0) throw CheckFailure(fmt::format("{} is not a numeric IP address", host));

    UniqueFd fd(::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    if (receive_buffer > 0 &&
        setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer) != 0)
        throw_errno("setsockopt(SO_RCVBUF)");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
        if (errno != EINPROGRESS)
            throw CheckFailure(
                fmt::format("could not connect to {}: {}", where, std::strerror(errno)));
        Millis budget = deadline.remaining();
        if (wait_for(fd.get(), POLLOUT, deadline) == 0)
            throw CheckFailure(fmt::format(
                "could not connect to {}: no answer to the connection request within {} ms "
                "(is the listen backlog full, or is the server stopped?)",
                where, budget.count()));
        int error = 0;
        socklen_t error_length = sizeof error;
        if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &error_length) != 0)
            throw_errno("getsockopt(SO_ERROR)");
        if (error != 0)
            throw CheckFailure(
                fmt::format("could not connect to {}: {}", where, std::strerror(error)));
    }
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint16_t local = local_port_of(fd.get());
    if (auto* watching = check_observer()) watching->opened(local);
    return Connection(std::move(fd), local, where);
}

Connection::~Connection() {
    if (fd_) abort();
}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        if (fd_) abort();
        fd_ = std::move(other.fd_);
        local_port_ = other.local_port_;
        peer_ = std::move(other.peer_);
        replied_ = other.replied_;
    }
    return *this;
}

void Connection::send_all(std::string_view data, const Deadline& deadline) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        ssize_t n = ::send(fd_.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN)
            throw CheckFailure(fmt::format("sending to {} failed after {} of {} bytes: {}", peer_,
                                           sent, data.size(), std::strerror(errno)));
        if (wait_for(fd_.get(), POLLOUT, deadline) == 0)
            throw CheckFailure(
                fmt::format("sending stalled after {} of {} bytes: the server stopped reading",
                            sent, data.size()));
    }
}

std::size_t Connection::send_some(std::string_view data) {
    ssize_t n =
        retry_on_eintr([&] { return ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL); });
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

bool Connection::read_some(Received& into, std::size_t max) {
    char buffer[kChunk];
    ssize_t n = ::recv(fd_.get(), buffer, std::min(max, sizeof buffer), 0);
    if (n > 0) {
        into.data.append(buffer, static_cast<std::size_t>(n));
        if (!replied_) {
            replied_ = true;
            if (auto* watching = check_observer()) watching->replied(local_port_);
        }
        return true;
    }
    if (n == 0) {
        into.end = Received::End::eof;
        return false;
    }
    if (errno == EAGAIN || errno == EINTR) return true;
    into.end = Received::End::reset;
    into.error = std::strerror(errno);
    return false;
}

Received Connection::receive(std::size_t want, const Deadline& deadline) {
    Received result;
    while (result.data.size() < want) {
        short events = wait_for(fd_.get(), POLLIN, deadline);
        if (events == 0) {
            result.end = Received::End::timeout;
            return result;
        }
        if (!read_some(result, want - result.data.size())) return result;
    }
    result.end = Received::End::complete;
    return result;
}

Received Connection::receive_until_eof(std::size_t cap, const Deadline& deadline) {
    Received result;
    for (;;) {
        if (result.data.size() > cap) {
            result.end = Received::End::cap;
            return result;
        }
        if (wait_for(fd_.get(), POLLIN, deadline) == 0) {
            result.end = Received::End::timeout;
            return result;
        }
        // Read one byte past the cap, so "exactly cap" and "more than cap" differ.
        if (!read_some(result, cap + 1 - result.data.size())) return result;
    }
}

Received Connection::exchange(std::string_view data, std::size_t want, Millis stall,
                              const Deadline& deadline) {
    Received result;
    std::size_t sent = 0;
    auto progress = Deadline::after(stall).capped_by(deadline);
    while (result.data.size() < want) {
        pollfd entry{fd_.get(), static_cast<short>(POLLIN | (sent < data.size() ? POLLOUT : 0)), 0};
        int ready = retry_on_eintr([&] { return ::poll(&entry, 1, progress.poll_timeout()); });
        if (ready < 0) throw_errno("poll");
        if (ready == 0) {
            result.end = Received::End::timeout;
            if (sent < data.size())
                result.error =
                    fmt::format("labcheck could send only {} of {} bytes", sent, data.size());
            return result;
        }
        if (entry.revents & POLLOUT) {
            std::size_t chunk = std::min(kChunk, data.size() - sent);
            ssize_t n = ::send(fd_.get(), data.data() + sent, chunk, MSG_NOSIGNAL);
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
                progress = Deadline::after(stall).capped_by(deadline);
            }
        }
        if (entry.revents & (POLLIN | POLLHUP | POLLERR)) {
            std::size_t before = result.data.size();
            if (!read_some(result, want - result.data.size())) return result;
            if (result.data.size() > before) progress = Deadline::after(stall).capped_by(deadline);
        }
    }
    result.end = Received::End::complete;
    return result;
}

void Connection::shutdown_write() {
    if (::shutdown(fd_.get(), SHUT_WR) != 0 && errno != ENOTCONN) throw_errno("shutdown");
    if (auto* watching = check_observer()) watching->half_closed(local_port_);
}

void Connection::close_gracefully() {
    if (auto* watching = check_observer(); watching && fd_) watching->closing(local_port_, false);
    fd_.reset();
}

void Connection::abort() {
    if (auto* watching = check_observer(); watching && fd_) watching->closing(local_port_, true);
    linger hard{1, 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    fd_.reset();
}

void expect_reply(Connection& connection, std::string_view message, std::string_view expected,
                  Millis budget) {
    auto deadline = Deadline::after(budget);
    connection.send_all(message, deadline);
    Received reply = connection.receive(expected.size(), deadline);
    if (reply.data == expected) return;
    std::string story =
        fmt::format("sent     {}\nexpected {}\nreceived {} — {}", quote_bytes(message),
                    quote_bytes(expected), quote_bytes(reply.data), reply.describe_end(budget));
    if (!reply.data.empty() && reply.end == Received::End::complete)
        story += "\n" + describe_difference(expected, reply.data);
    throw CheckFailure(story);
}

Connection round_trip(const std::string& host, std::uint16_t port, std::string_view message,
                      std::string_view expected, Millis budget) {
    auto connection = Connection::open(host, port, Deadline::after(budget));
    expect_reply(connection, message, expected, budget);
    return connection;
}

}  // namespace labcheck
