#pragma once
// Building blocks of lab 08's corpus: single-process servers built around poll(). Every
// block here is CORRECT; each server's main() puts them together, and its one deliberate
// bug (marked `// BUG:`) is written out in that file.

#include <fcntl.h>
#include <poll.h>

#include <string>
#include <vector>

#include "../corpus_server.hpp"

namespace corpus::poll_server {

constexpr std::size_t kReadSize = 64 * 1024;
// A client's output buffer may hold this much before we stop reading from it.
constexpr std::size_t kMaxUnsent = 64 * 1024;

struct Client {
    Fd fd;
    std::string unsent;   // swapcased, not yet written
    bool reading = true;  // false after the client's EOF
};

inline void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl(O_NONBLOCK)");
}

inline bool would_block() {
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

// Every waiting client, until accept() says EAGAIN; each made non-blocking unless told.
inline void accept_all(int listener, std::vector<Client>& clients, bool nonblocking = true) {
    for (;;) {
        sockaddr_storage peer{};
        Fd conn = accept_client(listener, peer);
        if (!conn) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) std::perror("accept");
            return;
        }
        if (nonblocking) set_nonblocking(conn.get());
        clients.push_back(Client{std::move(conn), {}, true});
    }
}

// The listening socket of every server here: non-blocking, so accept_all() can stop.
inline Fd make_poll_listener(int argc, char** argv) {
    const auto port = port_from_args(argc, argv);
    ignore_sigpipe();
    terminate_children_on_sigterm();  // no children: it just exits 0
    Fd listener = make_listener(port);
    set_nonblocking(listener.get());
    return listener;
}

// Writes what the socket takes from `unsent`. false when the connection is gone.
inline bool write_some(Client& client) {
    const ssize_t n = ::write(client.fd.get(), client.unsent.data(), client.unsent.size());
    if (n < 0) return would_block();
    client.unsent.erase(0, static_cast<std::size_t>(n));
    return true;
}

// Reads what is there (until EAGAIN, EOF or `limit` bytes waiting to go back) into
// `unsent`, swapcased. false when the connection is gone.
inline bool read_some(Client& client, std::size_t limit = kMaxUnsent) {
    std::array<char, kReadSize> buffer;
    while (client.reading && client.unsent.size() < limit) {
        const ssize_t n = ::read(client.fd.get(), buffer.data(), buffer.size());
        if (n < 0) return would_block();
        if (n == 0) {
            client.reading = false;
            return true;
        }
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        swapcase(chunk);
        client.unsent.append(chunk.data(), chunk.size());
    }
    return true;
}

// POLLIN while there is room for more, POLLOUT while something waits.
inline short interest(const Client& client) {
    short events = 0;
    if (client.reading && client.unsent.size() < kMaxUnsent) events |= POLLIN;
    if (!client.unsent.empty()) events |= POLLOUT;
    return events;
}

// One poll() over the listener (entry 0) and every client (entry i + 1), with the
// events `ask` chooses. Returns false when interrupted (EINTR): go round again.
template <typename Ask>
bool wait_for_events(int listener, const std::vector<Client>& clients, std::vector<pollfd>& watched,
                     Ask ask) {
    watched.clear();
    watched.push_back({listener, POLLIN, 0});
    for (const Client& client : clients) watched.push_back({client.fd.get(), ask(client), 0});
    if (::poll(watched.data(), watched.size(), -1) < 0) {
        if (errno == EINTR) return false;
        throw_errno("poll");
    }
    return true;
}

inline void erase_closed(std::vector<Client>& clients) {
    std::erase_if(clients, [](const Client& client) { return !client.fd; });
}

}  // namespace corpus::poll_server
