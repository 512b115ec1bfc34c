// CORRECT, threaded: one std::thread per client in a single process (detached; each owns
// its connection). SIGPIPE is ignored, which matters even more here: one write to a reset
// connection would otherwise kill every client's thread at once. Not what lab 05 asks
// (a process per client), but a sound server.
#include <thread>

#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();  // no children: it exits 0, threads and all
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        try {
            std::thread([client = std::move(conn)] {
                corpus::echo_swapcase(client.get());
            }).detach();
        } catch (const std::system_error& error) {  // out of threads: turn this client away
            std::fprintf(stderr, "thread: %s\n", error.what());
        }
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "threads: %s\n", error.what());
    return 1;
}
