// Lab 06 starter: lab 05's reference solution, the robust forking server.
//
// It serves every client the same way, and its connections end the polite way: the
// client closes first, the server follows. In this lab it becomes a playground that
// makes TCP states happen on purpose. The first line a client sends may be a command
// (Step 2): close (Step 3), leak (Step 4), reset (Step 5), stall MS (Step 6). Each
// TODO(step N) marks where a step's change goes; "Lab 05, Step N" comments are lab 05's.
//
//   build:  make
//   check:  make check LAB=06
//   run:    build/labs/06-tcp-states/server 1205   (then: nc 127.0.0.1 1205)

#include <fcntl.h>       // fcntl, O_NONBLOCK
#include <netdb.h>       // getaddrinfo, getnameinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <poll.h>        // ppoll
#include <signal.h>      // sigaction, sigprocmask
#include <sys/socket.h>  // socket, setsockopt, bind, listen, accept
#include <sys/wait.h>    // waitpid
#include <unistd.h>      // read, write, close, fork, getpid

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
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

// Lab 05, Step 5: getaddrinfo wants the port as text ("1205"), as a service name would be.
std::string port_from_args(int argc, char** argv) {
    std::string port = argc < 2 ? "1205" : argv[1];
    int number = std::atoi(port.c_str());
    if (number <= 0 || number > 65535) throw std::invalid_argument("port must be 1-65535");
    return port;
}

// TODO(step 6): backlog_from_args(): argv[2] as listen()'s backlog, 5 when absent.

// Lab 05, Step 5: a socket listening on `port` on every local address, IPv6 and IPv4.
// getaddrinfo(NULL, port, AI_PASSIVE) lists the "any address" of each family
// this machine supports: "::" for IPv6, "0.0.0.0" for IPv4. An IPv6 socket with
// IPV6_V6ONLY off accepts IPv4 clients too (they appear as ::ffff:127.0.0.1),
// so the IPv6 entry is tried first; IPv4 alone is the fallback on a machine
// without IPv6.
// TODO(step 6): take the backlog as a second parameter.
Fd listen_on(const std::string& port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;  // any family: the code below names none
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
                // Lab 05, Step 2: the side that closes first keeps its end of the connection
                // in TIME-WAIT for a minute. If the server closed first, those
                // entries hold the port, and a restarted server's bind() fails
                // with "Address already in use". SO_REUSEADDR allows the bind.
                int on = 1;
                check(setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt(SO_REUSEADDR)");
                if (family == AF_INET6) {
                    int off = 0;  // the default differs between systems: say it
                    check(setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off),
                          "setsockopt(IPV6_V6ONLY)");
                }
                check(bind(listener.get(), a->ai_addr, a->ai_addrlen), "bind");
                // TODO(step 6): listen with the backlog from the command line, not SOMAXCONN.
                check(listen(listener.get(), SOMAXCONN), "listen");
                return listener;
            } catch (const std::system_error& error) {
                failures += std::string(failures.empty() ? "" : "; ") + error.what();
            }
        }
    }
    throw std::runtime_error("cannot listen on port " + port + ": " + failures);
}

