// Lab 08 reference solution: one process serves every client at once, with poll().
//
// No fork, no threads. Every socket is non-blocking, and one loop asks poll() which
// of them can go ahead without waiting:
//   - the listener: accept every client that is waiting, until accept() says EAGAIN;
//   - a client with data: read until EAGAIN, swap the case, write what the socket
//     takes, and keep the rest in that client's output buffer (Step 3);
//   - a client whose buffer holds data: write more of it when poll() says POLLOUT;
//   - a client that half-closed: finish writing its buffer, then close (Step 4);
//   - a client whose buffer is full: not read at all until it drains (back-pressure),
//     so a client that sends without reading costs a bounded amount of memory (Step 5).
// SIGTERM ends the loop (lab 05's flag and ppoll()) and the server exits with status 0.
//
//   build:  make
//   check:  make check-solution LAB=08
//   run:    build/solutions/08-poll/server 1205   (then: nc 127.0.0.1 1205, several at once)

#include <fcntl.h>       // fcntl, O_NONBLOCK
#include <netdb.h>       // getaddrinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <poll.h>        // ppoll, pollfd, POLLIN, POLLOUT
#include <signal.h>      // sigaction, sigprocmask
#include <sys/socket.h>  // socket, setsockopt, bind, listen, accept4
#include <unistd.h>      // read, write, close, getpid

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

// A file descriptor that closes itself when it goes out of scope. Movable, so that
// a Client (which owns one) can live in a std::vector and be erased from it.
class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            close_now();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;  // two owners would close it twice
    Fd& operator=(const Fd&) = delete;
    ~Fd() { close_now(); }
    int get() const { return fd_; }
    bool is_open() const { return fd_ >= 0; }
    void close_now() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_;
};

// Every system call reports failure as -1 with the reason in errno: an exception
// with the call's name turns that into "bind: Address already in use".
template <typename Result>
Result check(Result result, const char* what) {
    if (result < 0) throw std::system_error(errno, std::generic_category(), what);
    return result;
}

std::string port_from_args(int argc, char** argv) {
    std::string port = argc < 2 ? "1205" : argv[1];
    int number = std::atoi(port.c_str());
    if (number <= 0 || number > 65535) throw std::invalid_argument("port must be 1-65535");
    return port;
}

// From lab 05: one socket that takes IPv6 and IPv4 clients, restartable at once.
Fd listen_on(const std::string& port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (int error = getaddrinfo(nullptr, port.c_str(), &hints, &found); error != 0)
        throw std::runtime_error(std::string("getaddrinfo: ") + gai_strerror(error));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);

    std::string failures;
    for (int family : {AF_INET6, AF_INET}) {
        for (const addrinfo* a = addresses.get(); a != nullptr; a = a->ai_next) {
            if (a->ai_family != family) continue;
            try {
                Fd listener(check(socket(a->ai_family, a->ai_socktype, a->ai_protocol), "socket"));
                int on = 1;
                check(setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt(SO_REUSEADDR)");
                if (family == AF_INET6) {
                    int off = 0;
                    check(setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off),
                          "setsockopt(IPV6_V6ONLY)");
                }
                check(bind(listener.get(), a->ai_addr, a->ai_addrlen), "bind");
                check(listen(listener.get(), SOMAXCONN), "listen");
                return listener;
            } catch (const std::system_error& error) {
                failures += std::string(failures.empty() ? "" : "; ") + error.what();
            }
        }
    }
    throw std::runtime_error("cannot listen on port " + port + ": " + failures);
}

// From lab 02: flip the case of ASCII letters, leave every other byte alone.
void swap_case(std::span<char> bytes) {
    for (char& c : bytes) {
        bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (letter) c = static_cast<char>(c ^ 0x20);
    }
}

// Step 3: one read() takes up to this much. Big, so that a fast client costs few
// system calls; one buffer serves every client in turn, since a client's bytes are
// swapped and written (or copied into its own buffer) before the next read().
constexpr std::size_t kReadSize = 64 * 1024;
// Step 5: a client's output buffer may hold this much before we stop reading from it.
constexpr std::size_t kMaxUnsent = 64 * 1024;
// Step 3: a client whose data keeps coming gets this many reads per turn, then the
// others get theirs. poll() reports it again next time: nothing is lost by stopping.
constexpr int kReadsPerTurn = 16;

// Step 2: what the server remembers about each client between two calls of poll().
struct Client {
    Fd fd;
    std::string unsent;   // Step 3: swapped bytes the socket would not take yet
    bool reading = true;  // Step 4: false once the client half-closed (read() gave 0)
};

bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK;
}

// Step 3: writes what the socket takes now; false when the connection is gone
// (ECONNRESET, EPIPE: SIGPIPE is ignored, so the write fails instead of killing us).
bool write_some(Client& client) {
    ssize_t written = write(client.fd.get(), client.unsent.data(), client.unsent.size());
    if (written < 0) return would_block(errno) || errno == EINTR;
    client.unsent.erase(0, static_cast<std::size_t>(written));
    return true;
}

