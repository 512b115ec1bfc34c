// BROKEN: on reset the server answers and closes the ordinary way. Its close() sends a
// FIN: the client reads EOF (read() returns 0), not ECONNRESET, and the server's end,
// having closed first, sits in TIME-WAIT.
#include "playground.hpp"

// BUG: SO_LINGER is never switched on, so close() is the orderly close.
void reset_without_linger(int fd) {
    playground::say(fd, "reset: the server aborts the connection\n");
}

int main(int argc, char** argv) {
    playground::Handlers handlers;
    handlers.reset = reset_without_linger;
    return playground::run(argc, argv, "reset-closes-normally", handlers);
}
