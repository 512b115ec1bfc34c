// Lab 06 reference solution: a state playground.
//
// Lab 05's robust server, plus four commands that make TCP states happen on purpose.
// The first line a client sends may be one of them:
//   close      the server closes first: its side of the connection ends in TIME-WAIT;
//   leak       at the client's EOF the server does not close: its side stays in CLOSE-WAIT;
//   reset      the server aborts the connection: an RST, and no TIME-WAIT anywhere;
//   stall MS   the parent stops calling accept() for MS milliseconds: the accept queue
//              fills up, and later clients wait in SYN-SENT.
// Anything else is served as in lab 05: the swapcase echo, byte for byte.
//
//   build:  make
//   check:  make check-solution LAB=06
//   run:    build/solutions/06-tcp-states/server 1205 [BACKLOG]   (then: nc 127.0.0.1 1205)

#include <fcntl.h>       // fcntl, O_NONBLOCK
#include <netdb.h>       // getaddrinfo, getnameinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <poll.h>        // ppoll
#include <signal.h>      // sigaction, sigprocmask
#include <sys/socket.h>  // socket, setsockopt, bind, listen, accept, SO_LINGER
#include <sys/wait.h>    // waitpid
#include <unistd.h>      // read, write, close, fork, getpid, pipe, sleep

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
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

// Lab 05: getaddrinfo wants the port as text ("1205"), as a service name would be.
std::string port_from_args(int argc, char** argv) {
    std::string port = argc < 2 ? "1205" : argv[1];
    int number = std::atoi(port.c_str());
    if (number <= 0 || number > 65535) throw std::invalid_argument("port must be 1-65535");
    return port;
}

// Step 6: the listen backlog: argv[2], or 5, the article's. A small queue is one you
// can fill by hand and watch; the kernel caps any value at net.core.somaxconn.
int backlog_from_args(int argc, char** argv) {
    if (argc < 3) return 5;
    int backlog = std::atoi(argv[2]);
    if (backlog < 0) throw std::invalid_argument("backlog must be 0 or more");
    return backlog;
}

// Lab 05: a socket listening on `port` on every local address, IPv6 and IPv4.
// Step 6: with `backlog` as listen()'s second argument.
Fd listen_on(const std::string& port, int backlog) {
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
                // Lab 05, Step 2: this lab piles up TIME-WAIT on the server's own
                // port on purpose (Step 3); SO_REUSEADDR lets a restart bind anyway.
                int on = 1;
                check(setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt(SO_REUSEADDR)");
                if (family == AF_INET6) {
                    int off = 0;
                    check(setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off),
                          "setsockopt(IPV6_V6ONLY)");
                }
                check(bind(listener.get(), a->ai_addr, a->ai_addrlen), "bind");
                // Step 6: at most backlog + 1 finished handshakes wait here for
                // accept(); while the queue is full, the kernel drops new SYNs.
                check(listen(listener.get(), backlog), "listen");
                return listener;
            } catch (const std::system_error& error) {
                failures += std::string(failures.empty() ? "" : "; ") + error.what();
            }
        }
    }
    throw std::runtime_error("cannot listen on port " + port + ": " + failures);
}

// From lab 01: write all of a buffer, however many write() calls it takes.
void write_all(int fd, std::span<const char> bytes) {
    while (!bytes.empty()) {
        ssize_t written = write(fd, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR) continue;  // interrupted before sending: retry
        check(written, "write");
        bytes = bytes.subspan(static_cast<size_t>(written));
    }
}

void say(int fd, std::string_view text) {
    write_all(fd, text);
}

// From lab 01: read() that tries again when a signal interrupts it.
size_t read_some(int fd, std::span<char> buffer) {
    for (;;) {
        ssize_t got = read(fd, buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR) continue;
        return static_cast<size_t>(check(got, "read"));
    }
}

// From lab 02: flip the case of ASCII letters, leave every other byte alone.
char swap_case(char c) {
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    return letter ? static_cast<char>(c ^ 0x20) : c;
}

void swap_and_write(int fd, std::span<char> data) {
    for (char& c : data) c = swap_case(c);
    write_all(fd, data);
}

// From lab 02: serve one client until it closes its side.
void swap_case_echo(int connection) {
    char buffer[4096];
    for (;;) {
        size_t got = read_some(connection, buffer);
        if (got == 0) return;  // EOF: the client will send nothing more
        swap_and_write(connection, std::span<char>(buffer, got));
    }
}

// Step 2: the commands. A command counts only when it is all that the first read()
// returned: one line, such as "close\n" ("\r\n" too, as telnet sends). A line you type
// into nc, or that a program sends with one write(), arrives in one piece on loopback.
// That is a playground's shortcut: a real protocol would collect bytes up to the
// newline whatever each read() returns, as lab 02 showed.
enum class Command { none, close_first, leak, reset, stall };

