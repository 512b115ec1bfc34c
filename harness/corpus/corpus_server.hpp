#pragma once
// Building blocks of the corpus servers: every block here is CORRECT. Each corpus file
// puts them together in its main(), so its design reads there, and its one deliberate bug
// (marked `// BUG:`) is written out in that file, never hidden in here.
//
// Contract (harness/CHECKS.md): argv[1] is the TCP port (default 1205); listen on all
// interfaces; swapcase protocol (ASCII letters XOR 0x20, every other byte unchanged),
// echoed as it arrives; at the client's EOF finish writing and close.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace corpus {

// ---------------------------------------------------------------- descriptors and errors

// A file descriptor that closes itself.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    // Gives the descriptor away: from now on nobody closes it unless the caller does.
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

// Setup failures throw; main() catches them, prints what() and exits 1.
[[noreturn]] inline void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// argv[1] as a port number; 1205 (the article's port) when absent.
inline std::uint16_t port_from_args(int argc, char** argv) {
    if (argc < 2) return 1205;
    const std::string_view text = argv[1];
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
        throw std::invalid_argument("bad port '" + std::string(text) + "': want 1-65535");
    return static_cast<std::uint16_t>(value);
}

// ---------------------------------------------------------------- listening

struct ListenerOptions {
    bool reuseaddr = true;   // SO_REUSEADDR: rebind at once over TIME-WAIT connections
    bool dual_stack = true;  // one AF_INET6 socket with IPV6_V6ONLY=0 serves IPv4 and IPv6
    int backlog = 128;
};

// A TCP socket bound to `port` on every interface, not yet listening. Dual-stack falls
// back to plain IPv4 when the machine has no IPv6 at all.
inline Fd bound_socket(std::uint16_t port, ListenerOptions options = {}) {
    Fd fd;
    if (options.dual_stack) {
        fd.reset(::socket(AF_INET6, SOCK_STREAM, 0));
        if (!fd && errno != EAFNOSUPPORT) throw_errno("socket(AF_INET6)");
    }
    const bool ipv6 = static_cast<bool>(fd);
    if (!ipv6) {
        fd.reset(::socket(AF_INET, SOCK_STREAM, 0));
        if (!fd) throw_errno("socket(AF_INET)");
    }
    const int on = 1;
    const int off = 0;
    if (options.reuseaddr && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        throw_errno("setsockopt(SO_REUSEADDR)");
    if (ipv6) {
        if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0)
            throw_errno("setsockopt(IPV6_V6ONLY)");
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_addr = in6addr_any;
        address.sin6_port = htons(port);
        if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0)
            throw_errno("bind([::]:" + std::to_string(port) + ")");
    } else {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_ANY);
        address.sin_port = htons(port);
        if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0)
            throw_errno("bind(0.0.0.0:" + std::to_string(port) + ")");
    }
    return fd;
}

inline void start_listening(int fd, int backlog) {
    if (::listen(fd, backlog) < 0) throw_errno("listen");
}

// bound_socket() + listen(): the listening socket of every correct server.
inline Fd make_listener(std::uint16_t port, ListenerOptions options = {}) {
    Fd fd = bound_socket(port, options);
    start_listening(fd.get(), options.backlog);
    std::printf("[%d] listening on port %u\n", static_cast<int>(::getpid()), unsigned{port});
    std::fflush(stdout);
    return fd;
}

// ---------------------------------------------------------------- clients

// One accept() call. On failure the Fd is empty and errno says why (EINTR included):
// what to do about it is each server's design, so it stays in each main().
inline Fd accept_client(int listener, sockaddr_storage& peer) {
    socklen_t length = sizeof peer;
    return Fd(::accept(listener, reinterpret_cast<sockaddr*>(&peer), &length));
}

// "::ffff:127.0.0.1 port 40312" (inet_ntop), or "?" for an unknown family.
inline std::string describe(const sockaddr_storage& peer) {
    std::array<char, INET6_ADDRSTRLEN> text{};
    unsigned port = 0;
    if (peer.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(peer);
        ::inet_ntop(AF_INET6, &a.sin6_addr, text.data(), text.size());
        port = ntohs(a.sin6_port);
    } else if (peer.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(peer);
        ::inet_ntop(AF_INET, &a.sin_addr, text.data(), text.size());
        port = ntohs(a.sin_port);
    } else {
        return "?";
    }
    return std::string(text.data()) + " port " + std::to_string(port);
}

