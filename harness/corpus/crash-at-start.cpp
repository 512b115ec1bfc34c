// BROKEN: dies before it ever listens. It reads an optional second argument (a greeting)
// with vector::at(); labcheck passes only the port, so at() throws std::out_of_range,
// nothing catches it, and std::terminate() aborts the process (SIGABRT).
#include <cstdio>
#include <string>
#include <vector>

#include "corpus_server.hpp"

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv, argv + argc);
    const auto port = corpus::port_from_args(argc, argv);
    // BUG: argv[2] is optional, but at(2) assumes it is there: uncaught out_of_range,
    // abort before listen().
    const std::string greeting = args.at(2);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer, greeting.c_str());
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
}
