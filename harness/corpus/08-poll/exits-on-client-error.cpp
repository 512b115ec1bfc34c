// BROKEN: lab 08's design, except that a read() or write() that fails on one client
// (ECONNRESET, EPIPE: the client vanished) throws out of the loop: in a single process
// that serves everyone, one client's error ends the whole server.
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
            // BUG: an error on one connection is treated as the server's own.
            if (!keep) corpus::throw_errno("client");
            if (!client.reading && client.unsent.empty()) client.fd.reset();
        }
        erase_closed(clients);
        if (watched[0].revents & POLLIN) accept_all(listener.get(), clients);
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "exits-on-client-error: %s\n", error.what());
    return 1;
}
