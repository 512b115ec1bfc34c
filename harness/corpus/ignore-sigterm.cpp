// BROKEN: ignores SIGTERM, so the polite way to stop it does nothing and only SIGKILL
// works (an init system would wait out its timeout first). Otherwise correct.
#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    // BUG: SIGTERM ignored: the server should stop accepting, end and reap its children
    // and exit 0 (corpus::terminate_children_on_sigterm()).
    corpus::on_signal(SIGTERM, SIG_IGN, 0);
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
    std::fprintf(stderr, "ignore-sigterm: %s\n", error.what());
    return 1;
}
