// BROKEN: the parent never closes its copy of each connection (lab 03's bug, met again).
// The child's close() then sends nothing: the socket lives on in the parent. So close
// cannot close first, reset cannot abort (SO_LINGER acts on the last close only), and no
// client ever reads EOF. leak "works", by accident: every connection leaks.
#include <vector>

#include "playground.hpp"

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener =
        corpus::make_listener(port, {.backlog = playground::backlog_from_args(argc, argv, 5)});
    int ends[2];
    if (::pipe(ends) < 0) corpus::throw_errno("pipe");
    corpus::Fd stall_reader(ends[0]), stall_writer(ends[1]);

    std::vector<corpus::Fd> kept;
    std::chrono::steady_clock::time_point accept_again_at{};
    for (;;) {
        const int left = playground::milliseconds_until(accept_again_at);
        pollfd waiting[2] = {{left > 0 ? -1 : listener.get(), POLLIN, 0},
                             {stall_reader.get(), POLLIN, 0}};
        if (::poll(waiting, 2, left > 0 ? left : -1) <= 0) continue;
        if (waiting[1].revents & POLLIN) {
            int ms = 0;
            if (::read(stall_reader.get(), &ms, sizeof ms) == sizeof ms)
                accept_again_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
            continue;
        }
        if (!(waiting[0].revents & POLLIN)) continue;
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
            kept.clear();  // the child closes the parent's hoard: only the parent leaks
            playground::be_child(listener, stall_reader, stall_writer.get(), conn, {});
        }
        kept.push_back(std::move(conn));  // BUG: should be conn.reset()
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "parent-keeps-connection: %s\n", error.what());
    return 1;
}
