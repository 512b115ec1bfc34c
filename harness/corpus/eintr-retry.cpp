// CORRECT. Fork per client; the SIGCHLD reaper is installed WITHOUT SA_RESTART, so every
// child's exit interrupts accept() with EINTR, and the loop simply accepts again.
#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, 0);  // no SA_RESTART, on purpose
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno == EINTR) continue;  // a child exited while we waited: accept again
            std::perror("accept");         // ECONNABORTED, EMFILE, ...: not fatal either
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
    std::fprintf(stderr, "eintr-retry: %s\n", error.what());
    return 1;
}
