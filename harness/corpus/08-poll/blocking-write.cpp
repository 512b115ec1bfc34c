// BROKEN: a poll() loop over blocking client sockets. poll() says when a client has sent
// something, so the read() never waits; but the echo is written with write_all(), which
// waits until the client has read enough to make room for all of it. A client that sends
// without reading stops the whole server inside that write(): nobody else is served.
#include "poll_blocks.hpp"

using namespace corpus::poll_server;

int main(int argc, char** argv) try {
    corpus::Fd listener = make_poll_listener(argc, argv);
    std::vector<Client> clients;
    std::vector<pollfd> watched;
    std::array<char, kReadSize> buffer;
    for (;;) {
        if (!wait_for_events(listener.get(), clients, watched,
                             [](const Client&) -> short { return POLLIN; }))
            continue;
        for (std::size_t i = 0; i < clients.size(); ++i) {
            if (watched[i + 1].revents == 0) continue;
            Client& client = clients[i];
            const ssize_t n = ::read(client.fd.get(), buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                client.fd.reset();
                continue;
            }
            const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
            corpus::swapcase(chunk);
            // BUG: a blocking write of the whole echo: it returns only once the client has
            // made room, which a client that never reads never does.
            if (!corpus::write_all(client.fd.get(), chunk)) client.fd.reset();
        }
        erase_closed(clients);
        // BUG (the same one): the accepted sockets are left blocking.
        if (watched[0].revents & POLLIN) accept_all(listener.get(), clients, /*nonblocking=*/false);
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "blocking-write: %s\n", error.what());
    return 1;
}
