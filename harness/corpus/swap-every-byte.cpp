// BROKEN: flips bit 0x20 of every byte, not only of letters: digits, spaces, punctuation
// and the upper half of the byte range come back changed. Otherwise correct.
#include "corpus_server.hpp"

namespace {

// Echoes what arrives until EOF, "swapcased".
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
        // BUG: XOR 0x20 on every byte; only A-Z and a-z may be flipped (" " becomes 0,
        // "1" becomes 0x11, "{" becomes "[").
        for (char& c : chunk) c = static_cast<char>(c ^ 0x20);
        if (!corpus::write_all(fd, chunk)) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Around serve(), the correct fork-per-client server of corpus_server.hpp.
    return corpus::fork_per_client_main(argc, argv, "swap-every-byte", serve);
}
