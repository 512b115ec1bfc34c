#include "procfs/tcp_table.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <system_error>

#include "procfs/text.hpp"

namespace labcheck::procfs {
namespace {

// The shared /proc text helpers (text.hpp).
using namespace text;

template <typename Number>
std::optional<Number> parse_hex(std::string_view text) {
    return parse_number<Number>(text, 16);
}

// "left:right" -> both halves; nullopt without a ':'.
std::optional<std::pair<std::string_view, std::string_view>> split_colon(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    return std::pair{text.substr(0, colon), text.substr(colon + 1)};
}

// The kernel prints the address as 32-bit words ("%08X" per word) of the network-order
// bytes read as host integers. Copying each parsed word back in host order restores the
// network bytes, whatever the machine's endianness.
std::optional<std::string> format_address(std::string_view hex, bool ipv6) {
    const std::size_t words = ipv6 ? 4 : 1;
    if (hex.size() != words * 8) return std::nullopt;
    std::array<unsigned char, sizeof(in6_addr)> bytes{};
    for (std::size_t i = 0; i < words; ++i) {
        const auto word = parse_hex<std::uint32_t>(hex.substr(i * 8, 8));
        if (!word) return std::nullopt;
        std::memcpy(bytes.data() + i * 4, &*word, sizeof *word);
    }
    std::array<char, INET6_ADDRSTRLEN> text;
    if (::inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes.data(), text.data(), text.size()) == nullptr) {
        return std::nullopt;
    }
    return std::string(text.data());
}

// "0100007F:04B5" -> 127.0.0.1 port 1205 (the port is printed as a plain number).
std::optional<Endpoint> parse_endpoint(std::string_view text, bool ipv6) {
    const auto parts = split_colon(text);
    if (!parts) return std::nullopt;
    auto address = format_address(parts->first, ipv6);
    const auto port = parse_hex<std::uint16_t>(parts->second);
    if (!address || !port) return std::nullopt;
    return Endpoint{.address = std::move(*address), .port = *port};
}

std::optional<TcpState> parse_state(std::string_view hex) {
    const auto value = parse_hex<unsigned>(hex);
    if (!value || *value < static_cast<unsigned>(TcpState::established) ||
        *value > static_cast<unsigned>(TcpState::new_syn_recv)) {
        return std::nullopt;
    }
    return static_cast<TcpState>(*value);
}

// One row: "sl local remote st tx:rx tr:when retrnsmt uid timeout inode ...". The fields
// after the inode differ between states (TIME-WAIT rows are shorter) and are not needed.
std::optional<TcpSocket> parse_row(std::string_view line, bool ipv6) {
    std::array<std::string_view, 10> field;
    Fields fields(line);
    for (auto& slot : field) {
        const auto next = fields.next();
        if (!next) return std::nullopt;
        slot = *next;
    }

    // "12:"; the header's "sl" fails here.
    if (!field[0].ends_with(':') ||
        !parse_number<unsigned>(field[0].substr(0, field[0].size() - 1))) {
        return std::nullopt;
    }
    auto local = parse_endpoint(field[1], ipv6);
    auto remote = parse_endpoint(field[2], ipv6);
    const auto state = parse_state(field[3]);
    const auto queues = split_colon(field[4]);
    if (!local || !remote || !state || !queues) return std::nullopt;
    const auto tx = parse_hex<unsigned long>(queues->first);
    const auto rx = parse_hex<unsigned long>(queues->second);
    const auto timer = parse_tcp_timer(field[5]);
    const auto uid = parse_number<uid_t>(field[7]);
    const auto inode = parse_number<ino_t>(field[9]);
    if (!tx || !rx || !timer || !uid || !inode) return std::nullopt;

    return TcpSocket{.local = std::move(*local),
                     .remote = std::move(*remote),
                     .state = *state,
                     .tx_queue = *tx,
                     .rx_queue = *rx,
                     .uid = *uid,
                     .inode = *inode,
                     .ipv6 = ipv6,
                     .timer = timer->first,
                     .timer_left = timer->second};
}

void append_rows(std::string_view text, bool ipv6, std::vector<TcpSocket>& out) {
    while (!text.empty()) {
        const auto end = std::min(text.find('\n'), text.size());
        if (auto socket = parse_row(text.substr(0, end), ipv6)) out.push_back(std::move(*socket));
        text.remove_prefix(std::min(end + 1, text.size()));
    }
}

struct DirCloser {
    void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};

// Calls `visit(inode)` for each socket among the descriptors of `pid`, until it returns
// true; returns whether it did. A process that is gone or not ours has no descriptors
// we can see: that is the normal outcome of a race, not an error.
template <typename Visit>
bool any_socket_inode(pid_t pid, const std::filesystem::path& proc_root, Visit visit) {
    const auto fd_dir = proc_root / std::to_string(pid) / "fd";
    const std::unique_ptr<DIR, DirCloser> dir(::opendir(fd_dir.c_str()));
    if (!dir) return false;
    while (const dirent* entry = ::readdir(dir.get())) {
        // "socket:[18446744073709551615]" fits; a longer target is not a socket anyway,
        // and a full buffer may be truncated, so it is skipped.
        std::array<char, 64> target;
        const ssize_t length =
            ::readlinkat(::dirfd(dir.get()), entry->d_name, target.data(), target.size());
        if (length <= 0 || static_cast<std::size_t>(length) >= target.size()) continue;
        const auto inode =
            parse_socket_link(std::string_view(target.data(), static_cast<std::size_t>(length)));
        if (inode && visit(*inode)) return true;
    }
    return false;
}

bool holds(pid_t pid, ino_t inode, const std::filesystem::path& proc_root) {
    return any_socket_inode(pid, proc_root, [inode](ino_t held) { return held == inode; });
}

}  // namespace

