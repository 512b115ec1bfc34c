// Lab 01 starter: the skeleton of an iterative echo server.
//
// It builds and runs, but it cannot serve anyone yet: listen_on() stops the server
// with a TODO message. Your job, step by step in README.md: create the listening
// socket (Step 1), accept clients one after another (Step 2), echo each client's
// bytes until it closes its side (Step 3) and write every byte you were asked to
// (Step 4). Each TODO(step N) marks where a step's code goes.
//
//   build:  make
//   check:  make check LAB=01
//   run:    build/labs/01-iterative-echo/server 1205   (then: nc 127.0.0.1 1205)

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

// Step 1: a TCP socket bound to `port` on every local address, listening.
Fd listen_on([[maybe_unused]] int port) {
    // TODO(step 1): socket(), bind() to `port` on INADDR_ANY, listen(); return the socket.
    throw std::logic_error("TODO(step 1): listen_on() is not written yet");
}

// Step 4: write() may send fewer bytes than asked (a "short write"), for example
// when a signal interrupts it after it has copied part of the buffer into the
// kernel. Keep writing until all are gone.
void write_all(int fd, std::span<const char> bytes) {
    // TODO(step 4): loop until every byte is written; this one write() may send only some.
    check(write(fd, bytes.data(), bytes.size()), "write");
}

// Step 3: echo until the client closes its side. read() returns as soon as some
// bytes have arrived (maybe just one), 0 at end of file, -1 on an error.
void echo([[maybe_unused]] int connection) {
    // TODO(step 3): read() into a buffer and write_all() what came, until read() returns 0.
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        std::printf("listening on port %s\n", argc > 1 ? argv[1] : "1205");
        std::fflush(stdout);  // stdout may be a pipe, which buffers until exit

        // Step 2 and Step 5: one client at a time. While echo() runs, other
        // clients wait in the listen backlog; their connect() has already succeeded.
        // TODO(step 2): replace pause() with a loop: accept() a client, echo() it, close it.
        for (;;) pause();  // until then: listen, and accept nobody
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
