// Lab 10 starter: lab 08's poll() server, taken apart to be put back together on epoll.
//
// Everything that lab 08 taught is here and unchanged: non-blocking sockets, a buffer
// per client for what write() did not take, back-pressure, EOF and errors. What is
// gone is poll(): the array rebuilt on every turn. Its place is taken by a small class,
// Epoll, whose four functions you write (Step 2 and Step 3), and by the calls to it
// marked TODO in the loop. Each comment says what lab 08 did at that point.
// Until Step 2 is done the server stops at once: "TODO(step 2): ...".
//
//   build:  make
//   check:  make check LAB=10
//   run:    build/labs/10-compare/server 1205   (then: make compare)

#include <fcntl.h>       // fcntl, O_NONBLOCK
#include <netdb.h>       // getaddrinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <signal.h>      // sigaction, sigprocmask
#include <sys/epoll.h>   // epoll_create1, epoll_ctl, epoll_pwait, epoll_event
#include <sys/socket.h>  // socket, setsockopt, bind, listen, accept4
#include <unistd.h>      // read, write, close, getpid

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

// A file descriptor that closes itself when it goes out of scope.
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
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { close_now(); }
    int get() const { return fd_; }
    void close_now() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_;
};

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

void swap_case(std::span<char> bytes) {
    for (char& c : bytes) {
        bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (letter) c = static_cast<char>(c ^ 0x20);
    }
}

constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::size_t kMaxUnsent = 64 * 1024;
constexpr int kReadsPerTurn = 16;
constexpr int kEventsPerWait = 256;

// Lab 08's client. Lab 08 kept clients in a vector in the order they came, and found
// each one's pollfd by its index. epoll hands back a descriptor, so here a client is
// found by its descriptor number: clients_[fd]. Numbers are small and reused as soon as
// one is closed, so the vector stays small, and a slot serves client after client.
struct Client {
    bool open = false;
    bool reading = true;
    std::uint32_t watching = 0;  // Step 3: the events epoll has for it now
    std::string unsent;
};

// Step 2: the epoll instance and the calls the loop makes on it. Lab 08 had none of
// this: it handed poll() the whole array on every call.
class Epoll {
  public:
    // TODO(step 2): create the instance with epoll_create1(EPOLL_CLOEXEC); keep it in fd_.
    Epoll() {
        throw std::logic_error("TODO(step 2): Epoll() does not create an epoll instance yet");
    }

    // TODO(step 2): epoll_ctl(EPOLL_CTL_ADD) for fd, with an epoll_event whose events
    // are `events` and whose data.fd is fd (what epoll_wait() will hand back).
    void add(int fd, std::uint32_t events) {
        (void)fd, (void)events;
        throw std::logic_error("TODO(step 2): Epoll::add() is not written yet");
    }

    // TODO(step 3): the same with EPOLL_CTL_MOD: the new events replace the old ones.
    void modify(int fd, std::uint32_t events) {
        (void)fd, (void)events;
        throw std::logic_error("TODO(step 3): Epoll::modify() is not written yet");
    }

    // TODO(step 2): epoll_pwait() into `events`, waiting as long as it takes (-1), with
    // `mask` as the signal mask while it waits (what ppoll() did in lab 08). Return how
    // many events came; 0 when interrupted by a signal (EINTR).
    int wait(std::span<epoll_event> events, const sigset_t& mask) {
        (void)events, (void)mask;
        throw std::logic_error("TODO(step 2): Epoll::wait() is not written yet");
    }

  private:
    Fd fd_;
};

class Server {
  public:
    // TODO(step 2): watch the listener for EPOLLIN, once, here (lab 08 put it at the
    // front of its array on every turn).
    explicit Server(Fd listener) : listener_(std::move(listener)) {}

    // One turn: wait, then handle every event that came.
    void turn(const sigset_t& mask) {
        int ready = epoll_.wait(events_, mask);
        for (int i = 0; i < ready; ++i) {
            int fd = events_[i].data.fd;
            if (fd == listener_.get())
                accept_all();
            else
                serve(fd, events_[i].events);
        }
    }

