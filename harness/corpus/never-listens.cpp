// BROKEN: creates and binds its socket but never calls listen(). The port is bound yet
// refuses every connection; accept() fails with EINVAL, which the loop logs and retries
// after a pause, so the process stays up without ever listening.
#include <poll.h>

#include "corpus_server.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();
    // BUG: bound_socket() binds but does not listen: corpus::start_listening() (listen())
    // is never called, so there is no LISTEN socket and connect() gets ECONNREFUSED.
    corpus::Fd listener = corpus::bound_socket(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) {
                std::perror("accept");
                ::poll(nullptr, 0, 100);  // back off, do not spin on a persistent error
            }
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
    std::fprintf(stderr, "never-listens: %s\n", error.what());
    return 1;
}
