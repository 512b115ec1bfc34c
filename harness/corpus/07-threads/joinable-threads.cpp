// BROKEN: a thread per client made with pthread_create() and default attributes, so
// each thread is joinable, and nobody ever calls pthread_join(). A thread that returns
// is gone from /proc/PID/task, but its 8 MiB stack stays mapped, waiting for a join
// that never comes: one stack leaks per client. Everything else is correct.
#include <pthread.h>

#include <cstring>

#include "../corpus_server.hpp"

namespace {

void* serve(void* argument) {
    corpus::Fd conn(static_cast<int>(reinterpret_cast<std::intptr_t>(argument)));
    corpus::echo_swapcase(conn.get());
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        pthread_t thread;
        void* argument = reinterpret_cast<void*>(static_cast<std::intptr_t>(conn.get()));
        // BUG: joinable (the default), never joined nor detached.
        if (const int error = ::pthread_create(&thread, nullptr, serve, argument); error != 0) {
            std::fprintf(stderr, "pthread_create: %s\n", std::strerror(error));
            continue;  // conn closes: this client gets EOF
        }
        conn.release();  // the thread owns it now
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "joinable-threads: %s\n", error.what());
    return 1;
}