struct Request {
    Command command = Command::none;
    int stall_ms = 0;
};

Request parse_request(std::string_view first) {
    if (!first.ends_with('\n')) return {};
    first.remove_suffix(1);
    if (first.ends_with('\r')) first.remove_suffix(1);
    if (first == "close") return {Command::close_first};
    if (first == "leak") return {Command::leak};
    if (first == "reset") return {Command::reset};
    if (first.starts_with("stall ")) {
        std::string_view digits = first.substr(6);
        int ms = 0;
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
        if (error == std::errc{} && end == digits.data() + digits.size() && ms > 0 && ms <= 60000)
            return {Command::stall, ms};
    }
    return {};
}

// Step 3: the server closes first: an active close. Its FIN goes out now, and the
// client's read() returns 0. Once the client closes too, the server's side of the
// connection has sent the last ACK, so it is the side that waits in TIME-WAIT.
void close_first(Fd& connection) {
    say(connection.get(), "close: the server closes first; its side will wait in TIME-WAIT\n");
    connection.close_now();
}

// Step 4: a leak on purpose. Serve as usual until the client's EOF, then keep the
// descriptor open instead of closing it. The client's FIN has been acknowledged, so
// the server's side sits in CLOSE-WAIT and the client's in FIN-WAIT-2, for as long as
// this process holds the descriptor: 30 s, or until SIGTERM ends the process.
constexpr unsigned kLeakSeconds = 30;

void leak(Fd& connection) {
    say(connection.get(), "leak: after your EOF the server will not close, for 30 s\n");
    swap_case_echo(connection.get());
    std::printf("[%d] EOF: keeping the connection open for %u s (CLOSE-WAIT)\n", getpid(),
                kLeakSeconds);
    std::fflush(stdout);
    sleep(kLeakSeconds);
}  // only now does the caller close it

// Step 5: an abortive close. SO_LINGER switched on with a timeout of 0 makes close()
// throw away anything not yet sent and send RST instead of FIN. The connection ends
// on both sides at once: no FIN-WAIT, no TIME-WAIT, and the client's next read()
// fails with ECONNRESET.
void reset(Fd& connection) {
    say(connection.get(), "reset: the server aborts the connection\n");
    linger abort_now{};
    abort_now.l_onoff = 1;   // linger on close() ...
    abort_now.l_linger = 0;  // ... for 0 seconds: abort
    check(setsockopt(connection.get(), SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now),
          "setsockopt(SO_LINGER)");
    connection.close_now();
}

// Step 6: only the parent calls accept(), so the child passes the request on through
// the pipe the parent reads. Four bytes are far below PIPE_BUF: the write is atomic.
void stall(Fd& connection, int stall_requests, int ms) {
    check(write(stall_requests, &ms, sizeof ms), "write(stall pipe)");
    say(connection.get(),
        "stall: the server stops calling accept() for " + std::to_string(ms) + " ms\n");
    swap_case_echo(connection.get());
}

// Step 2: the first read() decides what this connection is for.
void serve(Fd& connection, int stall_requests) {
    char buffer[4096];
    size_t got = read_some(connection.get(), buffer);
    if (got == 0) return;  // EOF before a single byte
    Request request = parse_request(std::string_view(buffer, got));
    switch (request.command) {
        case Command::close_first:
            return close_first(connection);
        case Command::leak:
            return leak(connection);
        case Command::reset:
            return reset(connection);
        case Command::stall:
            return stall(connection, stall_requests, request.stall_ms);
        case Command::none:
            swap_and_write(connection.get(), std::span<char>(buffer, got));
            return swap_case_echo(connection.get());
    }
}

// Lab 05: the client's address in any family, as text.
std::string describe(const sockaddr_storage& peer, socklen_t size) {
    char host[NI_MAXHOST];
    char service[NI_MAXSERV];
    int error = getnameinfo(reinterpret_cast<const sockaddr*>(&peer), size, host, sizeof host,
                            service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV);
    if (error != 0) return std::string("? (") + gai_strerror(error) + ")";
    return std::string(host) + " port " + service;
}

// Lab 05, Step 4: the handlers only record that a signal came; main's loop does the rest.
volatile sig_atomic_t stop_requested = 0;
volatile sig_atomic_t child_exited = 0;

void on_sigterm(int) {
    stop_requested = 1;
}
void on_sigchld(int) {
    child_exited = 1;
}

void set_handler(int signal_number, void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    check(sigaction(signal_number, &action, nullptr), "sigaction");
}

// Lab 05: every ended child is collected and forgotten, in one place.
void reap_children(std::set<pid_t>& children) {
    pid_t pid;
    while ((pid = waitpid(-1, nullptr, WNOHANG)) > 0) children.erase(pid);
}

