// BROKEN: a pool whose workers block in accept()... or would, but the listening socket
// is still non-blocking, as lab 05 made it for its ppoll() loop. Each idle worker's
// accept() fails with EAGAIN at once and the worker loops: clients are served, and every
// idle worker burns a CPU. (1 worker here, so that it burns one CPU, not all.)
#include <fcntl.h>
#include <poll.h>

#include "../corpus_server.hpp"

namespace {

// A worker's whole life: accept, serve, close, again.
[[noreturn]] void work(int listener) {
    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener, peer);
        if (!conn) {
            if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) std::perror("accept");
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
    return argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    const int wanted = workers_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);
    // BUG: lab 05's line, kept. O_NONBLOCK belongs to the listening socket that parent and
    // workers share: each idle worker's accept() fails with EAGAIN at once, and loops.
    if (::fcntl(listener.get(), F_SETFL, O_NONBLOCK) < 0) corpus::throw_errno("fcntl");

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
    std::fprintf(stderr, "spinning-workers: %s\n", error.what());
    return 1;
}
