// BROKEN: handles each chunk it reads as a C string (strlen, a loop to the terminating
// 0): every byte from the first 0 byte to the end of the chunk is silently dropped. Text
// round-trips fine; binary data does not. Otherwise correct.
#include "corpus_server.hpp"

namespace {

// Echoes what arrives until EOF, swapcased.
void serve(int fd) {
    char buffer[16 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
        if (n == 0) return;
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        buffer[n] = '\0';
        // BUG: the chunk is treated as a C string: the loop and strlen() stop at the first
        // 0 byte, so that byte and everything after it in this chunk are lost.
        for (char* p = buffer; *p != '\0'; ++p) *p = corpus::swapcase(*p);
        if (!corpus::write_all(fd, {buffer, std::strlen(buffer)})) return;
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
    std::fprintf(stderr, "c-string: %s\n", error.what());
    return 1;
}
