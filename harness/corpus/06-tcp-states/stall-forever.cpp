// BROKEN: on stall the parent stops accepting, and never starts again: it takes the
// listener out of poll() but forgets the stall's length, so nothing ever puts it back.
// The accept queue fills as it should, then stays full; every later client waits in
// SYN-SENT, then times out.
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

    bool accepting = true;
    for (;;) {
        pollfd waiting[2] = {{accepting ? listener.get() : -1, POLLIN, 0},
                             {stall_reader.get(), POLLIN, 0}};
        if (::poll(waiting, 2, -1) <= 0) continue;  // EINTR (SIGCHLD)
        if (waiting[1].revents & POLLIN) {
            int ms = 0;
            // BUG: the length is read and dropped: no timeout, no time to accept again.
            if (::read(stall_reader.get(), &ms, sizeof ms) == sizeof ms) accepting = false;
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
        if (pid == 0) playground::be_child(listener, stall_reader, stall_writer.get(), conn, {});
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "stall-forever: %s\n", error.what());
    return 1;
}
