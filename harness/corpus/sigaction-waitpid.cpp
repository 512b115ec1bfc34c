// CORRECT. Fork per client; a SIGCHLD handler reaps with a waitpid(-1, WNOHANG) loop that
// saves errno, installed with SA_RESTART so accept() is restarted after it runs.
// The reference shape every broken fork server of the corpus departs from in one place.
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
            continue;  // conn closes: this client is turned away
        }
        if (pid == 0) {
            corpus::become_child();
            listener.reset();  // the child serves; it never accepts
            corpus::echo_swapcase(conn.get());
            conn.reset();
            ::_exit(0);
        }
        conn.reset();  // the parent hands the connection off to the child
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "sigaction-waitpid: %s\n", error.what());
    return 1;
}
