// Lab 07 reference solution: a thread per client.
//
// Lab 05's robust server, with fork() replaced by pthread_create():
//   - each client is served by a thread of the one process. Threads share the
//     descriptor table, so the connection is closed once, by the thread that served
//     it, and nobody but main ever touches the listening socket (Step 2);
//   - each thread is detached, so its stack is given back as soon as it returns, and
//     it gets a 128 KiB stack instead of the default 8 MiB (Step 3);
//   - SIGPIPE is ignored: what a signal does is decided for the whole process, and
//     SIGPIPE's default would end every client's conversation at once (Step 4);
//   - SIGTERM stops it cleanly: main stops accepting, shuts down every live
//     connection so that each thread reads EOF and finishes, and exits 0 (Step 5).
//
//   build:  make
//   check:  make check-solution LAB=07
//   run:    build/solutions/07-threads/server 1205   (then: nc ::1 1205)

#include <fcntl.h>       // fcntl, O_NONBLOCK
#include <netdb.h>       // getaddrinfo, getnameinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <poll.h>        // ppoll
#include <pthread.h>     // pthread_create, pthread_attr_*, pthread_sigmask
#include <signal.h>      // sigaction, SIGPIPE, SIGTERM
#include <sys/socket.h>  // socket, setsockopt, bind, listen, accept, shutdown
#include <unistd.h>      // read, write, close, getpid, gettid

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
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

