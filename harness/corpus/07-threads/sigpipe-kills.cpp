// BROKEN: a correct thread per client (detached), but SIGPIPE keeps its default
// action. A write to a client that has vanished raises SIGPIPE, which ends the whole
// process: every other client's thread dies with the one whose client left.
#include <thread>

#include "../corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    // BUG: no corpus::ignore_sigpipe() (signal(SIGPIPE, SIG_IGN)), no MSG_NOSIGNAL.
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
        } catch (const std::system_error& error) {
            std::fprintf(stderr, "thread: %s\n", error.what());
        }
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "sigpipe-kills: %s\n", error.what());
    return 1;
}
