// CORRECT: joinable threads, each joined. A thread that has served its client posts
// its own id on a queue before it returns; a reaper thread, there from the start (the
// idle baseline has 2 threads), takes each id and calls pthread_join() on it, which
// frees that thread's stack. The lab 04 parent's waitpid() loop, for threads.
#include <pthread.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "../corpus_server.hpp"

namespace {

std::mutex finished_mutex;
std::condition_variable finished_posted;
std::deque<pthread_t> finished;

void* serve(void* argument) {
    {
        corpus::Fd conn(static_cast<int>(reinterpret_cast<std::intptr_t>(argument)));
        corpus::echo_swapcase(conn.get());
    }
    std::lock_guard lock(finished_mutex);
    finished.push_back(::pthread_self());
    finished_posted.notify_one();
    return nullptr;
}

[[noreturn]] void reap_threads() {
    for (;;) {
        pthread_t thread;
        {
            std::unique_lock lock(finished_mutex);
            finished_posted.wait(lock, [] { return !finished.empty(); });
            thread = finished.front();
            finished.pop_front();
        }
        ::pthread_join(thread, nullptr);  // waits the last instants of its return, frees its stack
    }
}

}  // namespace

int main(int argc, char** argv) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::terminate_children_on_sigterm();
    corpus::Fd listener = corpus::make_listener(port);
    std::thread(reap_threads).detach();

    for (;;) {
        sockaddr_storage peer{};
        corpus::Fd conn = corpus::accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        corpus::log_client(peer);
        pthread_t thread;
        void* argument = reinterpret_cast<void*>(static_cast<std::intptr_t>(conn.get()));
        if (const int error = ::pthread_create(&thread, nullptr, serve, argument); error != 0) {
            std::fprintf(stderr, "pthread_create: %s\n", std::strerror(error));
            continue;  // conn closes: this client gets EOF
        }
        conn.release();  // the thread owns it now
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "reaper-joins: %s\n", error.what());
    return 1;
}
