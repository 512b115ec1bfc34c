// BROKEN: lab 08's design, except for one case of write(). When write() fails with
// EAGAIN, the bytes are kept for later, as they should be; but when it takes only part
// of them, the rest is dropped, as if write() either wrote everything or failed. Short
// messages always fit, and so does a big one sent to a client that reads as fast:
// only a client whose echo fills the send buffer loses bytes, from the middle.
#include "poll_blocks.hpp"

using namespace corpus::poll_server;

namespace {

// Reads what is there and sends it back at once, keeping it when write() says EAGAIN.
bool read_and_send(Client& client) {
    std::array<char, kReadSize> buffer;
    while (client.reading && client.unsent.size() < kMaxUnsent) {
        const ssize_t n = ::read(client.fd.get(), buffer.data(), buffer.size());
        if (n < 0) return would_block();
        if (n == 0) {
            client.reading = false;
            return true;
        }
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        corpus::swapcase(chunk);
        if (!client.unsent.empty()) {
            client.unsent.append(chunk.data(), chunk.size());
            continue;
        }
        const ssize_t written = ::write(client.fd.get(), chunk.data(), chunk.size());
        if (written < 0 && !would_block()) return false;
        if (written < 0) client.unsent.append(chunk.data(), chunk.size());
        // BUG: written < n: the last n - written bytes are neither sent nor kept.
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) try {
    corpus::Fd listener = make_poll_listener(argc, argv);
    std::vector<Client> clients;
    std::vector<pollfd> watched;
    for (;;) {
        if (!wait_for_events(listener.get(), clients, watched, interest)) continue;
        for (std::size_t i = 0; i < clients.size(); ++i) {
            if (watched[i + 1].revents == 0) continue;
            Client& client = clients[i];
            bool keep = read_and_send(client);
            if (keep && !client.unsent.empty()) keep = write_some(client);
            if (!keep || (!client.reading && client.unsent.empty())) client.fd.reset();
        }
        erase_closed(clients);
        if (watched[0].revents & POLLIN) accept_all(listener.get(), clients);
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "drops-partial-write: %s\n", error.what());
    return 1;
}
