// Lab 09 reference solution: a pre-forked pool of workers.
//
// Lab 05's robust server, turned around: instead of a fork() per client, the parent
// forks a fixed pool of workers once, right after listen(), and never accepts a
// client itself.
//   - each worker blocks in accept() on the listening socket it inherited, serves
//     the client it gets, closes, and accepts again (Step 2). The kernel wakes one
//     waiting worker per connection, not all of them (Step 3);
//   - the parent only supervises: when a worker dies, waitpid() says which, and the
//     parent forks a replacement, so the pool keeps its size (Step 4);
//   - SIGTERM to the parent stops the pool: every worker ended and reaped, exit 0.
//
//   build:  make
//   check:  make check-solution LAB=09
//   run:    build/solutions/09-prefork/server 1205 4   (port, then workers; then: nc ::1 1205)

#include <netdb.h>       // getaddrinfo, getnameinfo
#include <netinet/in.h>  // IPPROTO_IPV6, IPV6_V6ONLY
#include <poll.h>        // ppoll, poll
#include <signal.h>      // sigaction, sigprocmask, kill
#include <sys/socket.h>  // socket, setsockopt, bind, listen, accept
#include <sys/wait.h>    // waitpid, WIFEXITED, WTERMSIG
#include <unistd.h>      // read, write, close, fork, getpid

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
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

// From lab 05: getaddrinfo wants the port as text ("1205"), as a service name would be.
std::string port_from_args(int argc, char** argv) {
    std::string port = argc < 2 ? "1205" : argv[1];
    int number = std::atoi(port.c_str());
    if (number <= 0 || number > 65535) throw std::invalid_argument("port must be 1-65535");
    return port;
}

// Step 2: how many workers: argv[2], or 4. A worker serves one client at a time,
// so this is also how many clients the server serves at once.
std::size_t workers_from_args(int argc, char** argv) {
    if (argc < 3) return 4;
    int count = std::atoi(argv[2]);
    if (count < 1 || count > 64) throw std::invalid_argument("workers must be 1-64");
    return static_cast<std::size_t>(count);
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

// From lab 05: the handlers only record that a signal came; main's loop looks.
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
    action.sa_flags = 0;  // only ever delivered inside ppoll(), which is never restarted
    check(sigaction(signal_number, &action, nullptr), "sigaction");
}

// Step 2: a worker's whole life: accept, serve, close, accept again, until the
// parent ends it with SIGTERM. It never returns into main.
[[noreturn]] void work(const Fd& listener, const sigset_t& old_mask) {
    // Step 3: the parent's flag handlers and blocked mask mean nothing here. With the
    // defaults back, SIGTERM ends the worker wherever it is, in accept() or in the
    // middle of a client (the same three lines as lab 05's child, in the same order).
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    for (;;) {
        // Step 3: every worker blocks right here, in accept() on the one listening
        // socket they all inherited. When a client arrives, the kernel wakes one of
        // them (the one that has waited longest), not the whole pool.
        sockaddr_storage peer{};
        socklen_t peer_size = sizeof peer;
        int fd = accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_size);
        if (fd < 0) {
            // ECONNABORTED: the client gave up while it waited in the queue.
            if (errno == EINTR || errno == ECONNABORTED) continue;
            // Anything else (EMFILE: out of descriptors, ENOBUFS) does not go away by
            // trying again at once: say so, and give it a moment instead of spinning.
            // (Exiting would only make the parent fork a worker that meets it again.)
            std::fprintf(stderr, "[%d] accept: %s\n", getpid(), std::strerror(errno));
            poll(nullptr, 0, 100);
            continue;
        }
        Fd connection(fd);
        std::string client = describe(peer, peer_size);
        std::printf("[%d] serving %s\n", getpid(), client.c_str());
        std::fflush(stdout);
        try {
            swap_case_echo(connection.get());
        } catch (const std::system_error& error) {
            // A client that vanished costs this conversation, not the worker.
            std::fprintf(stderr, "[%d] %s: %s\n", getpid(), client.c_str(), error.what());
        }
    }  // the connection closes here, and the worker goes back to accept()
}

// Step 4: "exited with status 1", "killed by signal 9 (Killed)".
std::string how_it_ended(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    return "ended";
}

// Step 4: collects every worker that has ended (one SIGCHLD may stand for several),
// and forgets it. waitpid() says which pid ended and how: that is all the parent
// needs to know to put a new worker in its place.
void reap_workers(std::set<pid_t>& pool) {
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        pool.erase(pid);
        std::printf("[%d] worker %d %s\n", getpid(), pid, how_it_ended(status).c_str());
        std::fflush(stdout);
    }
}

int main(int argc, char** argv) {
    try {
        Fd listener = listen_on(port_from_args(argc, argv));
        const std::size_t pool_size = workers_from_args(argc, argv);
        // Step 3: no O_NONBLOCK here, unlike lab 05. The workers want accept() to
        // block; and a file status flag belongs to the open socket that parent and
        // workers share, not to one process's descriptor.

        // From lab 05: a write to a vanished client fails with EPIPE instead of
        // killing the worker. (A worker that died would be replaced, but its other
        // work would be lost, and a pool that dies faster than it is refilled serves
        // nobody.)
        signal(SIGPIPE, SIG_IGN);

        // From lab 05: SIGTERM and SIGCHLD stay blocked except while the parent waits
        // in ppoll(), so that neither can slip in between a check and the wait.
        sigset_t blocked, old_mask;
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGTERM);
        sigaddset(&blocked, SIGCHLD);
        check(sigprocmask(SIG_BLOCK, &blocked, &old_mask), "sigprocmask");
        set_handler(SIGTERM, on_sigterm);
        set_handler(SIGCHLD, on_sigchld);

        std::printf("[%d] listening on port %s, %zu workers\n", getpid(),
                    argc > 1 ? argv[1] : "1205", pool_size);
        std::fflush(stdout);  // or every worker would print this buffered line again

        std::set<pid_t> pool;
        while (!stop_requested) {
            // Step 2 and Step 4: fill the pool, at the start and whenever a worker has
            // ended. Each worker is forked after listen(), so it inherits the
            // listening socket: the parent never accepts anything itself.
            while (pool.size() < pool_size) {
                pid_t worker = fork();
                if (worker < 0) {
                    std::perror("fork");  // out of processes: try again in a second
                    break;
                }
                if (worker == 0) work(listener, old_mask);
                pool.insert(worker);
                std::printf("[%d] started worker %d\n", getpid(), worker);
                std::fflush(stdout);
            }

            // Step 4: wait for a signal, with nothing else to watch: ppoll() with no
            // descriptors is sigsuspend() with a timeout. The timeout is only there
            // while the pool is short (a fork() failed), to try again.
            timespec retry{1, 0};
            int ready = ppoll(nullptr, 0, pool.size() < pool_size ? &retry : nullptr, &old_mask);
            if (ready < 0 && errno != EINTR) check(ready, "ppoll");
            if (child_exited) {
                child_exited = 0;  // cleared before reaping, so no exit goes unseen
                reap_workers(pool);
            }
        }

        // Step 4: the clean shutdown, as in lab 05: end every worker, reap each one.
        listener.close_now();
        std::printf("[%d] SIGTERM: ending %zu workers\n", getpid(), pool.size());
        std::fflush(stdout);
        for (pid_t worker : pool) kill(worker, SIGTERM);
        for (pid_t worker : pool) waitpid(worker, nullptr, 0);
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 1;
    }
}
