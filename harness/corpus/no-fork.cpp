// BROKEN: iterative. Serves each client in the listening process itself, so while one
// client stays connected every other one waits in the backlog. Otherwise robust (SIGPIPE
// ignored, SO_REUSEADDR, dual-stack, clean SIGTERM).
#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();  // no children: it just exits 0
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        // BUG: no fork(): the listening process serves this client to its EOF before it
        // accepts the next one, so a second client waits as long as the first stays.
        corpus::echo_swapcase(conn.get());
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "no-fork: %s\n", error.what());
    return 1;
}
