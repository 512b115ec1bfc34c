// BROKEN: lab 03's child ended with exit(0) once its client had said goodbye (EOF),
// and this thread does the same. exit() ends the process, not the thread: the first
// client to leave takes the server, and every other client, with it. (A client that
// vanishes instead ends its thread the right way: by returning.)
#include <thread>

#include "../corpus_server.hpp"

namespace {

void serve(corpus::Fd conn) {
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        const ssize_t n = ::read(conn.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;  // the client vanished: this thread ends, as it should
        if (n == 0) {
            conn.reset();  // the client reads EOF
            std::exit(0);  // BUG: a thread ends by returning (or pthread_exit), never exit()
        }
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        corpus::swapcase(chunk);
        if (!corpus::write_all(conn.get(), chunk)) return;
    }
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
        try {
            std::thread(serve, std::move(conn)).detach();
        } catch (const std::system_error& error) {
            std::fprintf(stderr, "thread: %s\n", error.what());
        }
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "exit-in-thread: %s\n", error.what());
    return 1;
}
