// CORRECT server that goes into the background like a classic daemon: it opens its
// listening socket first (so a bind error still reaches the terminal), then forks, the
// launcher exits 0, the child calls setsid() and forks again, and the grandchild serves.
// It exists to prove that labcheck follows a server that left its process tree and
// session, and still kills it when the check ends.
#include <fcntl.h>
#include <sys/stat.h>

#include "corpus_server.hpp"

namespace {

// The double fork: returns in the daemon only.
void daemonize() {
    pid_t pid = ::fork();
    if (pid < 0) corpus::throw_errno("fork");
    if (pid > 0) ::_exit(0);  // the launcher: the shell (or labcheck) gets its prompt back
    if (::setsid() < 0) corpus::throw_errno("setsid");  // no controlling terminal, own session
    pid = ::fork();
    if (pid < 0) corpus::throw_errno("fork");
    if (pid > 0) ::_exit(0);  // not a session leader: it can never get a terminal again
    if (::chdir("/") < 0) corpus::throw_errno("chdir");
    ::umask(022);
    corpus::Fd null(::open("/dev/null", O_RDWR));
    if (!null || ::dup2(null.get(), STDIN_FILENO) < 0) corpus::throw_errno("/dev/null");
    // stdout and stderr stay where they were (labcheck's log files); a real daemon would
    // point them at /dev/null too and log to syslog.
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::Fd listener = corpus::make_listener(port);
    daemonize();
    std::printf("[%d] daemon serving port %u\n", static_cast<int>(::getpid()), unsigned{port});
    std::fflush(stdout);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();

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
    std::fprintf(stderr, "daemonizing: %s\n", error.what());
    return 1;
}
