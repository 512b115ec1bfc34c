// BROKEN: a plain echo server where the lab asks for swapcase: the bytes come back
// unchanged. Everything else is the correct fork-per-client design.
#include "corpus_server.hpp"

namespace {

// Echoes what arrives until EOF.
void serve(int fd) {
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n == 0) return;
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        // BUG: the chunk goes back as it came: no corpus::swapcase(chunk) before writing.
        if (!corpus::write_all(fd, chunk)) return;
    }
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
    std::fprintf(stderr, "no-swapcase: %s\n", error.what());
    return 1;
}
