// CORRECT, event-driven: one process, one thread, every socket non-blocking, poll() over
// the listener and all clients. Each client has a buffer of swapcased bytes still to
// send; a client that does not read its echo is not read from either once that buffer
// holds 64 KiB (backpressure instead of unbounded memory). Not what lab 05 asks (a
// process per client), but a sound server.
#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <vector>

#include "corpus_server.hpp"

namespace {

constexpr std::size_t max_pending = 64 * 1024;

struct Client {
    corpus::Fd fd;
    std::string pending;  // swapcased, not yet written
    bool eof = false;     // the client half-closed: close once `pending` is out
};

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        corpus::throw_errno("fcntl(O_NONBLOCK)");
}

// Reads what is there into `pending`. false when the connection is to be dropped.
bool read_some(Client& client) {
    std::array<char, 16 * 1024> buffer;
    const ssize_t n = ::read(client.fd.get(), buffer.data(), buffer.size());
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) {
        client.eof = true;
        return true;
    }
    const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
    corpus::swapcase(chunk);
    client.pending.append(chunk.data(), chunk.size());
    return true;
}

// Writes what the socket takes from `pending`. false when the connection is to be dropped.
bool write_some(Client& client) {
    if (client.pending.empty()) return true;
    const ssize_t n = ::write(client.fd.get(), client.pending.data(), client.pending.size());
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    client.pending.erase(0, static_cast<std::size_t>(n));
    return true;
}

void accept_all(int listener, std::vector<Client>& clients) {
    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener, peer);
        if (!conn) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) std::perror("accept");
            return;
        }
        set_nonblocking(conn.get());
        corpus::log_client(peer);
        clients.push_back(Client{std::move(conn), {}, false});
    }
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();  // no children: it just exits 0
    corpus::Fd listener = corpus::make_listener(port);
    set_nonblocking(listener.get());

    std::vector<Client> clients;
    std::vector<pollfd> watched;
    for (;;) {
        watched.clear();
        watched.push_back({listener.get(), POLLIN, 0});
        for (const Client& client : clients) {
            short events = 0;
            if (!client.eof && client.pending.size() < max_pending) events |= POLLIN;
            if (!client.pending.empty()) events |= POLLOUT;
            watched.push_back({client.fd.get(), events, 0});
        }
        if (::poll(watched.data(), watched.size(), -1) < 0) {
            if (errno == EINTR) continue;
            corpus::throw_errno("poll");
        }

        for (std::size_t i = 0; i < clients.size(); ++i) {
            Client& client = clients[i];
            if (watched[i + 1].revents == 0) continue;
            // Whatever woke us (data, EOF, POLLHUP, POLLERR), read and write what we can: a
            // reset shows up as a failing read or write, even on a client we do not read.
            bool keep = true;
            if (!client.eof && client.pending.size() < max_pending) keep = read_some(client);
            if (keep) keep = write_some(client);
            if (!keep || (client.eof && client.pending.empty())) client.fd.reset();
        }
        std::erase_if(clients, [](const Client& client) { return !client.fd; });

        if (watched[0].revents & POLLIN) accept_all(listener.get(), clients);
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "poll: %s\n", error.what());
    return 1;
}
