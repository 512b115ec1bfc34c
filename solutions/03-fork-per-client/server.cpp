// Lab 03 reference solution: a concurrent server, one process per client.
//
// Lab 02's swapcase server, with one change: after accept() the server forks. The
// child serves that one client and exits; the parent goes straight back to
// accept(). Nobody waits for the children yet, so each one that exits stays a
// zombie: lab 04 fixes that.
//
//   build:  make
//   check:  make check-solution LAB=03
//   run:    build/solutions/03-fork-per-client/server 1205   (then: nc 127.0.0.1 1205)

#include <arpa/inet.h>   // inet_ntop
#include <netinet/in.h>  // sockaddr_in, htons, htonl, INADDR_ANY
#include <sys/socket.h>  // socket, bind, listen, accept
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
Fd listen_on(int port) {
    Fd listener(check(socket(AF_INET, SOCK_STREAM, 0), "socket"));

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
// when a signal interrupts it after it has copied part of the buffer into the
// kernel. Keep writing until all are gone.
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

// Step 4: "127.0.0.1 port 40312". The address in sockaddr_in is a 32-bit number in
// network byte order; inet_ntop turns it into text, ntohs turns the port around.
std::string describe(const sockaddr_in& peer) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    return std::string(text) + " port " + std::to_string(ntohs(peer.sin_port));
}

// Step 2: everything the child does. It must never return into main's loop: a
// child that did would call accept() next to its parent. So it ends with exit().
[[noreturn]] void serve_in_child(Fd& listener, Fd& connection, const sockaddr_in& peer) {
    // Step 3: the child only talks to its client. Were it to keep the listening
    // socket open, the port would stay busy for as long as any child lives.
    listener.close_now();
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

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        std::printf("[%d] listening on port %s\n", getpid(), argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);  // stdout may be a pipe, which buffers until exit; and a
                              // child would inherit unflushed text and print it again

        for (;;) {
            sockaddr_in peer{};
            socklen_t peer_size = sizeof peer;
            int fd = accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_size);
            if (fd < 0) {
                std::perror("accept");  // one failed client is not a reason to stop
                continue;
            }
            Fd connection(fd);

            // Step 2: fork() returns twice: 0 in the new child, the child's pid in
            // the parent. Both now hold the listening socket and this connection.
            pid_t child = fork();
            if (child < 0) {
                std::perror("fork");  // out of processes: this client gets EOF at once
                continue;
            }
            if (child == 0) serve_in_child(listener, connection, peer);

            // Step 3: the parent's copy of the connection closes here, at the end
            // of this iteration. If the parent kept it, the connection would stay
            // open after the child closed its copy, and the client would never
            // read EOF.
            //
            // Step 6: the child will exit, and nobody calls wait() for it, so it
            // stays in the process table as a zombie (<defunct> in ps).
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
