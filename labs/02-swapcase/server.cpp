// Lab 02 starter: lab 01's iterative echo server; your job: the article's swapcase
// protocol.
//
// This file is the lab 01 reference solution with one addition: echo() passes every
// byte it read through swap_case() before writing it back. swap_case() returns its
// byte unchanged for now, so the server still echoes; Step 2 of README.md makes it
// flip the case of ASCII letters. Steps 3 to 6 are about testing, measuring and
// reading code: the TODO(step 2) below is the only place you edit.
//
//   build:  make
//   check:  make check LAB=02
//   run:    build/labs/02-swapcase/server 1205   (then: nc 127.0.0.1 1205)

#include <netinet/in.h>  // sockaddr_in, htons, htonl, INADDR_ANY
#include <sys/socket.h>  // socket, bind, listen, accept
#include <unistd.h>      // read, write, close

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
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
        if (fd_ >= 0) close(fd_);
    }
    int get() const { return fd_; }

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

// TODO(step 2): return c with its case flipped when it is an ASCII letter, else unchanged.
char swap_case(char c) {
    return c;
}

// From lab 01: echo until the client closes its side. read() returns as soon as some
// bytes have arrived (maybe just one), 0 at end of file, -1 on an error.
void echo(int connection) {
    char buffer[4096];
    for (;;) {
        ssize_t got = read(connection, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got == 0) return;  // EOF: the client will send nothing more
        check(got, "read");
        // `got` bytes of data, whatever their values: each one through swap_case().
        std::span<char> data(buffer, static_cast<size_t>(got));
        for (char& c : data) c = swap_case(c);
        write_all(connection, data);
    }
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        std::printf("listening on port %s\n", argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);  // stdout may be a pipe, which buffers until exit

        // From lab 01: one client at a time. While echo() runs, other
        // clients wait in the listen backlog; their connect() has already succeeded.
        for (;;) {
            int fd = accept(listener.get(), nullptr, nullptr);
            if (fd < 0) {
                std::perror("accept");  // one failed client is not a reason to stop
                continue;
            }
            Fd connection(fd);
            try {
                echo(connection.get());
            } catch (const std::system_error& error) {
                // A client that resets the connection ends its own service, not ours.
                std::fprintf(stderr, "client: %s\n", error.what());
            }
            // `connection` closes here, at the end of its scope: the client reads EOF.
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
