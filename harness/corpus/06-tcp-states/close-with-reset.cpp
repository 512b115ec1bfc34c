// BROKEN: on close the server does close first, but abortively: SO_LINGER {1, 0} makes
// its close() send RST instead of FIN. No TIME-WAIT anywhere (the point of reset, not of
// close), and the client's read() fails with ECONNRESET instead of returning 0.
#include "playground.hpp"

// BUG: the "cure" for TIME-WAIT that the lab warns about: abort instead of closing.
void close_with_reset(int fd) {
    playground::say(fd, "close: the server closes first\n");
    const linger abort_now{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
}

int main(int argc, char** argv) {
    playground::Handlers handlers;
    handlers.close_first = close_with_reset;
    return playground::run(argc, argv, "close-with-reset", handlers);
}
