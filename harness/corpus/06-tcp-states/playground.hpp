#pragma once
// Building blocks of lab 06's corpus: the state playground, every block CORRECT. Each
// server here puts them together in its main(); its one deliberate bug (marked `// BUG:`)
// is written out in that file, never hidden in here.
//
// Lab 06's contract (labs/06-tcp-states/README.md): the lab-05 server (argv[1] the port,
// swapcase echo, fork per client), plus argv[2], the listen backlog (5 by default), and
// commands, judged on all that the connection's first read() returned:
//   close      answer a line, then close first            -> the server's end in TIME-WAIT
//   leak       answer, echo until EOF, keep it for 30 s   -> CLOSE-WAIT / FIN-WAIT-2
//   reset      answer, then close with SO_LINGER {1, 0}   -> RST
//   stall MS   tell the parent, answer, echo; the parent does not accept for MS ms

#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <string_view>

#include "../corpus_server.hpp"

namespace playground {

using corpus::Fd;

// ---------------------------------------------------------------- the commands

enum class Command { none, close_first, leak, reset, stall };

struct Request {
    Command command = Command::none;
    int stall_ms = 0;
};

inline Request parse_request(std::string_view first) {
    if (!first.ends_with('\n')) return {};
    first.remove_suffix(1);
    if (first.ends_with('\r')) first.remove_suffix(1);
    if (first == "close") return {Command::close_first};
    if (first == "leak") return {Command::leak};
    if (first == "reset") return {Command::reset};
    if (first.starts_with("stall ")) {
        const std::string_view digits = first.substr(6);
        int ms = 0;
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
        if (error == std::errc{} && end == digits.data() + digits.size() && ms > 0 && ms <= 60000)
            return {Command::stall, ms};
    }
    return {};
}

inline void say(int fd, std::string_view line) {
    corpus::write_all(fd, std::span(line.data(), line.size()));
}

// ---------------------------------------------------------------- what each command does

// close: the server closes first (the caller's close() sends the first FIN).
inline void close_first(int fd) {
    say(fd, "close: the server closes first\n");
}

// leak: echo until EOF, then keep the connection open for 30 s (the caller closes later).
inline void leak(int fd) {
    say(fd, "leak: after your EOF the server will not close, for 30 s\n");
    corpus::echo_swapcase(fd);
    ::sleep(30);
}

// reset: an abortive close: the caller's close() sends RST.
inline void reset(int fd) {
    say(fd, "reset: the server aborts the connection\n");
    const linger abort_now{1, 0};
    if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now) < 0)
        std::perror("setsockopt(SO_LINGER)");
}

// stall: pass the milliseconds on to the parent through the pipe (four bytes: one atomic
// write), answer, then serve as usual.
inline void stall(int fd, int stall_requests, int ms) {
    if (::write(stall_requests, &ms, sizeof ms) < 0) std::perror("write(stall pipe)");
    say(fd, "stall: the server stops calling accept() for a while\n");
    corpus::echo_swapcase(fd);
}

// How one child handles each command; a broken server swaps in its own.
struct Handlers {
    void (*close_first)(int) = playground::close_first;
    void (*leak)(int) = playground::leak;
    void (*reset)(int) = playground::reset;
    void (*stall)(int, int, int) = playground::stall;
};

// One connection: its first read() decides. `stall_requests` is the pipe to the parent.
inline void serve(int fd, int stall_requests, const Handlers& handlers) {
    std::array<char, 4096> buffer;
    ssize_t got;
    do {
        got = ::read(fd, buffer.data(), buffer.size());
    } while (got < 0 && errno == EINTR);
    if (got <= 0) return;
    const auto first = std::span(buffer).first(static_cast<std::size_t>(got));
    const Request request = parse_request(std::string_view(first.data(), first.size()));
    switch (request.command) {
        case Command::close_first:
            return handlers.close_first(fd);
        case Command::leak:
            return handlers.leak(fd);
        case Command::reset:
            return handlers.reset(fd);
        case Command::stall:
            return handlers.stall(fd, stall_requests, request.stall_ms);
        case Command::none:
            corpus::swapcase(first);
            if (!corpus::write_all(fd, first)) return;
            return corpus::echo_swapcase(fd);
    }
}

// ---------------------------------------------------------------- the parent

// argv[2] as listen()'s backlog, `fallback` when absent.
inline int backlog_from_args(int argc, char** argv, int fallback) {
    return argc > 2 ? std::atoi(argv[2]) : fallback;
}

// The time left until `until`, in whole milliseconds rounded up, for poll().
inline int milliseconds_until(std::chrono::steady_clock::time_point until) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// The child's part of a fork: it serves its client and exits.
[[noreturn]] inline void be_child(Fd& listener, Fd& stall_reader, int stall_writer, Fd& conn,
                                  const Handlers& handlers) {
    corpus::become_child();
    listener.reset();
    stall_reader.reset();
    serve(conn.get(), stall_writer, handlers);
    conn.reset();
    ::_exit(0);
}

// The fork-per-client playground: SIGCHLD reaped with a waitpid loop, SIGPIPE ignored,
// SIGTERM ends the children and exits 0, and stall requests come through a pipe: while
// one lasts, the listener is left out of poll() (a negative descriptor is skipped).
inline int run(int argc, char** argv, const char* name, const Handlers& handlers,
               int default_backlog = 5) try {
    const auto port = corpus::port_from_args(argc, argv);
    corpus::ignore_sigpipe();
    corpus::on_signal(SIGCHLD, corpus::reap_children, SA_RESTART);
    corpus::terminate_children_on_sigterm();
    Fd listener =
        corpus::make_listener(port, {.backlog = backlog_from_args(argc, argv, default_backlog)});
    int ends[2];
    if (::pipe(ends) < 0) corpus::throw_errno("pipe");
    Fd stall_reader(ends[0]), stall_writer(ends[1]);

    std::chrono::steady_clock::time_point accept_again_at{};
    for (;;) {
        const int left = milliseconds_until(accept_again_at);
        pollfd waiting[2] = {{left > 0 ? -1 : listener.get(), POLLIN, 0},
                             {stall_reader.get(), POLLIN, 0}};
        if (::poll(waiting, 2, left > 0 ? left : -1) <= 0) continue;  // EINTR, or the stall ended
        if (waiting[1].revents & POLLIN) {
            int ms = 0;
            if (::read(stall_reader.get(), &ms, sizeof ms) == sizeof ms)
                accept_again_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
            continue;
        }
        if (!(waiting[0].revents & POLLIN)) continue;
        sockaddr_storage peer{};
        Fd conn = corpus::accept_client(listener.get(), peer);
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
        if (pid == 0) be_child(listener, stall_reader, stall_writer.get(), conn, handlers);
    }  // the parent's copy of conn closes here, at the end of each round
} catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", name, error.what());
    return 1;
}

}  // namespace playground
