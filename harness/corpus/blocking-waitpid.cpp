// BROKEN: the SIGCHLD handler loops on waitpid() without WNOHANG. Once it has
// reaped the child that exited, its next waitpid() blocks until another child
// exits: while any client stays connected, the parent sits in the handler and
// accepts nobody.
#include "corpus_server.hpp"

namespace {

void reap_children_blocking(int) {
    const int saved_errno = errno;
    // BUG: no WNOHANG. waitpid(-1, nullptr, WNOHANG) returns 0 when the remaining
    // children are all still running; this one waits for them instead.
    while (::waitpid(-1, nullptr, 0) > 0) {
    }
    errno = saved_errno;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, reap_children_blocking, SA_RESTART);
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
    std::fprintf(stderr, "blocking-waitpid: %s\n", error.what());
    return 1;
}
