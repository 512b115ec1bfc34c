#pragma once
// The test client: a TCP connection where every call has a deadline. Reads are
// capped, and large payloads are written and read at the same time, so a server
// that never reads, never stops sending or never answers cannot hang labcheck.

#include <cstdint>
#include <string>
#include <string_view>

#include "check_observer.hpp"
#include "os/deadline.hpp"
#include "os/unique_fd.hpp"

namespace labcheck {

struct Received {
    enum class End { complete, eof, timeout, reset, cap };
    std::string data;
    End end = End::complete;
    std::string error;  // strerror text for End::reset

    // "the connection was closed by the server", "nothing more came within 2000 ms", ...
    std::string describe_end(Millis waited) const;
};

class Connection {
  public:
    // Connects to host:port (numeric address, IPv4 or IPv6). Throws CheckFailure
    // with "could not connect to HOST:PORT: REASON" when it cannot.
    // A `receive_buffer` (bytes) other than 0 shrinks the socket's receive buffer
    // before connecting, so the window it offers stays small.
    static Connection open(const std::string& host, std::uint16_t port, const Deadline& deadline,
                           int receive_buffer = 0);

    Connection(Connection&&) = default;
    Connection& operator=(Connection&& other) noexcept;
    // An open connection is aborted with RST when dropped: the server side then
    // leaves no TIME-WAIT behind that could block the next server on this port.
    ~Connection();

    // Writes all of `data`. Throws CheckFailure when the server stops reading
    // for longer than the deadline or resets the connection.
    void send_all(std::string_view data, const Deadline& deadline);

    // Writes what the socket takes now without waiting; returns how much.
    std::size_t send_some(std::string_view data);

    // Reads until `want` bytes came, the server closed or reset, or the deadline.
    Received receive(std::size_t want, const Deadline& deadline);

    // Reads until the server closes (EOF), at most `cap` bytes.
    Received receive_until_eof(std::size_t cap, const Deadline& deadline);

    // Writes `data` while reading the reply, until `want` bytes came back or the
    // exchange stalls: neither direction makes progress for `stall` time.
    Received exchange(std::string_view data, std::size_t want, Millis stall,
                      const Deadline& deadline);

    void shutdown_write();    // half-close: the server reads EOF
    void close_gracefully();  // close(2) with a FIN
    void abort();             // close(2) with RST (SO_LINGER 0)
    bool is_open() const { return static_cast<bool>(fd_); }
    std::uint16_t local_port() const { return local_port_; }
    std::string peer() const { return peer_; }

  private:
    Connection(UniqueFd fd, std::uint16_t local_port, std::string peer)
        : fd_(std::move(fd)), local_port_(local_port), peer_(std::move(peer)) {}
    bool read_some(Received& into, std::size_t max);  // false on EOF/reset

    UniqueFd fd_;
    std::uint16_t local_port_ = 0;
    std::string peer_;
    bool replied_ = false;  // the observer has heard of the first reply
};

// Connects, sends `message`, and reads back as many bytes as `expected` has,
// keeping the connection open. Throws CheckFailure with sent/expected/received.
Connection round_trip(const std::string& host, std::uint16_t port, std::string_view message,
                      std::string_view expected, Millis budget);

// Like round_trip on an open connection.
void expect_reply(Connection& connection, std::string_view message, std::string_view expected,
                  Millis budget);

}  // namespace labcheck
