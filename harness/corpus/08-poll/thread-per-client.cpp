// CORRECT, another design: a thread per client, each with ordinary blocking calls. A
// client that never reads blocks only its own thread in write(): the others are served,
// and the blocked thread holds one read's worth of data, no more. Not what lab 08 asks
// (one thread, poll()), but every check of the lab passes: they judge behaviour.
#include <thread>

#include "../corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();  // exits 0; the threads end with the process
    corpus::Fd listener = corpus::make_listener(port);
    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR && errno != ECONNABORTED) std::perror("accept");
            continue;
        }
        std::thread([fd = std::move(conn)]() mutable {
            corpus::echo_swapcase(fd.get());
            fd.reset();
        }).detach();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "thread-per-client: %s\n", error.what());
    return 1;
}