    std::size_t open_clients() const {
        std::size_t count = 0;
        for (const Client& client : clients_) count += client.open ? 1 : 0;
        return count;
    }

    void close_all() {
        for (std::size_t fd = 0; fd < clients_.size(); ++fd)
            if (clients_[fd].open) close_client(static_cast<int>(fd));
    }

  private:
    void accept_all() {
        for (;;) {
            int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) std::perror("accept4");
                return;
            }
            if (static_cast<std::size_t>(fd) >= clients_.size())
                clients_.resize(static_cast<std::size_t>(fd) + 1);
            Client& client = clients_[fd];
            client.open = true;
            client.reading = true;
            client.unsent.clear();
            // TODO(step 2): watch the new client for EPOLLIN (and remember it in
            // client.watching for Step 3). Lab 08 pushed it into the array next turn.
        }
    }

    void serve(int fd, std::uint32_t events) {
        Client& client = clients_[fd];
        bool keep = true;
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) keep = read_some(fd, client);
        if (keep && !client.unsent.empty() && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
            keep = write_some(fd, client);
        if (!keep || (!client.reading && client.unsent.empty())) {
            close_client(fd);
            return;
        }
        // TODO(step 3): lab 08's interest(): EPOLLIN while reading and unsent has room,
        // EPOLLOUT while unsent holds bytes. Lab 08 gave it to poll() on every turn;
        // here tell epoll (modify) only when it differs from client.watching.
    }

    bool read_some(int fd, Client& client) {
        for (int turn = 0; turn < kReadsPerTurn; ++turn) {
            if (!client.reading || client.unsent.size() >= kMaxUnsent) return true;
            ssize_t got = read(fd, buffer_.data(), buffer_.size());
            if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
            if (got == 0) {
                client.reading = false;
                return true;
            }
            std::span<char> bytes(buffer_.data(), static_cast<std::size_t>(got));
            swap_case(bytes);
            if (!send_or_keep(fd, client, bytes)) return false;
        }
        return true;
    }

    static bool send_or_keep(int fd, Client& client, std::span<const char> bytes) {
        if (client.unsent.empty()) {
            ssize_t written = write(fd, bytes.data(), bytes.size());
            if (written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return false;
            bytes = bytes.subspan(written < 0 ? 0 : static_cast<std::size_t>(written));
        }
        client.unsent.append(bytes.data(), bytes.size());
        return true;
    }

    static bool write_some(int fd, Client& client) {
        ssize_t written = write(fd, client.unsent.data(), client.unsent.size());
        if (written < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        client.unsent.erase(0, static_cast<std::size_t>(written));
        return true;
    }

    // Lab 08 erased the client from its vector. Here: close() also takes the
    // descriptor out of the epoll set; the slot stays for the next client.
    void close_client(int fd) {
        ::close(fd);
        clients_[fd].open = false;
        clients_[fd].unsent.clear();
    }

    Fd listener_;
    Epoll epoll_;
    std::vector<Client> clients_;
    std::array<epoll_event, kEventsPerWait> events_{};
    std::array<char, kReadSize> buffer_{};
};

volatile sig_atomic_t stop_requested = 0;

void on_sigterm(int) {
    stop_requested = 1;
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        check(fcntl(listener.get(), F_SETFL, O_NONBLOCK), "fcntl(O_NONBLOCK)");
        signal(SIGPIPE, SIG_IGN);

        sigset_t blocked, old_mask;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGTERM);
        check(sigprocmask(SIG_BLOCK, &blocked, &old_mask), "sigprocmask");
        struct sigaction action {};
        action.sa_handler = on_sigterm;
        sigemptyset(&action.sa_mask);
        check(sigaction(SIGTERM, &action, nullptr), "sigaction");

        // The Server, and with it the Epoll, before the first client can come.
        auto server = std::make_unique<Server>(std::move(listener));
        std::printf("[%d] listening on port %s\n", getpid(), argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);
        while (!stop_requested) server->turn(old_mask);

        std::printf("[%d] SIGTERM: closing %zu connections\n", getpid(), server->open_clients());
        std::fflush(stdout);
        server->close_all();
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
