// CORRECT: lab 08's design, built from the corpus' blocks: one process, one thread,
// non-blocking sockets and poll(). Each client has a buffer of swapcased bytes still to
// send; poll() watches for POLLOUT only while it holds data, and for POLLIN only while it
// has room (back-pressure); at the client's EOF the buffer is written out, then closed.
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
            if (!keep || (!client.reading && client.unsent.empty())) client.fd.reset();
        }
        erase_closed(clients);
        if (watched[0].revents & POLLIN) accept_all(listener.get(), clients);
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "correct-poll: %s\n", error.what());
    return 1;
}
