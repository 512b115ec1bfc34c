// BROKEN: the child's loop runs until read() returns -1, as if that were EOF (the
// article's `ch != EOF` idea). At the client's EOF it does pass the EOF on (shutdown
// SHUT_WR: the client sees the server close), but read() reports EOF with 0, so the loop
// goes on: every read returns 0 at once and the child spins at full CPU, never exiting.
#include <unistd.h>

#include "corpus_server.hpp"

namespace {

void serve(int fd) {
    std::array<char, 16 * 1024> buffer;
    ssize_t n = 0;
    // BUG: EOF is read() == 0, not -1: after the client's EOF this loop never ends (it
    // only leaves on an error such as a reset).
    while ((n = ::read(fd, buffer.data(), buffer.size())) != -1) {
        if (n == 0) ::shutdown(fd, SHUT_WR);  // the client is done, so are we: send our FIN
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        corpus::swapcase(chunk);
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
            // Not part of the bug: at the lowest priority the spinning children still
            // show as running (state R), but cannot starve the machine that tests them.
            [[maybe_unused]] int niceness = ::nice(19);
            serve(conn.get());
            conn.reset();
            ::_exit(0);
        }
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "spinning-child: %s\n", error.what());
    return 1;
}
