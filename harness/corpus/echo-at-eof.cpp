// BROKEN: collects everything the client sends and answers only once the client has
// half-closed: a client that waits for its echo with the connection open waits for ever.
// Otherwise correct.
#include "corpus_server.hpp"

namespace {

// Reads to EOF, then writes it all back swapcased.
void serve(int fd) {
    std::string received;
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        received.append(buffer.data(), static_cast<std::size_t>(n));
    }
    // BUG: the echo is sent only after EOF; it must go back as each chunk arrives.
    corpus::swapcase(received);
    corpus::write_all(fd, received);
}

}  // namespace

int main(int argc, char** argv) {
    // Around serve(), the correct fork-per-client server of corpus_server.hpp.
    return corpus::fork_per_client_main(argc, argv, "echo-at-eof", serve);
}
