// BROKEN: non-blocking sockets, poll(), and a buffer per client for what write() did
// not take, but no back-pressure: it reads from every client all the time, however much
// of that client's echo is still waiting. A client that sends without reading makes the
// buffer, and the server, grow without bound.
#include <limits>

#include "poll_blocks.hpp"

using namespace corpus::poll_server;

namespace {

// BUG: POLLIN whatever the buffer holds.
short no_limit(const Client& client) {
    short events = client.reading ? POLLIN : 0;
    if (!client.unsent.empty()) events |= POLLOUT;
    return events;
}

}  // namespace

int main(int argc, char** argv) try {
    corpus::Fd listener = make_poll_listener(argc, argv);
    std::vector<Client> clients;
    std::vector<pollfd> watched;
    for (;;) {
        if (!wait_for_events(listener.get(), clients, watched, no_limit)) continue;
        for (std::size_t i = 0; i < clients.size(); ++i) {
            if (watched[i + 1].revents == 0) continue;
            Client& client = clients[i];
            // BUG: reads on however much of the echo is still waiting.
            bool keep = read_some(client, std::numeric_limits<std::size_t>::max());
            if (keep && !client.unsent.empty()) keep = write_some(client);
            if (!keep || (!client.reading && client.unsent.empty())) client.fd.reset();
        }
        erase_closed(clients);
        if (watched[0].revents & POLLIN) accept_all(listener.get(), clients);
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "unbounded-buffer: %s\n", error.what());
    return 1;
}
