// CORRECT: detached threads with 64 KiB stacks, whose buffers live on the heap: each
// thread allocates 64 KiB with std::vector. glibc's malloc then gives threads arenas
// of their own, each 64 MiB of address space, and how many there are depends on how
// the threads' lives overlap: VmSize jumps by 64 MiB now and then, no stack leaks.
#include <pthread.h>

#include <cstring>
#include <vector>

#include "../corpus_server.hpp"

namespace {

void* serve(void* argument) {
    corpus::Fd conn(static_cast<int>(reinterpret_cast<std::intptr_t>(argument)));
    std::vector<char> buffer(64 * 1024);
    for (;;) {
        const ssize_t n = ::read(conn.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        corpus::swapcase(chunk);
        if (!corpus::write_all(conn.get(), chunk)) break;
    }
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
    ::pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    ::pthread_attr_setstacksize(&attributes, 64 * 1024);

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
    std::fprintf(stderr, "heap-buffers: %s\n", error.what());
    return 1;
}
