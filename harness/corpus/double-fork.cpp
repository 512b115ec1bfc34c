// CORRECT. Stevens' double fork: the child forks a grandchild to serve the client and
// exits at once; the parent waits for that child right away (waitpid on its pid), so
// nothing is left to reap later and no SIGCHLD handler is needed. The grandchild is
// orphaned and adopted by init (by labcheck, a child subreaper, under labcheck).
#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();  // kill(0, ...) reaches the grandchildren too
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        const pid_t child = ::fork();
        if (child < 0) {
            std::perror("fork");
            continue;
        }
        if (child == 0) {
            corpus::become_child();
            listener.reset();
            const pid_t grandchild = ::fork();
            if (grandchild < 0) {
                std::perror("fork");
                ::_exit(1);
            }
            if (grandchild > 0) ::_exit(0);  // the child's only job: make an orphan
            corpus::echo_swapcase(conn.get());
            conn.reset();
            ::_exit(0);
        }
        conn.reset();
        while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "double-fork: %s\n", error.what());
    return 1;
}
