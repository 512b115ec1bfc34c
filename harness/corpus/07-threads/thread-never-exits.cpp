// BROKEN: each client's thread closes its connection at EOF (so the client is served
// well and sees the server close) but then never returns: it waits forever for a
// "next job" that nobody will post, as a half-written thread pool would. Threads pile
// up, one per client that ever came.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "../corpus_server.hpp"

namespace {

std::mutex jobs_mutex;
std::condition_variable job_posted;

void serve(corpus::Fd conn) {
    corpus::echo_swapcase(conn.get());
    conn.reset();  // the client reads EOF
    // BUG: the thread should return here; instead it waits for work that never comes.
    std::unique_lock lock(jobs_mutex);
    job_posted.wait(lock, [] { return false; });
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        try {
            std::thread(serve, std::move(conn)).detach();
        } catch (const std::system_error& error) {
            std::fprintf(stderr, "thread: %s\n", error.what());
        }
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "thread-never-exits: %s\n", error.what());
    return 1;
}
