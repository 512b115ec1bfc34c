// CORRECT, but loud: every child writes about 1 MiB of log lines per client (half to
// stdout, half to stderr) before and while it echoes. Proves that labcheck drains (and
// caps) the server's output: a harness that let a pipe fill up would stall the echo.
#include "corpus_server.hpp"

namespace {

constexpr std::size_t chatter_bytes_per_stream = 512 * 1024;

// Writes about `bytes` bytes of numbered log lines to `stream`.
void chatter(std::FILE* stream, const char* name, std::size_t bytes) {
    const int pid = static_cast<int>(::getpid());
    std::size_t written = 0;
    for (unsigned line = 0; written < bytes; ++line) {
        const int n = std::fprintf(stream,
                                   "[%d] %s chatter line %06u: the quick brown fox jumps over "
                                   "the lazy dog, and the log grows\n",
                                   pid, name, line);
        if (n <= 0) return;  // the log is gone (closed, or full): serving matters more
        written += static_cast<std::size_t>(n);
    }
    std::fflush(stream);
}

// corpus::echo_swapcase, with a log line per chunk.
void serve(int fd) {
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n == 0) return;
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        std::printf("[%d] echoing %zd bytes\n", static_cast<int>(::getpid()), n);
        std::fflush(stdout);
        corpus::swapcase(chunk);
        if (!corpus::write_all(fd, chunk)) return;
    }
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
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
        const pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("fork");
            continue;
        }
        if (pid == 0) {
            corpus::become_child();
            listener.reset();
            chatter(stdout, "stdout", chatter_bytes_per_stream);
            chatter(stderr, "stderr", chatter_bytes_per_stream);
            serve(conn.get());
            conn.reset();
            ::_exit(0);
        }
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "chatty: %s\n", error.what());
    return 1;
}
