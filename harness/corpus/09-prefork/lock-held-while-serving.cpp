// BROKEN: Stevens' serialized accept() gone wrong. The 4 workers take an fcntl() lock
// before accept(), to keep the herd out, but release it only after serving the client
// instead of right after accept(): the other workers wait for the lock the whole time,
// so the pool serves one client at a time, like lab 01's iterative server.
#include <fcntl.h>
#include <poll.h>

#include "../corpus_server.hpp"

namespace {

// Stevens' way to keep the herd out of accept(): an fcntl() record lock on a file
// the workers share. fcntl() locks belong to a process, so each worker contends
// with the others; a worker killed while it holds the lock releases it.
corpus::Fd open_lock_file() {
    char name[] = "/tmp/prefork-lock-XXXXXX";
    corpus::Fd fd(::mkstemp(name));
    if (!fd) corpus::throw_errno("mkstemp");
    ::unlink(name);  // the open descriptor is all the workers need
    return fd;
}

void take(int lock_file, short type) {
    struct flock lock {};
    lock.l_type = type;
    lock.l_whence = SEEK_SET;
    while (::fcntl(lock_file, F_SETLKW, &lock) < 0 && errno == EINTR) {
    }
}

// A worker's whole life: accept, serve, close, again.
[[noreturn]] void work(int listener, int lock_file) {
    for (;;) {
        take(lock_file, F_WRLCK);  // one worker at a time in accept()
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener, peer);
        const int accept_error = errno;
        if (!conn) {
            if (accept_error != EINTR && accept_error != ECONNABORTED) std::perror("accept");
            continue;
        }
        corpus::log_client(peer, "worker serving");
        corpus::echo_swapcase(conn.get());
        take(lock_file, F_UNLCK);  // BUG: held for the whole conversation
    }
}

// Forks one worker; false when fork() failed.
bool spawn_worker(int listener, int lock_file) {
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("fork");
        return false;
    }
    if (pid == 0) {
        corpus::become_child();
        work(listener, lock_file);
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
    corpus::Fd lock_file = open_lock_file();

    int running = 0;
    for (;;) {
        while (running < wanted) {
            if (!spawn_worker(listener.get(), lock_file.get())) {
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
    std::fprintf(stderr, "lock-held-while-serving: %s\n", error.what());
    return 1;
}
