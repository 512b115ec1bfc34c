// Lab 08 starter: lab 05's server in one process, without fork().
//
// It listens as lab 05's does (IPv6 and IPv4, SO_REUSEADDR), ignores SIGPIPE, and
// waits for clients in ppoll() with SIGTERM unblocked only there. But without a child
// per client it serves each client to the end before it looks at the next one: one
// client at a time, like lab 01. Your job, step by step in README.md: watch every
// socket with poll() (Step 2), never wait on one client: read and write only what is
// there, keep the rest (Step 3), end each connection properly (Step 4), and stop
// reading from a client that does not read its echo (Step 5). Each TODO(step N) marks
// where a step's change goes.
//
//   build:  make
//   check:  make check LAB=08
//   run:    build/labs/08-poll/server 1205   (then: nc 127.0.0.1 1205, several at once)

#include <netdb.h>       // getaddrinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <poll.h>        // ppoll, pollfd, POLLIN
#include <signal.h>      // sigaction, sigprocmask
#include <sys/socket.h>  // socket, setsockopt, bind, listen, accept
#include <unistd.h>      // read, write, close, getpid

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

// A file descriptor that closes itself when it goes out of scope, so no path
// through the program (an early return, an exception) can leak one.
// TODO(step 2): make it movable (a move assignment too), so that a Client owning one
// can live in a std::vector and be erased from it.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&&) = delete;
    Fd(const Fd&) = delete;  // two owners would close it twice
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
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

// From lab 01: write all of a buffer, however many write() calls it takes.
// TODO(step 3): this waits until the client has made room for every byte: in a server
// that serves everyone from one loop, nothing may wait for one client. Write what the
// socket takes now, and keep the rest in that client's output buffer.
void write_all(int fd, std::span<const char> bytes) {
    while (!bytes.empty()) {
        ssize_t written = write(fd, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR) continue;
        check(written, "write");
        bytes = bytes.subspan(static_cast<size_t>(written));
    }
}

// From lab 02: serve one client until it closes its side.
// TODO(step 3): this read() waits for the client, and the loop keeps at it until EOF:
// read what is there now (until EAGAIN), and come back when poll() says there is more.
// TODO(step 4): EOF and errors end this client only; at EOF, finish writing first.
// TODO(step 5): stop reading from a client whose output buffer is full.
void serve_until_eof(int connection) {
    char buffer[64 * 1024];
    for (;;) {
        ssize_t got = read(connection, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got == 0) return;  // EOF: the client will send nothing more
        check(got, "read");
        std::span<char> data(buffer, static_cast<size_t>(got));
        swap_case(data);
        write_all(connection, data);
    }
}

// From lab 05, Step 4: the handler only sets a flag, looked at after every ppoll().
volatile sig_atomic_t stop_requested = 0;

void on_sigterm(int) {
    stop_requested = 1;
}

// TODO(step 2): a struct Client with what the server must remember about each client
// between two calls of poll(): its Fd, and later (Step 3) its output buffer and (Step 4)
// whether it has half-closed.

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        // TODO(step 2): make the listener non-blocking (fcntl O_NONBLOCK).

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

        // TODO(step 2): a std::vector of clients, and a std::vector<pollfd> rebuilt
        // before every ppoll(): the listener first, then one entry per client.
        while (!stop_requested) {
            pollfd waiting{listener.get(), POLLIN, 0};
            int ready = ppoll(&waiting, 1, nullptr, &old_mask);
            if (ready < 0 && errno == EINTR) continue;  // SIGTERM: the loop's test ends it
            check(ready, "ppoll");

            // TODO(step 2): serve the clients whose revents say they are ready (Step 3
            // says how), then accept every waiting client, until accept() says EAGAIN,
            // make each one non-blocking and add it to the vector: do not serve it here.
            sockaddr_storage peer{};
            socklen_t peer_size = sizeof peer;
            int fd = accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_size);
            if (fd < 0) {
                if (errno != EINTR && errno != ECONNABORTED) std::perror("accept");
                continue;
            }
            Fd connection(fd);
            try {
                serve_until_eof(connection.get());
            } catch (const std::system_error& error) {
                std::fprintf(stderr, "[%d] client: %s\n", getpid(), error.what());
            }
        }

        std::printf("[%d] SIGTERM: stopping\n", getpid());
        std::fflush(stdout);
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
