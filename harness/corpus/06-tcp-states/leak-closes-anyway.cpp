// BROKEN: on leak the server echoes until EOF and then closes, as for any client. The
// server's end passes through CLOSE-WAIT in a blink (LAST-ACK, then gone): nothing leaks.
#include "playground.hpp"

// BUG: the wait after EOF is missing; the caller closes at once.
void leak_without_keeping(int fd) {
    playground::say(fd, "leak: after your EOF the server will not close, for 30 s\n");
    corpus::echo_swapcase(fd);
}

int main(int argc, char** argv) {
    playground::Handlers handlers;
    handlers.leak = leak_without_keeping;
    return playground::run(argc, argv, "leak-closes-anyway", handlers);
}