std::string_view to_string(TcpState state) {
    switch (state) {
        case TcpState::established:
            return "ESTAB";
        case TcpState::syn_sent:
            return "SYN-SENT";
        case TcpState::syn_recv:
            return "SYN-RECV";
        case TcpState::fin_wait1:
            return "FIN-WAIT-1";
        case TcpState::fin_wait2:
            return "FIN-WAIT-2";
        case TcpState::time_wait:
            return "TIME-WAIT";
        case TcpState::close:
            return "UNCONN";
        case TcpState::close_wait:
            return "CLOSE-WAIT";
        case TcpState::last_ack:
            return "LAST-ACK";
        case TcpState::listen:
            return "LISTEN";
        case TcpState::closing:
            return "CLOSING";
        case TcpState::new_syn_recv:
            return "NEW-SYN-RECV";
    }
    return "UNKNOWN";  // only reachable through a cast of an out-of-range number
}

std::optional<std::pair<TcpTimer, std::chrono::milliseconds>> parse_tcp_timer(
    std::string_view field) {
    const auto parts = split_colon(field);
    if (!parts) return std::nullopt;
    const auto code = parse_hex<unsigned>(parts->first);
    const auto ticks = parse_hex<unsigned long long>(parts->second);
    if (!code || !ticks) return std::nullopt;
    static const unsigned long long per_second = std::max(::sysconf(_SC_CLK_TCK), 1L);
    const auto timer = *code >= 1 && *code <= 4 ? static_cast<TcpTimer>(*code) : TcpTimer::none;
    const auto millis = *ticks / per_second * 1000 + *ticks % per_second * 1000 / per_second;
    return std::pair{timer, std::chrono::milliseconds(millis)};
}

std::vector<TcpSocket> parse_tcp_table(std::string_view text, bool ipv6) {
    std::vector<TcpSocket> sockets;
    append_rows(text, ipv6, sockets);
    return sockets;
}

std::vector<TcpSocket> read_tcp_sockets(const std::filesystem::path& proc_root) {
    std::vector<TcpSocket> sockets;
    std::string text;

    const auto tcp = proc_root / "net" / "tcp";
    // Every Linux with /proc has this table: failing to read it is a setup error.
    if (const int error = read_proc_file(tcp, text)) {
        throw std::system_error(error, std::generic_category(), "read " + tcp.string());
    }
    append_rows(text, false, sockets);

    // tcp6 is missing when IPv6 is disabled; then the IPv4 table is the whole story.
    const auto tcp6 = proc_root / "net" / "tcp6";
    if (const int error = read_proc_file(tcp6, text)) {
        if (error == ENOENT) return sockets;
        throw std::system_error(error, std::generic_category(), "read " + tcp6.string());
    }
    append_rows(text, true, sockets);
    return sockets;
}

std::vector<TcpSocket> read_listening_sockets(const std::filesystem::path& proc_root) {
    std::vector<TcpSocket> sockets;
    for (const auto& [table, ipv6] : {std::pair{"tcp", false}, std::pair{"tcp6", true}}) {
        std::ifstream in(proc_root / "net" / table);
        std::string line, listening;
        if (!std::getline(in, line)) continue;  // tcp6 is missing when IPv6 is disabled
        listening = line + "\n";                // the header, which the parser expects
        while (std::getline(in, line)) {
            Fields fields(line);
            if (!fields.skip(3) || fields.next() != std::optional<std::string_view>("0A")) break;
            listening += line + "\n";
        }
        append_rows(listening, ipv6, sockets);
    }
    return sockets;
}

std::optional<std::size_t> tcp_buffer_ceiling(const std::filesystem::path& proc_root) {
    std::size_t one_end = 0;
    std::string text;
    for (const char* sysctl : {"tcp_wmem", "tcp_rmem"}) {
        if (read_proc_file(proc_root / "sys" / "net" / "ipv4" / sysctl, text) != 0)
            return std::nullopt;
        Fields fields(text);  // "min default max"
        if (!fields.skip(2)) return std::nullopt;
        auto largest = fields.next();
        auto bytes = largest ? parse_number<std::size_t>(*largest) : std::nullopt;
        if (!bytes) return std::nullopt;
        one_end += *bytes;
    }
    return 2 * one_end;
}

std::optional<ino_t> parse_socket_link(std::string_view link_target) {
    constexpr std::string_view prefix = "socket:[";
    if (!link_target.starts_with(prefix) || !link_target.ends_with(']')) return std::nullopt;
    link_target.remove_prefix(prefix.size());
    link_target.remove_suffix(1);
    return parse_number<ino_t>(link_target);
}

std::vector<ino_t> socket_inodes_of(pid_t pid, const std::filesystem::path& proc_root) {
    std::vector<ino_t> inodes;
    any_socket_inode(pid, proc_root, [&inodes](ino_t inode) {
        inodes.push_back(inode);
        return false;  // keep going: we want them all
    });
    return inodes;
}

std::vector<pid_t> holders_of(ino_t inode, const std::vector<pid_t>& candidates,
                              const std::filesystem::path& proc_root) {
    std::vector<pid_t> holders;
    for (const pid_t pid : candidates) {
        if (holds(pid, inode, proc_root)) holders.push_back(pid);
    }
    return holders;
}

std::vector<pid_t> find_holders_anywhere(ino_t inode, const std::filesystem::path& proc_root) {
    std::vector<pid_t> holders;
    for_each_pid(proc_root, [&](pid_t pid) {
        if (holds(pid, inode, proc_root)) holders.push_back(pid);
    });
    return holders;
}

}  // namespace labcheck::procfs
