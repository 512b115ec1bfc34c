#pragma once
// Typed view of /proc/net/tcp and /proc/net/tcp6 and of which process holds which
// socket: the same sources `ss -tanp` reads.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace labcheck::procfs {

// Kernel numbering (include/net/tcp_states.h).
enum class TcpState {
    established = 1,
    syn_sent,
    syn_recv,
    fin_wait1,
    fin_wait2,
    time_wait,
    close,
    close_wait,
    last_ack,
    listen,
    closing,
    new_syn_recv,
};

// The names `ss` prints, as the lab texts and diagrams spell them: ESTAB, TIME-WAIT,
// CLOSE-WAIT, LISTEN, ... (netstat's are ESTABLISHED, TIME_WAIT, CLOSE_WAIT).
std::string_view to_string(TcpState state);

struct Endpoint {
    std::string address;  // printable: "127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::"
    std::uint16_t port = 0;
};

// The kernel timer pending on a socket: the "tr" column (what `ss -o` shows as
// timer:(on|keepalive|timewait|persist,...)).
enum class TcpTimer {
    none = 0,
    retransmit = 1,
    keepalive = 2,
    time_wait = 3,  // the 2*MSL wait: the row goes when it fires
    zero_window_probe = 4,
};

struct TcpSocket {
    Endpoint local;
    Endpoint remote;
    TcpState state = TcpState::close;
    unsigned long tx_queue = 0;  // bytes sent but not yet acknowledged
    unsigned long rx_queue = 0;  // bytes received but not yet read by the process
    uid_t uid = 0;
    ino_t inode = 0;  // 0 for sockets no process holds (TIME-WAIT, orphans)
    bool ipv6 = false;
    TcpTimer timer = TcpTimer::none;
    std::chrono::milliseconds timer_left{0};  // until `timer` fires ("tm->when")
};

// "tr:tm->when" ("03:0000173A") -> the timer and the time until it fires. The kernel
// prints tm->when with jiffies_delta_to_clock_t (net/ipv4/tcp_ipv4.c): clock ticks of
// USER_HZ, not of its own HZ, which is what sysconf(_SC_CLK_TCK) returns (netstat -o
// divides by it too; 0x173A = 5946 ticks = 59.46 s at 100 per second, where `ss -o`
// says timewait,59sec). A code we do not know reads as TcpTimer::none.
std::optional<std::pair<TcpTimer, std::chrono::milliseconds>> parse_tcp_timer(
    std::string_view field);

// Parses the whole text of /proc/net/tcp (ipv6 = false) or /proc/net/tcp6
// (ipv6 = true), header line included. Malformed rows are skipped.
std::vector<TcpSocket> parse_tcp_table(std::string_view text, bool ipv6);

// Both tables of the calling process's network namespace.
std::vector<TcpSocket> read_tcp_sockets(const std::filesystem::path& proc_root = "/proc");

// The LISTEN sockets of both tables alone. The kernel lists a table's listening sockets
// before its connections, so the reading stops at the first row of another state: quick
// even on a machine whose table holds a hundred thousand TIME-WAIT entries.
std::vector<TcpSocket> read_listening_sockets(const std::filesystem::path& proc_root = "/proc");

// The most bytes one TCP connection can hold in the kernel's buffers: the largest send
// buffer plus the largest receive buffer autotuning may grow a socket to (the third
// numbers of net.ipv4.tcp_wmem and tcp_rmem), counted for both ends. Whatever a peer
// has sent beyond this, it has read. nullopt when the sysctls cannot be read.
std::optional<std::size_t> tcp_buffer_ceiling(const std::filesystem::path& proc_root = "/proc");

// "socket:[12345]" -> 12345; anything else -> nullopt.
std::optional<ino_t> parse_socket_link(std::string_view link_target);

// Socket inodes among the open descriptors of `pid` (empty if it is gone or unreadable).
std::vector<ino_t> socket_inodes_of(pid_t pid, const std::filesystem::path& proc_root = "/proc");

// Which of `candidates` hold the socket `inode` open.
std::vector<pid_t> holders_of(ino_t inode, const std::vector<pid_t>& candidates,
                              const std::filesystem::path& proc_root = "/proc");

// Every process on the system that holds `inode` (slow: reads every /proc/PID/fd).
std::vector<pid_t> find_holders_anywhere(ino_t inode,
                                         const std::filesystem::path& proc_root = "/proc");

}  // namespace labcheck::procfs
