// BROKEN: collects everything the client sends and answers only once the client has
// half-closed: a client that waits for its echo with the connection open waits for ever.
// Otherwise correct.
#include "corpus_server.hpp"

namespace {

// Reads to EOF, then writes it all back swapcased.
void serve(int fd) {
    std::string received;
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        received.append(buffer.data(), static_cast<std::size_t>(n));
    }
    // BUG: the echo is sent only after EOF; it must go back as each chunk arrives.
    corpus::swapcase(received);
    corpus::write_all(fd, received);
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        const pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("fork");
            continue;
        }
        if (pid == 0) {
            corpus::become_child();
            listener.reset();
            serve(conn.get());
            conn.reset();
            ::_exit(0);
        }
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "echo-at-eof: %s\n", error.what());
    return 1;
}