// What a child gets from its parent: the sockets it must close and the pipe it may write.
struct Inherited {
    Fd& listener;
    Fd& stall_reader;  // the parent's end: the child closes it
    int stall_writer;  // the child's way to ask for a stall (Step 6)
    const sigset_t& old_mask;
};

// From lab 03: the child's whole life. It never returns into main's loop.
[[noreturn]] void serve_in_child(Inherited inherited, Fd& connection, const std::string& client) {
    inherited.listener.close_now();
    inherited.stall_reader.close_now();
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &inherited.old_mask, nullptr);
    std::printf("[%d] serving %s\n", getpid(), client.c_str());
    std::fflush(stdout);
    int status = 0;
    try {
        serve(connection, inherited.stall_writer);
    } catch (const std::system_error& error) {
        std::fprintf(stderr, "[%d] %s: %s\n", getpid(), client.c_str(), error.what());
        status = 1;
    }
    connection.close_now();
    std::exit(status);
}

// Step 6: the time left until `until`, as ppoll() takes it.
timespec time_left(std::chrono::steady_clock::time_point until) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::nanoseconds(0);
    timespec wait{};
    wait.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
    wait.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
    return wait;
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv), backlog_from_args(argc, argv));
        check(fcntl(listener.get(), F_SETFL, O_NONBLOCK), "fcntl(O_NONBLOCK)");
        signal(SIGPIPE, SIG_IGN);

        // Step 6: children ask for a stall through this pipe. The parent reads one end;
        // every child inherits the other.
        int ends[2];
        check(pipe(ends), "pipe");
        Fd stall_reader(ends[0]);
        Fd stall_writer(ends[1]);

        sigset_t blocked, old_mask;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGTERM);
        sigaddset(&blocked, SIGCHLD);
        check(sigprocmask(SIG_BLOCK, &blocked, &old_mask), "sigprocmask");
        set_handler(SIGTERM, on_sigterm);
        set_handler(SIGCHLD, on_sigchld);

        std::printf("[%d] listening on port %s\n", getpid(), argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);

        std::set<pid_t> children;
        using Clock = std::chrono::steady_clock;
        Clock::time_point accept_again_at{};  // in the past: not stalled
        bool stalled = false;
        while (!stop_requested) {
            bool was_stalled = stalled;
            stalled = Clock::now() < accept_again_at;
            if (was_stalled && !stalled) {
                std::printf("[%d] accepting again\n", getpid());
                std::fflush(stdout);
            }
            // Step 6: ppoll() skips an entry whose descriptor is negative. While
            // stalled, nobody watches the listener, so nobody accepts: the kernel
            // goes on completing handshakes and queueing them until the queue is full.
            pollfd waiting[2] = {{stalled ? -1 : listener.get(), POLLIN, 0},
                                 {stall_reader.get(), POLLIN, 0}};
            timespec left = time_left(accept_again_at);
            int ready = ppoll(waiting, 2, stalled ? &left : nullptr, &old_mask);
            if (ready < 0 && errno != EINTR) check(ready, "ppoll");
            // Lab 05, Step 4: reap also whenever ppoll() returned without waiting (it
            // runs a handler only when it had to wait): under load, SIGCHLD would stay
            // pending and the zombies pile up.
            if (child_exited || ready > 0) {
                child_exited = 0;  // cleared before reaping, so no exit goes unseen
                reap_children(children);
            }
            if (ready <= 0 || stop_requested) continue;

            if (waiting[1].revents & POLLIN) {
                int ms = 0;
                if (read(stall_reader.get(), &ms, sizeof ms) == sizeof ms && ms > 0) {
                    accept_again_at = Clock::now() + std::chrono::milliseconds(ms);
                    std::printf("[%d] not accepting for %d ms\n", getpid(), ms);
                    std::fflush(stdout);
                }
                continue;  // look again: the listener may have to leave the poll set
            }
            if (!(waiting[0].revents & POLLIN)) continue;

            sockaddr_storage peer{};
            socklen_t peer_size = sizeof peer;
            int fd = accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_size);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    std::perror("accept");
                continue;
            }
            Fd connection(fd);
            std::string client = describe(peer, peer_size);

            pid_t child = fork();
            if (child < 0) {
                std::perror("fork");
                continue;
            }
            if (child == 0)
                serve_in_child({listener, stall_reader, stall_writer.get(), old_mask}, connection,
                               client);
            children.insert(child);
        }

        listener.close_now();
        std::printf("[%d] SIGTERM: ending %zu children\n", getpid(), children.size());
        std::fflush(stdout);
        for (pid_t child : children) kill(child, SIGTERM);
        for (pid_t child : children) waitpid(child, nullptr, 0);
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
