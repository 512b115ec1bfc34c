// BROKEN: a good reaper (waitpid loop, errno saved) installed without SA_RESTART, and a
// failing accept() treated as fatal. When a child exits while the parent blocks in
// accept(), the handler runs, accept() fails with EINTR, and the server exits 1.
#include <cstdlib>

#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    // BUG: flags 0 (no SA_RESTART): a SIGCHLD interrupts accept() with EINTR ...
    corpus::on_signal(SIGCHLD, corpus::reap_children, 0);
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            // BUG: ... and that EINTR ends the server: "accept: Interrupted system call".
            std::perror("accept");
            std::exit(1);
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
    std::fprintf(stderr, "no-sa-restart: %s\n", error.what());
    return 1;
}
