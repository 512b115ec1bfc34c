// Lab 10 reference solution: lab 08's event loop on epoll, the kit's fastest server.
//
// One process, one thread, non-blocking sockets, as in lab 08. What changes is how the
// loop learns which sockets are ready:
//   - poll() is given the whole list of sockets on every call, and looks at each one;
//   - epoll keeps the list in the kernel (epoll_ctl adds, changes, removes a socket
//     once), and epoll_wait() returns only the sockets that are ready.
// So a turn of the loop costs what the ready sockets need, however many are idle.
// Level-triggered (the default), as poll() is: a socket with data left is reported
// again, so the loop may stop reading a client early and come back to it.
//
// Lean on purpose, since lab 10 measures it: no allocation per event or per connection
// once warm (a client's state is found by its descriptor number and reused), epoll_ctl
// only when a client's interest really changes, one read() for a short message.
//
//   build:  make
//   check:  make check-solution LAB=10
//   run:    build/solutions/10-compare/server 1205   (then: make compare)

#include <fcntl.h>       // fcntl, O_NONBLOCK
#include <netdb.h>       // getaddrinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <signal.h>      // sigaction, sigprocmask
#include <sys/epoll.h>   // epoll_create1, epoll_ctl, epoll_pwait
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

// Lab 08's client, found by its descriptor number: descriptors are small numbers,
// reused as soon as one is closed, so a vector indexed by them stays small, and a
// closed client's slot (and its string's memory) serves the next one.
struct Client {
    bool open = false;
    bool reading = true;
    std::uint32_t watching = 0;  // the events epoll has for it now (EPOLLIN, EPOLLOUT)
    std::string unsent;
};

// Step 2: the epoll instance and the few calls the loop makes on it.
class Epoll {
  public:
    Epoll() : fd_(check(epoll_create1(EPOLL_CLOEXEC), "epoll_create1")) {}

    void add(int fd, std::uint32_t events) { control(EPOLL_CTL_ADD, fd, events); }
    void modify(int fd, std::uint32_t events) { control(EPOLL_CTL_MOD, fd, events); }
    // Waits for events with `mask` as the signal mask (lab 05's ppoll(), for epoll).
    int wait(std::span<epoll_event> events, const sigset_t& mask) {
        int ready =
            epoll_pwait(fd_.get(), events.data(), static_cast<int>(events.size()), -1, &mask);
        if (ready < 0 && errno == EINTR) return 0;
        return check(ready, "epoll_pwait");
    }

  private:
    void control(int operation, int fd, std::uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;  // what epoll_wait will hand back: enough to find the client
        check(epoll_ctl(fd_.get(), operation, fd, &event), "epoll_ctl");
    }
    Fd fd_;
};

class Server {
  public:
    explicit Server(Fd listener) : listener_(std::move(listener)) {
        epoll_.add(listener_.get(), EPOLLIN);
    }

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

    // The shutdown: every client closed (the listener closes with the Server).
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
            client.unsent.clear();  // keeps its memory from the last client of this number
            client.watching = EPOLLIN;
            try {
                epoll_.add(fd, EPOLLIN);
            } catch (const std::system_error& error) {
                std::fprintf(stderr, "%s\n", error.what());
                close_client(fd);
            }
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
        // Lab 08's interest(), told to the kernel only when it changes: one
        // epoll_ctl() when a client starts or stops waiting, none per event.
        std::uint32_t wanted = 0;
        if (client.reading && client.unsent.size() < kMaxUnsent) wanted |= EPOLLIN;
        if (!client.unsent.empty()) wanted |= EPOLLOUT;
        if (wanted != client.watching) {
            epoll_.modify(fd, wanted);
            client.watching = wanted;
        }
    }

    // Reads until the socket is empty, the client's EOF, its fair share, or a full
    // buffer. A read that returns less than asked emptied the socket: with level-
    // triggered epoll there is no need for one more read() to hear EAGAIN.
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
            if (static_cast<std::size_t>(got) < buffer_.size()) return true;
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

    // close() also takes the descriptor out of the epoll set.
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

        std::printf("[%d] listening on port %s\n", getpid(), argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);

        // Big (two 64 KiB arrays): on the heap, once.
        auto server = std::make_unique<Server>(std::move(listener));
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
