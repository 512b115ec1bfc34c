// BROKEN: a pool of 4 workers on one listening socket, whose parent forks them and
// then only sleeps: it never calls wait(), so a worker that dies stays a zombie, and
// the parent never learns that its pool has shrunk.
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
        ::pause();  // BUG: should wait() for a worker to die, and replace it
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "never-reaps: %s\n", error.what());
    return 1;
}
