// BROKEN: on SIGTERM the parent exits 0 at once, but its children go on serving their
// clients, orphaned: the service is "stopped" and still answering.
#include "corpus_server.hpp"

namespace {

void exit_on_sigterm(int) {
    // BUG: exits without kill(0, SIGTERM) and waitpid() for the children first.
    ::_exit(0);
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::on_signal(SIGTERM, exit_on_sigterm, 0);
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
            corpus::echo_swapcase(conn.get());
            conn.reset();
            ::_exit(0);
        }
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "sigterm-leaves-children: %s\n", error.what());
    return 1;
}
