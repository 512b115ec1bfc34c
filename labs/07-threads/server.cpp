// Lab 07 starter: lab 05's robust server with the fork() taken out.
//
// It listens on IPv6 and IPv4, restarts at once, ignores SIGPIPE and stops cleanly on
// SIGTERM, but it serves one client at a time: main() itself talks to each client,
// and accepts the next one only when that client has gone. Your job, step by step in
// README.md: serve each client in a thread of its own (Step 2), make those threads
// give back everything they used (Step 3), get the signals right for a process with
// many threads (Step 4), and stop cleanly with threads still serving (Step 5). Each
// TODO(step N) marks where a step's change goes.
//
//   build:  make
//   check:  make check LAB=07
//   run:    build/labs/07-threads/server 1205   (then: nc ::1 1205)

#include <fcntl.h>       // fcntl, O_NONBLOCK
#include <netdb.h>       // getaddrinfo, getnameinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <poll.h>        // ppoll
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
    // Hands the descriptor to a new owner, who closes it from now on.
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

// Every system call reports failure as -1 with the reason in errno. Turning that
// into an exception with the call's name gives messages like
// "bind: Address already in use" without an if after every line.
template <typename Result>
Result check(Result result, const char* what) {
    if (result < 0) throw std::system_error(errno, std::generic_category(), what);
    return result;
}

// From lab 05: getaddrinfo wants the port as text ("1205"), as a service name would be.
std::string port_from_args(int argc, char** argv) {
    std::string port = argc < 2 ? "1205" : argv[1];
    int number = std::atoi(port.c_str());
    if (number <= 0 || number > 65535) throw std::invalid_argument("port must be 1-65535");
    return port;
}

// From lab 05: a socket listening on `port` on every local address, IPv6 and IPv4
// (one AF_INET6 socket with IPV6_V6ONLY off; AF_INET alone on a machine without
// IPv6), with SO_REUSEADDR so that a restarted server binds at once.
Fd listen_on(const std::string& port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;  // addresses to bind to, not to connect to
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

// From lab 01: write all of a buffer, however many write() calls it takes. With
// SIGPIPE ignored (lab 05), a client that has gone makes it throw (EPIPE).
void write_all(int fd, std::span<const char> bytes) {
    while (!bytes.empty()) {
        ssize_t written = write(fd, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR) continue;
        check(written, "write");
        bytes = bytes.subspan(static_cast<size_t>(written));
    }
}

// From lab 02: flip the case of ASCII letters, leave every other byte alone.
char swap_case(char c) {
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    return letter ? static_cast<char>(c ^ 0x20) : c;
}

// From lab 02: serve one client until it closes its side.
void swap_case_echo(int connection) {
    char buffer[4096];
    for (;;) {
        ssize_t got = read(connection, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got == 0) return;  // EOF: the client will send nothing more
        check(got, "read");
        std::span<char> data(buffer, static_cast<size_t>(got));
        for (char& c : data) c = swap_case(c);
        write_all(connection, data);
    }
}

// From lab 05: the client's address in any family, as text.
std::string describe(const sockaddr_storage& peer, socklen_t size) {
    char host[NI_MAXHOST];
    char service[NI_MAXSERV];
    int error = getnameinfo(reinterpret_cast<const sockaddr*>(&peer), size, host, sizeof host,
                            service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV);
    if (error != 0) return std::string("? (") + gai_strerror(error) + ")";
    return std::string(host) + " port " + service;
}

// TODO(step 5): a class that keeps the set of live connections under a mutex.

// Everything needed to serve one client.
struct Client {
    int fd;
    std::string name;  // "::ffff:127.0.0.1 port 40312"
};

// Lab 05's serve_in_child(), without the fork: serves one client, then closes.
// TODO(step 2): make this a thread's function, void* serve_client(void* argument), that
// takes ownership of a Client made with std::make_unique; print the thread id too.
void serve_client(const Client& client) {
    std::printf("[%d] serving %s\n", getpid(), client.name.c_str());
    std::fflush(stdout);
    try {
        swap_case_echo(client.fd);
    } catch (const std::system_error& error) {
        std::fprintf(stderr, "[%d] %s: %s\n", getpid(), client.name.c_str(), error.what());
    }
    close(client.fd);  // the client reads EOF
}

// TODO(step 3): a class around pthread_attr_t: detached threads, each with a 128 KiB stack.

// From lab 05: the handler only records that SIGTERM came; main's loop looks.
volatile sig_atomic_t stop_requested = 0;

void on_sigterm(int) {
    stop_requested = 1;
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        check(fcntl(listener.get(), F_SETFL, O_NONBLOCK), "fcntl(O_NONBLOCK)");

        // From lab 05: a write to a vanished client fails with EPIPE instead of
        // killing the process.
        signal(SIGPIPE, SIG_IGN);

        // From lab 05: SIGTERM stays blocked except while main waits in ppoll().
        // TODO(step 4): with threads, pthread_sigmask(); and this must come before any thread.
        sigset_t blocked, old_mask;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGTERM);
        check(sigprocmask(SIG_BLOCK, &blocked, &old_mask), "sigprocmask");
        struct sigaction action {};
        action.sa_handler = on_sigterm;
        sigemptyset(&action.sa_mask);
        check(sigaction(SIGTERM, &action, nullptr), "sigaction(SIGTERM)");

        std::printf("[%d] listening on port %s\n", getpid(), argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);

        while (!stop_requested) {
            pollfd waiting{listener.get(), POLLIN, 0};
            int ready = ppoll(&waiting, 1, nullptr, &old_mask);
            if (ready < 0 && errno != EINTR) check(ready, "ppoll");
            if (ready <= 0 || stop_requested) continue;

            sockaddr_storage peer{};
            socklen_t peer_size = sizeof peer;
            int fd = accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_size);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    std::perror("accept");
                continue;
            }
            Fd connection(fd);
            Client client{connection.get(), describe(peer, peer_size)};
            connection.release();  // serve_client() closes it
            // TODO(step 2): start a thread that serves this client, and go straight back to
            // ppoll(): no fork(), no close() of anything here.
            serve_client(client);
        }

        listener.close_now();
        // TODO(step 5): end the conversations still going on, wait for their threads, return.
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