// Step 2: the pthread functions do not use errno (a variable every thread has its
// own copy of, but which they leave alone): they return 0, or the error number.
void check_pthread(int error, const char* what) {
    if (error != 0) throw std::system_error(error, std::generic_category(), what);
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

// From lab 01: write all of a buffer, however many write() calls it takes.
// Step 4: with SIGPIPE ignored, writing to a client that has gone away fails with
// EPIPE (or ECONNRESET) instead of killing the whole process: check() throws, and
// the thread that served that client ends with an error message.
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

// From lab 02: serve one client until it closes its side. The buffer lives on the
// thread's own stack: 4 KiB of the 128 KiB it has.
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

// Step 5: the connections being served right now. main adds each one before its
// thread starts; the thread closes it through here when its client is done; on
// SIGTERM main shuts them all down. Every thread sees the same object (threads
// share memory), so every use takes the mutex: two threads changing a std::set at
// the same moment would corrupt it.
class LiveConnections {
  public:
    void add(int fd) {
        std::lock_guard lock(mutex_);
        fds_.insert(fd);
    }

    // Forgets and closes `fd` as one step under the lock. Once closed, the number is
    // free, and main's next accept() may get it for a new client at once:
    // shut_down_all() must never see the old entry and reach the new connection.
    void close(int fd) {
        std::lock_guard lock(mutex_);
        fds_.erase(fd);
        ::close(fd);
        if (fds_.empty()) none_left_.notify_all();
    }

    std::size_t count() {
        std::lock_guard lock(mutex_);
        return fds_.size();
    }

    // Ends every conversation: shutdown() makes the thread's blocked read() return 0
    // (EOF), and its write() fail with EPIPE, so each thread finishes the ordinary
    // way. Then waits, at most `patience`, until every thread has closed its client.
    bool shut_down_all(std::chrono::milliseconds patience) {
        std::unique_lock lock(mutex_);
        for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
        return none_left_.wait_for(lock, patience, [&] { return fds_.empty(); });
    }

  private:
    std::mutex mutex_;
    std::condition_variable none_left_;
    std::set<int> fds_;
};

// Everything a thread needs to serve one client. main fills it in and hands it
// over with pthread_create(); from then on the thread owns it.
struct Client {
    int fd;
    std::string name;  // "::ffff:127.0.0.1 port 40312"
    LiveConnections* live;
};

// Step 2: a thread's whole life. It shares the process with main and every other
// client's thread, so it must not close anything but its own connection, and must
// not exit(): exit() ends the process, every thread with it. Returning ends only
// this thread.
void* serve_client(void* argument) {
    std::unique_ptr<Client> client(static_cast<Client*>(argument));
    // Every thread has the process's pid and a thread id of its own, the number
    // that names it in /proc/PID/task and in `ps -L`.
    std::printf("[%d/%d] serving %s\n", getpid(), gettid(), client->name.c_str());
    std::fflush(stdout);
    try {
        swap_case_echo(client->fd);
    } catch (const std::system_error& error) {
        // Step 4: EPIPE or ECONNRESET when the client vanished: only this thread ends.
        std::fprintf(stderr, "[%d/%d] %s: %s\n", getpid(), gettid(), client->name.c_str(),
                     error.what());
    }
    client->live->close(client->fd);  // the client reads EOF
    return nullptr;
}

// Step 3: how every client thread is made. Detached: nobody will pthread_join() it,
// so the system frees its stack the moment it returns. A joinable thread that is
// never joined keeps its stack mapped forever (a leak no `ps` shows). And a small
// stack: the default is 8 MiB of address space per thread (ulimit -s); this thread
// uses a few KiB (a 4 KiB buffer and a printf).
class ThreadAttributes {
  public:
    static constexpr size_t stack_size = 128 * 1024;

    ThreadAttributes() {
        check_pthread(pthread_attr_init(&attributes_), "pthread_attr_init");
        check_pthread(pthread_attr_setdetachstate(&attributes_, PTHREAD_CREATE_DETACHED),
                      "pthread_attr_setdetachstate");
        check_pthread(pthread_attr_setstacksize(&attributes_, stack_size),
                      "pthread_attr_setstacksize");
    }
    ~ThreadAttributes() { pthread_attr_destroy(&attributes_); }
    ThreadAttributes(const ThreadAttributes&) = delete;
    ThreadAttributes& operator=(const ThreadAttributes&) = delete;
    const pthread_attr_t* get() const { return &attributes_; }

  private:
    pthread_attr_t attributes_;
};

// From lab 05: the handler only records that SIGTERM came; main's loop looks.
volatile sig_atomic_t stop_requested = 0;

void on_sigterm(int) {
    stop_requested = 1;
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        check(fcntl(listener.get(), F_SETFL, O_NONBLOCK), "fcntl(O_NONBLOCK)");

        // Step 4: the action of a signal (default, ignored, a handler) belongs to the
        // process, not to a thread. A write to a connection whose client has gone
        // raises SIGPIPE, whose default action ends the process: every thread, every
        // client. Ignored, the write fails with EPIPE in the one thread concerned.
        signal(SIGPIPE, SIG_IGN);

        // From lab 05, and Step 5: SIGTERM stays blocked except while main waits in
        // ppoll(). The mask is per thread, and a new thread starts with its creator's
        // mask: blocked here, before any thread exists, SIGTERM is blocked in every
        // client thread, so only main's ppoll() can ever take it.
        // (sigprocmask() is for single-threaded programs; pthread_sigmask() says the
        // same for the calling thread.)
        sigset_t blocked, old_mask;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGTERM);
        check_pthread(pthread_sigmask(SIG_BLOCK, &blocked, &old_mask), "pthread_sigmask");
        struct sigaction action {};
        action.sa_handler = on_sigterm;
        sigemptyset(&action.sa_mask);
        check(sigaction(SIGTERM, &action, nullptr), "sigaction(SIGTERM)");

        ThreadAttributes attributes;
        LiveConnections live;

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
            auto client = std::make_unique<Client>(
                Client{connection.get(), describe(peer, peer_size), &live});
            live.add(connection.release());  // from here on, live.close() closes it

            // Step 2: no fork(), no copy of anything: the new thread runs
            // serve_client(client) in this same process, beside main.
            pthread_t thread;
            int error = pthread_create(&thread, attributes.get(), serve_client, client.get());
            if (error != 0) {
                // Out of threads (EAGAIN) or memory: this client gets EOF at once.
                std::fprintf(stderr, "[%d] pthread_create: %s\n", getpid(), std::strerror(error));
                live.close(client->fd);
                continue;
            }
            client.release();  // the thread owns it now, and deletes it when done
        }

        // Step 5: the clean shutdown. No new clients; every thread told to finish;
        // main waits for them (a thread stuck on a client that never reads cannot
        // hold the server forever: after 5 s, returning from main ends it anyway).
        listener.close_now();
        std::printf("[%d] SIGTERM: ending %zu clients\n", getpid(), live.count());
        std::fflush(stdout);
        if (!live.shut_down_all(std::chrono::seconds(5)))
            std::fprintf(stderr, "[%d] some threads did not finish; exiting anyway\n", getpid());
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
