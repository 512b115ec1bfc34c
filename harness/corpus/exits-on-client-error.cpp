// BROKEN: an iterative server (serves each client in the listening process) that leaves
// SIGPIPE at its default action. When a client resets the connection while the server is
// writing to it, the next write raises SIGPIPE and kills the whole server, which is also
// the only process that accepts.
#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    // BUG: no corpus::ignore_sigpipe(): write() to a reset connection kills the process
    // instead of failing with EPIPE.
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
        corpus::echo_swapcase(conn.get());  // iterative by design: one client at a time
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "exits-on-client-error: %s\n", error.what());
    return 1;
}
