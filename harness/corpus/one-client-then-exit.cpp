// BROKEN: the accept-fork sequence is written once instead of in a loop. The first client
// is served (by a child) and the parent falls off the end of main(): the listening socket
// closes and every later client is refused.
#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);

    // BUG: no `for (;;)` around accept: one client, then the server is gone.
    sockaddr_storage peer{};
    corpus::Fd conn = corpus::accept_client(listener.get(), peer);
    if (!conn) corpus::throw_errno("accept");
    corpus::log_client(peer);
    const pid_t pid = ::fork();
    if (pid < 0) corpus::throw_errno("fork");
    if (pid == 0) {
        corpus::become_child();
        listener.reset();
        corpus::echo_swapcase(conn.get());
        conn.reset();
        ::_exit(0);
    }
    conn.reset();
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "one-client-then-exit: %s\n", error.what());
    return 1;
}