// A line per client on stdout, flushed (so a fork never duplicates a buffered line).
inline void log_client(const sockaddr_storage& peer, const char* what = "serving") {
    std::printf("[%d] %s %s\n", static_cast<int>(::getpid()), what, describe(peer).c_str());
    std::fflush(stdout);
}

// ---------------------------------------------------------------- the protocol

inline char swapcase(char c) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return letter ? static_cast<char>(c ^ 0x20) : c;
}

inline void swapcase(std::span<char> bytes) {
    for (char& c : bytes) c = swapcase(c);
}

// Writes every byte, across short writes and EINTR. false when the connection is gone
// (EPIPE when SIGPIPE is ignored, ECONNRESET, ...), errno set.
inline bool write_all(int fd, std::span<const char> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

// Echoes swapcased bytes as they arrive until the client's EOF (read returns 0) or an
// error (a reset). Closing the connection is the caller's part.
inline void echo_swapcase(int fd) {
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n == 0) return;
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        const auto chunk = std::span(buffer).first(static_cast<std::size_t>(n));
        swapcase(chunk);
        if (!write_all(fd, chunk)) return;
    }
}

// ---------------------------------------------------------------- signals

// sigaction() with an empty mask; flags as given (SA_RESTART or 0: the servers show which).
inline void on_signal(int signal_number, void (*handler)(int), int flags) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = flags;
    if (::sigaction(signal_number, &action, nullptr) < 0)
        throw_errno("sigaction(" + std::to_string(signal_number) + ")");
}

// A write to a connection the client reset then fails with EPIPE instead of killing us.
inline void ignore_sigpipe() {
    on_signal(SIGPIPE, SIG_IGN, 0);
}

// SIGCHLD handler: reaps every child that has exited (one signal may stand for many),
// without blocking, and leaves errno as the interrupted code had it.
inline void reap_children(int) {
    const int saved_errno = errno;
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    errno = saved_errno;
}

// SIGTERM handler: stop everything, terminate and reap the children, exit 0. It never
// returns, so the main loop stops accepting. Only async-signal-safe calls. kill(0, ...)
// reaches our process group: ourselves (ignored from now on) and every descendant that
// stayed in it, grandchildren included.
inline void terminate_children_and_exit(int) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGTERM, &ignore, nullptr);
    ::kill(0, SIGTERM);
    while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
    }
    ::_exit(0);
}

// Installs terminate_children_and_exit for SIGTERM (SIGCHLD held off while it runs).
// The server first leads its own process group, so that kill(0, ...) stays inside its
// own tree even when a script started it without job control (labcheck's servers and a
// shell's jobs already lead one: then this changes nothing).
inline void terminate_children_on_sigterm() {
    if (::getpgrp() != ::getpid() && ::setpgid(0, 0) < 0) throw_errno("setpgid");
    struct sigaction action {};
    action.sa_handler = terminate_children_and_exit;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGCHLD);
    action.sa_flags = 0;
    if (::sigaction(SIGTERM, &action, nullptr) < 0) throw_errno("sigaction(SIGTERM)");
}

// First thing in a freshly forked child: it serves one client and has no children, so it
// gives up the parent's SIGCHLD and SIGTERM handlers (SIGTERM then simply ends it, which
// is what the parent's shutdown relies on). SIGPIPE stays ignored.
inline void become_child() {
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    ::sigaction(SIGCHLD, &default_action, nullptr);
    ::sigaction(SIGTERM, &default_action, nullptr);
}

// The correct fork-per-client server (children reaped with a waitpid loop, SA_RESTART,
// SIGPIPE ignored, clean SIGTERM) around `serve`: for the corpus servers whose one bug
// is in how a child serves its client.
inline int fork_per_client_main(int argc, char** argv, const char* name, void (*serve)(int)) try {
    const auto port = port_from_args(argc, argv);
    ignore_sigpipe();
    on_signal(SIGCHLD, reap_children, SA_RESTART);
    terminate_children_on_sigterm();
    Fd listener = make_listener(port);

    for (;;) {
        sockaddr_storage peer{};
        Fd conn = accept_client(listener.get(), peer);
        if (!conn) {
            if (errno != EINTR) std::perror("accept");
            continue;
        }
        log_client(peer);
        const pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("fork");
            continue;
        }
        if (pid == 0) {
            become_child();
            listener.reset();
            serve(conn.get());
            conn.reset();
            ::_exit(0);
        }
        conn.reset();
    }
} catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", name, error.what());
    return 1;
}

}  // namespace corpus
