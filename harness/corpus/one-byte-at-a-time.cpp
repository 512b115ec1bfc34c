// CORRECT, and slow on purpose: each child reads ONE byte per read() and writes it back
// with ONE write(), as the article's loop does, but it stops at read()'s 0 (EOF), retries
// on EINTR and treats every byte value as data. Two system calls per byte: lab 02's
// measure.sh runs it beside a buffered server to show what that costs. Otherwise the
// correct fork-per-client server of corpus_server.hpp.
#include "corpus_server.hpp"

namespace {

// Echoes, swapcased, one byte per system call until EOF or an error.
void serve(int fd) {
    for (;;) {
        char byte = 0;
        const ssize_t n = ::read(fd, &byte, 1);
        if (n == 0) return;  // EOF: the client will send nothing more
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        byte = corpus::swapcase(byte);
        if (!corpus::write_all(fd, std::span(&byte, 1))) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    return corpus::fork_per_client_main(argc, argv, "one-byte-at-a-time", serve);
}
