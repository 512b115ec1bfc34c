// BROKEN: the SIGCHLD handler calls wait() once per signal. Signals of one kind do not
// queue: children that exit together raise one SIGCHLD, one is reaped, the rest stay
// zombies.
#include "corpus_server.hpp"

namespace {

void reap_one_child(int) {
    const int saved_errno = errno;
    // BUG: one wait() per SIGCHLD; it should loop waitpid(-1, ..., WNOHANG) until no
    // exited child is left, since one signal may stand for many children.
    ::wait(nullptr);
    errno = saved_errno;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, reap_one_child, SA_RESTART);
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
    std::fprintf(stderr, "wait-once: %s\n", error.what());
    return 1;
}
