// BROKEN: before it listens, it starts a "pool" of 300 spare processes that wait in
// pause() for work that never comes. Bounded, but far past labcheck's 128-process cap
// (--max-procs), so labcheck's watchdog must stop it as a fork bomb. The server
// itself is otherwise correct.
#include "corpus_server.hpp"

namespace {

constexpr int spare_processes = 300;

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();
    // BUG: 300 processes that do nothing; a server must create processes per client (or a
    // small fixed pool), never hundreds up front.
    for (int i = 0; i < spare_processes; ++i) {
        const pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("fork");  // a process limit: stop spawning, serve anyway
            break;
        }
        if (pid == 0) {
            corpus::become_child();
            std::printf("[%d] spare process %d ready\n", static_cast<int>(::getpid()), i);
            std::fflush(stdout);
            for (;;) ::pause();
        }
    }
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
    std::fprintf(stderr, "fork-burst: %s\n", error.what());
    return 1;
}
