// BROKEN: iterative, and it crashes on binary data. Each chunk is handled as a C string,
// and the code that "checks the last character" indexes with .at() past the string's end
// when the chunk holds a 0 byte: std::out_of_range escapes a noexcept function, so the
// whole server aborts (SIGABRT) in the middle of a check.
#include <string>

#include "corpus_server.hpp"

namespace {

void serve(int fd) noexcept {
    std::array<char, 4096> buffer;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n <= 0) return;
        // BUG: a C string ends at the first 0 byte, so `text` may be shorter than the chunk,
        // and .at(n - 1) throws; in a noexcept function that is std::terminate().
        const std::string text(buffer.data());
        [[maybe_unused]] const char last = text.at(static_cast<std::size_t>(n) - 1);
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        corpus::swapcase(chunk);
        if (!corpus::write_all(fd, chunk)) return;
    }
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();  // no children: it just exits 0
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        serve(conn.get());
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "crash-on-nul: %s\n", error.what());
    return 1;
}
