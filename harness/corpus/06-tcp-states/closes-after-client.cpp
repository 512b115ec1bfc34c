// BROKEN: on close the server waits for the client to close, and only then closes. The
// client's FIN comes first, so the server's end goes the passive way (CLOSE-WAIT,
// LAST-ACK) and the TIME-WAIT lands on the client's side. A client that waits for the
// server to close first waits forever.
#include "playground.hpp"

// BUG: "closes first" read as "closes when the conversation is over": it waits for EOF.
void close_after_the_client(int fd) {
    playground::say(fd, "close: the server closes first\n");
    char ignored[256];
    while (::read(fd, ignored, sizeof ignored) > 0) {
    }
}

int main(int argc, char** argv) {
    playground::Handlers handlers;
    handlers.close_first = close_after_the_client;
    return playground::run(argc, argv, "closes-after-client", handlers);
}
