// BROKEN: a correct pool (4 workers, dead ones replaced), except that SIGTERM ends
// the parent alone: its handler exits 0 at once, and the workers, which never see a
// signal, go on accepting clients with nobody left to supervise them.
#include <poll.h>

#include "../corpus_server.hpp"

namespace {

// A worker's whole life: accept, serve, close, again.
[[noreturn]] void work(int listener) {
    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener, peer);
        if (!conn) {
            if (errno != EINTR && errno != ECONNABORTED) std::perror("accept");
            continue;
        }
        corpus::log_client(peer, "worker serving");
        corpus::echo_swapcase(conn.get());
    }
}

// Forks one worker; false when fork() failed.
bool spawn_worker(int listener) {
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("fork");
        return false;
    }
    if (pid == 0) {
        corpus::become_child();
        work(listener);
    }
    return true;
}

void exit_at_once(int) {
    ::_exit(0);
}

int workers_from_args(int argc, char** argv) {
    return argc > 2 ? std::max(1, std::atoi(argv[2])) : 4;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    const int wanted = workers_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGTERM, exit_at_once, 0);  // BUG: the workers should be ended first
    corpus::Fd listener = corpus::make_listener(port);

    int running = 0;
    for (;;) {
        while (running < wanted) {
            if (!spawn_worker(listener.get())) {
                ::poll(nullptr, 0, 200);  // out of processes: try again shortly
                break;
            }
            ++running;
        }
        int status = 0;
        const pid_t dead = ::wait(&status);  // SIGCHLD is left at SIG_DFL: wait() reaps
        if (dead > 0) {
            --running;
            std::printf("[%d] worker %d ended (status %#x); replacing it\n",
                        static_cast<int>(::getpid()), static_cast<int>(dead),
                        static_cast<unsigned>(status));
            std::fflush(stdout);
        } else if (errno != EINTR && errno != ECHILD) {
            corpus::throw_errno("wait");
        }
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "sigterm-leaves-workers: %s\n", error.what());
    return 1;
}