// Step 3: bytes ready to go back. With nothing queued before them they go straight
// to the socket, and only what it would not take is copied; behind a queue they
// wait their turn, so the client gets its bytes in order.
bool send_or_keep(Client& client, std::span<const char> bytes) {
    if (client.unsent.empty()) {
        ssize_t written = write(client.fd.get(), bytes.data(), bytes.size());
        if (written < 0 && !would_block(errno) && errno != EINTR) return false;
        bytes = bytes.subspan(written < 0 ? 0 : static_cast<std::size_t>(written));
    }
    client.unsent.append(bytes.data(), bytes.size());
    return true;
}

// Step 3: reads what the client sent until the socket is empty (EAGAIN), its EOF,
// its fair share of reads, or (Step 5) until its buffer is full. false: close it.
bool read_some(Client& client, std::span<char> buffer) {
    for (int turn = 0; turn < kReadsPerTurn; ++turn) {
        if (!client.reading || client.unsent.size() >= kMaxUnsent) return true;
        ssize_t got = read(client.fd.get(), buffer.data(), buffer.size());
        if (got < 0) return would_block(errno) || errno == EINTR;
        if (got == 0) {
            client.reading = false;  // Step 4: EOF; what is unsent still goes out
            return true;
        }
        std::span<char> bytes = buffer.first(static_cast<std::size_t>(got));
        swap_case(bytes);
        if (!send_or_keep(client, bytes)) return false;
    }
    return true;
}

// Steps 3 and 5: what to ask poll() about this client. POLLIN only while there is
// room for more, POLLOUT only while something waits: a socket with room to write
// is "ready" almost always, and asking for POLLOUT with nothing to write would wake
// the loop at once, every time, for nothing.
short interest(const Client& client) {
    short events = 0;
    if (client.reading && client.unsent.size() < kMaxUnsent) events |= POLLIN;
    if (!client.unsent.empty()) events |= POLLOUT;
    return events;
}

// Steps 3-5: one client's turn after poll(). false: close the connection.
bool serve(Client& client, short revents, std::span<char> buffer) {
    if (revents & POLLNVAL) return false;
    // POLLHUP and POLLERR come whatever we asked for: the read or write below then
    // fails (or reads EOF) and tells us what happened.
    if (revents & (POLLIN | POLLHUP | POLLERR))
        if (!read_some(client, buffer)) return false;
    if (!client.unsent.empty() && (revents & (POLLOUT | POLLHUP | POLLERR)))
        if (!write_some(client)) return false;
    return client.reading || !client.unsent.empty();  // Step 4: EOF and all written: done
}

// Step 2: takes every client waiting in the listen queue, not just one: poll() said
// "readable" once for all of them. accept4() with SOCK_NONBLOCK is accept() and
// fcntl(O_NONBLOCK) in one call.
void accept_all(int listener, std::vector<Client>& clients) {
    for (;;) {
        int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            clients.push_back(Client{Fd(fd), {}, true});
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;  // try the next one
        if (!would_block(errno)) std::perror("accept4");        // EMFILE: try next turn
        return;
    }
}

// From lab 05, Step 4: the handler only sets a flag, looked at after every ppoll().
volatile sig_atomic_t stop_requested = 0;

void on_sigterm(int) {
    stop_requested = 1;
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        // Step 2: a listener that says EAGAIN when the queue is empty, so that
        // accept_all() can take every waiting client and stop there.
        check(fcntl(listener.get(), F_SETFL, O_NONBLOCK), "fcntl(O_NONBLOCK)");
        // One process serves everyone: a SIGPIPE would end them all. Ignored, a
        // write to a vanished client fails with EPIPE and costs that client only.
        signal(SIGPIPE, SIG_IGN);

        // From lab 05: SIGTERM stays blocked except inside ppoll(), so it cannot
        // slip in between the flag's test and the wait.
        sigset_t blocked, old_mask;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGTERM);
        check(sigprocmask(SIG_BLOCK, &blocked, &old_mask), "sigprocmask");
        struct sigaction action {};
        action.sa_handler = on_sigterm;
        sigemptyset(&action.sa_mask);
        check(sigaction(SIGTERM, &action, nullptr), "sigaction");

        std::printf("[%d] listening on port %s\n", getpid(), argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);

        std::array<char, kReadSize> buffer;  // shared by every client, one at a time
        std::vector<Client> clients;
        std::vector<pollfd> watched;  // rebuilt every turn; its memory is kept
        while (!stop_requested) {
            // Step 2: entry 0 is the listener, entry i + 1 is clients[i].
            watched.clear();
            watched.push_back({listener.get(), POLLIN, 0});
            for (const Client& client : clients)
                watched.push_back({client.fd.get(), interest(client), 0});

            int ready = ppoll(watched.data(), watched.size(), nullptr, &old_mask);
            if (ready < 0 && errno == EINTR) continue;  // SIGTERM: the loop's test ends it
            check(ready, "ppoll");

            for (std::size_t i = 0; i < clients.size(); ++i) {
                short revents = watched[i + 1].revents;
                if (revents != 0 && !serve(clients[i], revents, buffer)) clients[i].fd.close_now();
            }
            std::erase_if(clients, [](const Client& client) { return !client.fd.is_open(); });
            // Last, so that the indexes above still matched `watched`.
            if (watched[0].revents & POLLIN) accept_all(listener.get(), clients);
        }

        std::printf("[%d] SIGTERM: closing %zu connections\n", getpid(), clients.size());
        std::fflush(stdout);
        return 0;  // the destructors close every client, then the listener
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
