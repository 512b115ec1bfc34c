// CORRECT, and wasteful: the thundering herd. A pool of 4 workers that wait in poll()
// on the shared listening socket, then accept() it non-blocking. poll() wakes every
// worker for each client; one accepts it, the others get EAGAIN and wait again.
// Nothing fails: it only costs each client (workers - 1) useless wake-ups.
#include <fcntl.h>
#include <poll.h>

#include "../corpus_server.hpp"

namespace {

// A worker's whole life: accept, serve, close, again.
// Every worker waits in poll(), which the kernel wakes all together for each new
// client; all but one then find nothing to accept (EAGAIN) and go back to poll().
[[noreturn]] void work(int listener) {
    long woken_for_nothing = 0;
    for (;;) {
        pollfd waiting{listener, POLLIN, 0};
        if (::poll(&waiting, 1, -1) < 0) continue;
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener, peer);
        if (!conn) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ++woken_for_nothing;  // another worker took this client
                continue;
            }
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
    // Non-blocking: the client poll() announced may have gone to another worker.
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
    std::fprintf(stderr, "poll-herd: %s\n", error.what());
    return 1;
}
