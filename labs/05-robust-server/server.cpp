// Lab 05 starter: lab 04's reference solution, the forking server that reaps its children.
//
// It serves many clients at once and leaves no zombie, but it is not yet fit to leave
// running. Your job, step by step in README.md: let it restart at once on its port
// (Step 2), survive clients that vanish (Step 3), stop cleanly on SIGTERM (Step 4) and
// serve IPv6 clients too (Step 5). Each TODO(step N) marks where a step's change goes.
//
//   build:  make
//   check:  make check LAB=05
//   run:    build/labs/05-robust-server/server 1205   (then: nc 127.0.0.1 1205)

#include <arpa/inet.h>   // inet_ntop
#include <netinet/in.h>  // sockaddr_in, htons, htonl, INADDR_ANY
#include <signal.h>      // sigaction
#include <sys/socket.h>  // socket, bind, listen, accept
#include <sys/wait.h>    // waitpid
#include <unistd.h>      // read, write, close, fork, getpid

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
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

// The port to listen on: argv[1], or 1205 (the article's port) when absent.
int port_from_args(int argc, char** argv) {
    if (argc < 2) return 1205;
    int port = std::atoi(argv[1]);
    if (port <= 0 || port > 65535) throw std::invalid_argument("port must be 1-65535");
    return port;
}

// From lab 01: a TCP socket bound to `port` on every local address, listening.
// TODO(step 5): get the address from getaddrinfo(AI_PASSIVE); listen on IPv6 with IPV6_V6ONLY off.
Fd listen_on(int port) {
    Fd listener(check(socket(AF_INET, SOCK_STREAM, 0), "socket"));
    // TODO(step 2): set SO_REUSEADDR here, before bind(), so a restarted server can bind at once.

    sockaddr_in address{};  // {} zeroes every field, padding included
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);  // every interface: 127.0.0.1, eth0, ...
    address.sin_port = htons(static_cast<std::uint16_t>(port));  // network byte order
    check(bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), "bind");

    // The backlog is how many finished handshakes the kernel keeps waiting for
    // accept(). SOMAXCONN asks for the system's maximum.
    check(listen(listener.get(), SOMAXCONN), "listen");
    return listener;
}

// From lab 01: write() may send fewer bytes than asked (a "short write"), for example
// when the socket's send buffer is full. Keep writing until all are gone.
void write_all(int fd, std::span<const char> bytes) {
    while (!bytes.empty()) {
        ssize_t written = write(fd, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR) continue;  // interrupted before sending: retry
        check(written, "write");
        bytes = bytes.subspan(static_cast<size_t>(written));
    }
}

// From lab 02: in ASCII, 'A' is 0x41 and 'a' is 0x61: upper and lower case differ in
// one bit, 0x20. Flipping that bit swaps the case. Only letters may change: for
// '@' (0x40) or a digit, flipping 0x20 would turn it into another character.
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

// From lab 03: "127.0.0.1 port 40312". The address in sockaddr_in is a 32-bit number in
// network byte order; inet_ntop turns it into text, ntohs turns the port around.
// TODO(step 5): take a sockaddr_storage and its size (main's peer too); use getnameinfo().
std::string describe(const sockaddr_in& peer) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    return std::string(text) + " port " + std::to_string(ntohs(peer.sin_port));
}

// From lab 03: everything the child does. It must never return into main's loop: a
// child that did would call accept() next to its parent. So it ends with exit().
[[noreturn]] void serve_in_child(Fd& listener, Fd& connection, const sockaddr_in& peer) {
    // The child only talks to its client. Were it to keep the listening
    // socket open, the port would stay busy for as long as any child lives.
    listener.close_now();
    // TODO(step 4): restore the default SIGTERM and SIGCHLD handlers, then the old signal mask.
    std::printf("[%d] serving %s\n", getpid(), describe(peer).c_str());
    std::fflush(stdout);
    int status = 0;
    try {
        swap_case_echo(connection.get());
    } catch (const std::system_error& error) {
        std::fprintf(stderr, "[%d] %s\n", getpid(), error.what());
        status = 1;
    }
    connection.close_now();  // the client reads EOF
    std::exit(status);       // the kernel would close it too; closing first says we meant it
}

// TODO(step 4): make the handler only set a flag; main's loop will run this waitpid loop.
// Step 3: runs when a child has ended. The kernel raises SIGCHLD once per batch,
// not once per child (Step 5): two children that exit close together, or while
// this handler runs, give one signal. So collect every ended child, until
// waitpid() says there is none left; WNOHANG makes it return 0 instead of
// blocking while other children still run.
void reap_children(int) {
    int saved_errno = errno;  // waitpid may change errno under main's feet
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    errno = saved_errno;
}

void install_reaper() {
    struct sigaction action {};
    action.sa_handler = reap_children;
    sigemptyset(&action.sa_mask);
    // Step 4: a signal that arrives while the parent is blocked in accept()
    // interrupts it: accept() returns -1 with errno EINTR. SA_RESTART asks the
    // kernel to restart the call instead. (main's loop still copes with EINTR,
    // because not every call is restarted on every system.)
    action.sa_flags = SA_RESTART;
    check(sigaction(SIGCHLD, &action, nullptr), "sigaction(SIGCHLD)");
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        // TODO(step 3): ignore SIGPIPE, so that writing to a vanished client fails with EPIPE.
        install_reaper();
        // TODO(step 4): make the listener non-blocking; block SIGTERM, SIGCHLD; install handlers.
        std::printf("[%d] listening on port %s\n", getpid(), argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);  // stdout may be a pipe, which buffers until exit; and a
                              // child would inherit unflushed text and print it again

        // TODO(step 4): loop until SIGTERM came; wait in ppoll() first, and reap if a child ended.
        for (;;) {
            sockaddr_in peer{};
            socklen_t peer_size = sizeof peer;
            int fd = accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_size);
            if (fd < 0) {
                // Step 4: EINTR is not an error, only an interruption: try again.
                if (errno != EINTR) std::perror("accept");
                continue;
            }
            Fd connection(fd);

            pid_t child = fork();
            if (child < 0) {
                std::perror("fork");  // out of processes: this client gets EOF at once
                continue;
            }
            if (child == 0) serve_in_child(listener, connection, peer);
            // TODO(step 4): remember the child's pid until it is reaped.
            // The parent's copy of the connection closes here (lab 03, Step 3).
        }
        // TODO(step 4): after the loop: close the listener, SIGTERM and reap each child, return 0.
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
