// BROKEN: a pool of 4 workers on one listening socket, whose parent reaps each worker
// that dies (no zombie) but never forks a replacement: every crash shrinks the pool,
// until nobody accepts.
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

int workers_from_args(int argc, char** argv) {
    return argc > 2 ? std::max(1, std::atoi(argv[2])) : 4;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    const int wanted = workers_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();
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
            // BUG: the pool should get a new worker; `running` is never decreased.
            std::printf("[%d] worker %d ended (status %#x)\n", static_cast<int>(::getpid()),
                        static_cast<int>(dead), static_cast<unsigned>(status));
            std::fflush(stdout);
        } else if (errno != EINTR && errno != ECHILD) {
            corpus::throw_errno("wait");
        }
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "no-respawn: %s\n", error.what());
    return 1;
}
