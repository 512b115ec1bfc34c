// BROKEN: fork per client, but the parent never closes its copy of the connection. When
// the child closes and exits, the socket stays open in the parent: no FIN reaches the
// client (it never sees EOF) and the server side sits in CLOSE-WAIT for good.
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
            conn.reset();
            ::_exit(0);
        }
        // BUG: the parent keeps its descriptor (release() without close) instead of
        // closing it: one leaked socket per client, each holding its connection open.
        conn.release();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "parent-keeps-fd: %s\n", error.what());
    return 1;
}
