// BROKEN: lab 08's design, except that it asks poll() for POLLOUT on every client,
// whether or not it has anything to send. A connected socket with room in its send
// buffer is always writable, so as soon as one client is connected and idle, poll()
// returns at once, every time: the loop spins and burns a whole CPU doing nothing.
#include "poll_blocks.hpp"

using namespace corpus::poll_server;

namespace {

// BUG: POLLOUT with nothing to write.
short always_pollout(const Client& client) {
    return static_cast<short>(interest(client) | POLLOUT);
}

}  // namespace

int main(int argc, char** argv) try {
    corpus::Fd listener = make_poll_listener(argc, argv);
    std::vector<Client> clients;
    std::vector<pollfd> watched;
    for (;;) {
        if (!wait_for_events(listener.get(), clients, watched, always_pollout)) continue;
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
    std::fprintf(stderr, "pollout-always: %s\n", error.what());
    return 1;
}
