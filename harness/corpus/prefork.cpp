// CORRECT, prefork style (Apache's old MPM): the parent opens the listening socket and
// forks 40 workers that all accept on it, each serving one client at a time. The parent
// only supervises: it reaps a worker that dies and forks a replacement; on SIGTERM it
// kills and reaps them all. No process is created per client, so there is no per-client
// SIGCHLD to handle. A 41st simultaneous client waits until a worker is free.
#include <poll.h>

#include "corpus_server.hpp"

namespace {

// A pool serves at most as many clients at once as it has workers: more than the
// 32 that labcheck's concurrent check holds open together.
constexpr int worker_count = 40;

// A worker's whole life: accept, serve, close, again.
[[noreturn]] void work(int listener) {
    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener, peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
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
    std::printf("[%d] started worker %d\n", static_cast<int>(::getpid()), static_cast<int>(pid));
    std::fflush(stdout);
    return true;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);

    int running = 0;
    for (;;) {
        while (running < worker_count) {
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
    std::fprintf(stderr, "prefork: %s\n", error.what());
    return 1;
}
