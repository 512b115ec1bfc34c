// BROKEN: lab 08's design, except at the client's EOF: it closes the connection as soon
// as read() returns 0, dropping whatever of the echo is still in its buffer (the first
// idea of "EOF: done"). A client that reads its echo as it goes never notices; one that
// sends first, then half-closes and reads, loses the end of its echo.
#include "poll_blocks.hpp"

using namespace corpus::poll_server;

int main(int argc, char** argv) try {
    corpus::Fd listener = make_poll_listener(argc, argv);
    std::vector<Client> clients;
    std::vector<pollfd> watched;
    for (;;) {
        if (!wait_for_events(listener.get(), clients, watched, interest)) continue;
        for (std::size_t i = 0; i < clients.size(); ++i) {
            if (watched[i + 1].revents == 0) continue;
            Client& client = clients[i];
            bool keep = read_some(client);
            if (keep && !client.unsent.empty()) keep = write_some(client);
            // BUG: at EOF, closed at once, with whatever is still in `unsent`.
            if (!keep || !client.reading) client.fd.reset();
        }
        erase_closed(clients);
        if (watched[0].revents & POLLIN) accept_all(listener.get(), clients);
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "closes-before-flush: %s\n", error.what());
    return 1;
}
