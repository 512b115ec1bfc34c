// CORRECT: one std::thread per client, detached at once, with the default stack
// (8 MiB of address space, ulimit -s). A detached thread's stack goes back to glibc
// when it returns; glibc keeps up to 40 MiB of them cached for the next threads.
#include <thread>

#include "../corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
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
        try {
            std::thread([client = std::move(conn)] {
                corpus::echo_swapcase(client.get());
            }).detach();
        } catch (const std::system_error& error) {  // out of threads: this client gets EOF
            std::fprintf(stderr, "thread: %s\n", error.what());
        }
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "std-thread-detached: %s\n", error.what());
    return 1;
}