// From lab 01: write all of a buffer, however many write() calls it takes.
// Lab 05, Step 3: with SIGPIPE ignored, writing to a client that has gone away fails with
// EPIPE (or ECONNRESET) instead of killing the process: check() throws, and
// the child that served that client ends with an error message.
void write_all(int fd, std::span<const char> bytes) {
    while (!bytes.empty()) {
        ssize_t written = write(fd, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR) continue;  // interrupted before sending: retry
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

// Lab 05, Step 5: the client's address in any family, as text: getnameinfo does for
// every family what inet_ntop and ntohs did for IPv4 in lab 03.
std::string describe(const sockaddr_storage& peer, socklen_t size) {
    char host[NI_MAXHOST];
    char service[NI_MAXSERV];
    int error = getnameinfo(reinterpret_cast<const sockaddr*>(&peer), size, host, sizeof host,
                            service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV);
    if (error != 0) return std::string("? (") + gai_strerror(error) + ")";
    return std::string(host) + " port " + service;
}

// Lab 05, Step 4: the handlers only record that a signal came. Everything else happens
// in main's loop, which looks at these flags after every wait: there any code
// may run, not just the few calls that are safe inside a handler.
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
    // No SA_RESTART: these signals are only unblocked inside ppoll(), which
    // fails with EINTR whatever the flag says, and the children reset both.
    action.sa_flags = 0;
    check(sigaction(signal_number, &action, nullptr), "sigaction");
}

// Lab 04's waitpid loop, now run by main: every ended child is collected and
// forgotten. A pid stays in `children` until it is reaped, so every pid there is
// still ours (the kernel cannot give a pid away before its parent reaped it),
// and the SIGTERM that shutdown sends to it cannot hit a stranger.
void reap_children(std::set<pid_t>& children) {
    pid_t pid;
    while ((pid = waitpid(-1, nullptr, WNOHANG)) > 0) children.erase(pid);
}

// TODO(step 2): parse_request(): is all that the first read() returned one command line?
//               serve(): read a first chunk; run its command, or echo it and go on echoing.
// TODO(step 3): close_first(): answer with a line, then close before the client does.
// TODO(step 4): leak(): answer, echo until EOF, then keep the connection open for 30 s.
// TODO(step 5): reset(): answer, then close() with SO_LINGER on and a timeout of 0.
// TODO(step 6): stall(): pass the milliseconds to the parent through a pipe, answer, echo.

// From lab 03: the child's whole life. It never returns into main's loop.
[[noreturn]] void serve_in_child(Fd& listener, Fd& connection, const std::string& client,
                                 const sigset_t& old_mask) {
    listener.close_now();
    // TODO(step 6): close the pipe's read end too: only the parent reads it.
    // The child inherited the parent's blocked signals and handlers (lab 05, Step 4).
    // It wants the defaults: SIGTERM ends it, and nothing stays blocked.
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    std::printf("[%d] serving %s\n", getpid(), client.c_str());
    std::fflush(stdout);
    int status = 0;
    try {
        swap_case_echo(connection.get());  // TODO(step 2): serve() instead
    } catch (const std::system_error& error) {
        // Lab 05, Step 3: EPIPE or ECONNRESET when the client vanished: only this child ends.
        std::fprintf(stderr, "[%d] %s: %s\n", getpid(), client.c_str(), error.what());
        status = 1;
    }
    connection.close_now();
    std::exit(status);
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        // Lab 05, Step 4: poll() says when a client is waiting; accept() then takes it.
        // Non-blocking, so that a client that gave up in between (and left the
        // queue) makes accept() fail with EAGAIN instead of blocking the loop.
        check(fcntl(listener.get(), F_SETFL, O_NONBLOCK), "fcntl(O_NONBLOCK)");

        // Lab 05, Step 3: a write to a connection the peer has closed (after the first
        // write that met its reset, which fails with ECONNRESET) raises SIGPIPE, and
        // SIGPIPE's default action ends the process. Ignored, it becomes EPIPE.
        signal(SIGPIPE, SIG_IGN);
        // TODO(step 6): a pipe: children write stall requests, the parent reads them.

        // Lab 05, Step 4: SIGTERM and SIGCHLD stay blocked except while main waits in
        // ppoll(), which unblocks them for exactly that wait. A flag set just
        // before the wait therefore cannot be missed: the signal stays pending
        // and interrupts ppoll() at once. (Checking a flag and then calling a
        // blocking accept() would leave a window where SIGTERM is lost.)
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
        // TODO(step 6): poll the pipe too; while a stall lasts, leave the listener out of
        //               ppoll() and give ppoll() the time left as its timeout.
        while (!stop_requested) {
            pollfd waiting{listener.get(), POLLIN, 0};
            int ready = ppoll(&waiting, 1, nullptr, &old_mask);
            if (ready < 0 && errno != EINTR) check(ready, "ppoll");
            // Lab 05, Step 4: reap also whenever ppoll() returned without waiting (it
            // runs a handler only when it had to wait): under load, SIGCHLD would stay
            // pending and the zombies pile up.
            if (child_exited || ready > 0) {
                child_exited = 0;  // cleared before reaping, so no exit goes unseen
                reap_children(children);
            }
            if (ready <= 0 || stop_requested) continue;

            sockaddr_storage peer{};  // big enough for an IPv6 address, or any other
            socklen_t peer_size = sizeof peer;
            int fd = accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_size);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    std::perror("accept");
                continue;
            }
            // On Linux the accepted socket does not inherit O_NONBLOCK: the
            // child reads and writes in the ordinary blocking way.
            Fd connection(fd);
            std::string client = describe(peer, peer_size);

            pid_t child = fork();
            if (child < 0) {
                std::perror("fork");
                continue;
            }
            if (child == 0) serve_in_child(listener, connection, client, old_mask);
            children.insert(child);
        }

        // Lab 05, Step 4: the clean shutdown. Closing the listening socket first means
        // new clients are refused at once instead of waiting in the backlog.
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
