// BROKEN: the child echoes until the client's EOF, then neither closes the connection nor
// exits: it waits for a signal that never comes. The client never sees EOF, the server
// side of every finished connection stays in CLOSE-WAIT, and one idle child per client
// piles up.
#include "corpus_server.hpp"

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
            corpus::echo_swapcase(conn.get());
            // BUG: after EOF the child should close conn and _exit(0); instead it keeps
            // the connection and sleeps until someone kills it.
            for (;;) ::pause();
        }
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "close-wait-leak: %s\n", error.what());
    return 1;
}
