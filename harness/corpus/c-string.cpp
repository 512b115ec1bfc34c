// BROKEN: handles each chunk it reads as a C string (strlen, a loop to the terminating
// 0): every byte from the first 0 byte to the end of the chunk is silently dropped. Text
// round-trips fine; binary data does not. Otherwise correct.
#include "corpus_server.hpp"

namespace {

// Echoes what arrives until EOF, swapcased.
void serve(int fd) {
    char buffer[16 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
        if (n == 0) return;
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        buffer[n] = '\0';
        // BUG: the chunk is treated as a C string: the loop and strlen() stop at the first
        // 0 byte, so that byte and everything after it in this chunk are lost.
        for (char* p = buffer; *p != '\0'; ++p) *p = corpus::swapcase(*p);
        if (!corpus::write_all(fd, {buffer, std::strlen(buffer)})) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Around serve(), the correct fork-per-client server of corpus_server.hpp.
    return corpus::fork_per_client_main(argc, argv, "c-string", serve);
}
