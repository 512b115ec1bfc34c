// BROKEN: an iterative server (it serves each client in the listening process) that
// checks every call with one helper, check(), which ends the program on any error. Fine
// for socket() or bind(); fatal for read() and write() on a client's connection: a client
// that resets its connection while the server writes to it takes the whole server down,
// and the listening process is the only one there is.
#include <cstdlib>

#include "corpus_server.hpp"

namespace {

// Returns `result`, or prints `what` with errno and exits 1 when it is -1.
ssize_t check(ssize_t result, const char* what) {
    if (result < 0) {
        std::perror(what);
        std::exit(1);
    }
    return result;
}

void serve(int fd) {
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        // BUG: check() exits the server when a client's read or write fails (ECONNRESET,
        // EPIPE): one client's error must end that client's conversation, not the server.
        const ssize_t n = check(::read(fd, buffer.data(), buffer.size()), "read");
        if (n == 0) return;
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        corpus::swapcase(chunk);
        for (std::size_t sent = 0; sent < chunk.size();)
            sent += static_cast<std::size_t>(
                check(::write(fd, chunk.data() + sent, chunk.size() - sent), "write"));
    }
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();  // no children: it just exits 0
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        serve(conn.get());  // iterative by design: one client at a time
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "exits-on-client-error: %s\n", error.what());
    return 1;
}
