// BROKEN: sets up its dual-stack listening socket by hand and forgets SO_REUSEADDR. After
// a server dies with connections open, those sit in TIME-WAIT for a minute, and until
// then a new server's bind() fails with EADDRINUSE. Otherwise correct.
#include "corpus_server.hpp"

namespace {

corpus::Fd listen_on(std::uint16_t port) {
    corpus::Fd fd(::socket(AF_INET6, SOCK_STREAM, 0));
    if (!fd) corpus::throw_errno("socket");
    const int off = 0;
    if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0)
        corpus::throw_errno("setsockopt(IPV6_V6ONLY)");
    // BUG: no setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind().
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_any;
    address.sin6_port = htons(port);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0)
        corpus::throw_errno("bind");
    if (::listen(fd.get(), 128) < 0) corpus::throw_errno("listen");
    return fd;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = listen_on(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        const pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("fork");
            continue;
        }
        if (pid == 0) {
            corpus::become_child();
            listener.reset();
            corpus::echo_swapcase(conn.get());
            conn.reset();
            ::_exit(0);
        }
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "no-reuseaddr: %s\n", error.what());
    return 1;
}
