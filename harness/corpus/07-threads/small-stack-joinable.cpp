// BROKEN: as joinable-threads, with each thread's stack bounded to 64 KiB as lab 07
// teaches, but still joinable and never joined. A thread that returns is gone from
// /proc/PID/task, but its stack (64 KiB and a guard page) stays mapped, waiting for a
// join that never comes. 48 clients leak only 3 MiB of VmSize, less than one malloc
// arena: labcheck must see the leak by counting the stacks themselves.
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

    pthread_attr_t attributes;
    ::pthread_attr_init(&attributes);
    ::pthread_attr_setstacksize(&attributes, 64 * 1024);
    // BUG: no pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED), no join.

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
        if (const int error = ::pthread_create(&thread, &attributes, serve, argument); error != 0) {
            std::fprintf(stderr, "pthread_create: %s\n", std::strerror(error));
            continue;  // conn closes: this client gets EOF
        }
        conn.release();  // the thread owns it now
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "small-stack-joinable: %s\n", error.what());
    return 1;
}
