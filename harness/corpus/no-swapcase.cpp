// BROKEN: a plain echo server where the lab asks for swapcase: the bytes come back
// unchanged. Everything else is the correct fork-per-client design.
#include "corpus_server.hpp"

namespace {

// Echoes what arrives until EOF.
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
        // BUG: the chunk goes back as it came: no corpus::swapcase(chunk) before writing.
        if (!corpus::write_all(fd, chunk)) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Around serve(), the correct fork-per-client server of corpus_server.hpp.
    return corpus::fork_per_client_main(argc, argv, "no-swapcase", serve);
}
