// BROKEN: sets up its listening socket by hand as AF_INET on 0.0.0.0, so IPv6 clients
// (::1) are refused. Otherwise correct, SO_REUSEADDR included.
#include "corpus_server.hpp"

namespace {

corpus::Fd listen_on(std::uint16_t port) {
    // BUG: an AF_INET socket only hears IPv4; the lab wants one AF_INET6 socket on
    // in6addr_any with IPV6_V6ONLY=0 (dual-stack).
    corpus::Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
    if (!fd) corpus::throw_errno("socket");
    const int on = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        corpus::throw_errno("setsockopt(SO_REUSEADDR)");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(port);
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
    std::fprintf(stderr, "ipv4-only: %s\n", error.what());
    return 1;
}
