#include <doctest/doctest.h>
#include <csignal>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "os/unique_fd.hpp"
#include "procfs/children.hpp"
#include "procfs/process_table.hpp"
#include "procfs/tcp_table.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using labcheck::UniqueFd;
using namespace labcheck::procfs;

namespace {

// The fake /proc described in fixtures/proc/README.md.
const fs::path fixture_proc = fs::path(FIXTURES_DIR) / "proc";

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename Range, typename Value>
bool contains(const Range& range, const Value& value) {
    return std::find(range.begin(), range.end(), value) != range.end();
}

template <typename Value>
std::vector<Value> sorted(std::vector<Value> values) {
    std::sort(values.begin(), values.end());
    return values;
}

std::vector<pid_t> pids_of(const std::vector<ProcessInfo>& processes) {
    std::vector<pid_t> pids;
    for (const auto& process : processes) pids.push_back(process.pid);
    return sorted(pids);
}

void write_file(const fs::path& path, std::string_view text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

// Fields 3..22 of a real stat line, for building variants of it.
constexpr std::string_view stat_tail =
    " R 2983 2983 2254 0 -1 4194304 96 0 0 0 0 0 0 0 20 0 1 0 36518 3133440 378\n";

}  // namespace

// --- /proc/PID/stat -----------------------------------------------------------------

TEST_CASE("procfs: parse_stat takes comm up to the last parenthesis") {
    // Captured from a process that wrote "x) (y z)" to /proc/self/comm.
    const auto info = parse_stat(read_text(fixture_proc / "3122" / "stat"));
    REQUIRE(info);
    CHECK(info->pid == 3122);
    CHECK(info->comm == "x) (y z)");
    CHECK(info->state == 'R');
    CHECK(info->ppid == 3120);
    CHECK(info->pgrp == 3120);
    CHECK(info->session == 2254);
    CHECK(info->start_ticks == 37585);
    CHECK_FALSE(info->is_zombie());
}

TEST_CASE("procfs: parse_stat reads real lines") {
    const auto init = parse_stat(read_text(fixture_proc / "1" / "stat"));
    REQUIRE(init);
    CHECK(init->pid == 1);
    CHECK(init->comm == "process_api");
    CHECK(init->state == 'S');
    CHECK(init->ppid == 0);
    CHECK(init->start_ticks == 24);
    CHECK(init->flags == 4194560);
    CHECK_FALSE(init->is_exiting());

    const auto zombie = parse_stat(read_text(fixture_proc / "4244" / "stat"));
    REQUIRE(zombie);
    CHECK(zombie->state == 'Z');
    CHECK(zombie->is_zombie());
    CHECK(zombie->ppid == 4242);

    // No trailing newline, empty comm.
    const auto bare = parse_stat("77 ()" + std::string(stat_tail.substr(0, stat_tail.size() - 1)));
    REQUIRE(bare);
    CHECK(bare->comm.empty());
    CHECK(bare->start_ticks == 36518);
}

TEST_CASE("procfs: a process the kernel is tearing down is exiting, before it is a zombie") {
    // A line as the kernel writes it for a process inside exit(): state D, and
    // flags with PF_EXITING (0x4).
    const auto dying = parse_stat(
        "5150 (crash-on-nul) D 5149 5149 5149 0 -1 4194628 120 0 0 0 0 0 0 0 20 0 1 0 91234 "
        "0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
    REQUIRE(dying);
    CHECK(dying->is_exiting());
    CHECK_FALSE(dying->is_zombie());
}

TEST_CASE("procfs: parse_stat rejects malformed lines") {
    REQUIRE(parse_stat("1234 (cat)" + std::string(stat_tail)));  // the control

    const std::string truncated_tail(stat_tail.substr(0, 40));
    const std::vector<std::string> bad = {
        "",
        "\n",
        "1234",
        "1234 (cat",
        "1234 cat) R 1 1 1",
        "(cat)" + std::string(stat_tail),
        "x (cat)" + std::string(stat_tail),
        "-5 (cat)" + std::string(stat_tail),
        "0 (cat)" + std::string(stat_tail),
        "1234(cat)" + std::string(stat_tail),
        "1234 )cat(" + std::string(stat_tail),
        "1234 (cat)" + truncated_tail,
        "1234 (cat) RS 2983 2983 2254 0 -1 4194304 96 0 0 0 0 0 0 0 20 0 1 0 36518",
        "1234 (cat) R x 2983 2254 0 -1 4194304 96 0 0 0 0 0 0 0 20 0 1 0 36518",
        "1234 (cat) R 1 2983 2254 0 -1 4194304 96 0 0 0 0 0 0 0 20 0 1 0 -3",
        "99999999999 (cat)" + std::string(stat_tail),
    };
    for (const auto& line : bad) {
        CAPTURE(line);
        CHECK_FALSE(parse_stat(line));
    }
}

TEST_CASE("procfs: read_processes skips vanished, malformed and non-pid entries") {
    // 4301 has no stat (exited mid-read), 4302's is truncated; net, uptime and README.md
    // are not processes.
    const auto table = read_processes(fixture_proc);
    CHECK(pids_of(table) == std::vector<pid_t>{1, 3122, 4242, 4243, 4244, 4245, 4246});

    const auto worker = read_process(4245, fixture_proc);
    REQUIRE(worker);
    CHECK(worker->comm == "worker (2)");
    CHECK(worker->ppid == 4242);
    CHECK_FALSE(read_process(4301, fixture_proc));
    CHECK_FALSE(read_process(4302, fixture_proc));
    CHECK_FALSE(read_process(99999, fixture_proc));

    CHECK_THROWS_AS(read_processes(fixture_proc / "no-such-dir"), std::system_error);
}

TEST_CASE("procfs: descendants_of follows ppid transitively") {
    const auto table = read_processes(fixture_proc);
    CHECK(pids_of(descendants_of(4242, table)) == std::vector<pid_t>{4243, 4244, 4245, 4246});
    CHECK(pids_of(descendants_of(4243, table)) == std::vector<pid_t>{4246});
    CHECK(descendants_of(4246, table).empty());
    CHECK(descendants_of(777, table).empty());
    // 3122's parent is not in the table, so it descends from nobody listed.
    CHECK(pids_of(descendants_of(1, table)) == std::vector<pid_t>{4242, 4243, 4244, 4245, 4246});

    SUBCASE("a corrupt table with a cycle terminates and never lists the ancestor") {
        std::vector<ProcessInfo> cyclic(4);
        cyclic[0].pid = 10, cyclic[0].ppid = 11;
        cyclic[1].pid = 11, cyclic[1].ppid = 10;
        cyclic[2].pid = 12, cyclic[2].ppid = 11;
        cyclic[3].pid = 12, cyclic[3].ppid = 10;  // listed twice
        CHECK(pids_of(descendants_of(10, cyclic)) == std::vector<pid_t>{11, 12});
    }
}

// --- /proc/PID/syscall --------------------------------------------------------------

TEST_CASE("procfs: parse_syscall") {
    const auto running = parse_syscall("running\n");
    REQUIRE(running);
    CHECK(running->running);

    // A zombie, captured.
    const auto outside = parse_syscall("-1 0x0 0x0\n");
    REQUIRE(outside);
    CHECK_FALSE(outside->running);
    CHECK(outside->number == -1);

    // cat blocked in read(2), captured on x86_64.
    const auto reading = parse_syscall(
        "0 0x3 0x7fb9857b4000 0x20000 0x7fb985845b60 0xffffffff 0x0 "
        "0x7ffd9924ba48 0x7fb98592e2ad");
    REQUIRE(reading);
    CHECK_FALSE(reading->running);
    CHECK(reading->number == 0);
    CHECK(reading->stack_pointer == 0x7ffd9924ba48);  // the second-to-last field
    CHECK(running->stack_pointer == std::nullopt);

    for (const std::string_view bad : {"", "\n", "runn", "0x3 0x0", "12abc 0x1", "- 0x0"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_syscall(bad));
    }
}

TEST_CASE("procfs: read_syscall on the fixture tree") {
    const auto epoll = read_syscall(4242, fixture_proc);
    REQUIRE(epoll);
    CHECK(epoll->number == 232);
    const auto on_cpu = read_syscall(4243, fixture_proc);
    REQUIRE(on_cpu);
    CHECK(on_cpu->running);
    const auto zombie = read_syscall(4244, fixture_proc);
    REQUIRE(zombie);
    CHECK(zombie->number == -1);
    CHECK_FALSE(read_syscall(4245, fixture_proc));  // no file: as when ptrace access is denied
}

// --- /proc/net/tcp and tcp6 ---------------------------------------------------------

TEST_CASE("procfs: to_string names every TCP state as ss prints it") {
    const std::vector<std::pair<TcpState, std::string_view>> names = {
        {TcpState::established, "ESTAB"},    {TcpState::syn_sent, "SYN-SENT"},
        {TcpState::syn_recv, "SYN-RECV"},    {TcpState::fin_wait1, "FIN-WAIT-1"},
        {TcpState::fin_wait2, "FIN-WAIT-2"}, {TcpState::time_wait, "TIME-WAIT"},
        {TcpState::close, "UNCONN"},         {TcpState::close_wait, "CLOSE-WAIT"},
        {TcpState::last_ack, "LAST-ACK"},    {TcpState::listen, "LISTEN"},
        {TcpState::closing, "CLOSING"},      {TcpState::new_syn_recv, "NEW-SYN-RECV"},
    };
    for (const auto& [state, name] : names) CHECK(to_string(state) == name);
}

TEST_CASE("procfs: parse_tcp_table reads captured IPv4 rows") {
    const auto sockets = parse_tcp_table(read_text(fixture_proc / "net" / "tcp"), false);
    REQUIRE(sockets.size() == 6);
    for (const auto& socket : sockets) {
        CHECK_FALSE(socket.ipv6);
        CHECK(socket.uid == 0);
    }

    CHECK(sockets[0].local.address == "0.0.0.0");
    CHECK(sockets[0].local.port == 2024);
    CHECK(sockets[0].remote.address == "0.0.0.0");
    CHECK(sockets[0].remote.port == 0);
    CHECK(sockets[0].state == TcpState::listen);
    CHECK(sockets[0].inode == 1142);

    CHECK(sockets[1].local.address == "127.0.0.1");
    CHECK(sockets[1].local.port == 41147);
    CHECK(sockets[1].state == TcpState::listen);
    CHECK(sockets[1].inode == 8351);

    // TIME-WAIT rows are shorter and belong to no process.
    CHECK(sockets[4].state == TcpState::time_wait);
    CHECK(sockets[4].local.port == 38066);
    CHECK(sockets[4].remote.address == "127.0.0.1");
    CHECK(sockets[4].remote.port == 41147);
    CHECK(sockets[4].inode == 0);

    // The accepted side of a connection with 5 unread bytes.
    CHECK(sockets[5].state == TcpState::established);
    CHECK(sockets[5].local.port == 41147);
    CHECK(sockets[5].remote.port == 38064);
    CHECK(sockets[5].rx_queue == 5);
    CHECK(sockets[5].tx_queue == 0);
    CHECK(sockets[5].inode == 7532);
}

TEST_CASE("procfs: parse_tcp_table prints IPv6 addresses") {
    const auto sockets = parse_tcp_table(read_text(fixture_proc / "net" / "tcp6"), true);
    REQUIRE(sockets.size() == 5);
    for (const auto& socket : sockets) CHECK(socket.ipv6);

    CHECK(sockets[0].local.address == "::1");
    CHECK(sockets[0].local.port == 60469);
    CHECK(sockets[0].remote.address == "::");
    CHECK(sockets[0].state == TcpState::listen);
    CHECK(sockets[0].inode == 7535);

    CHECK(sockets[1].local.address == "::");  // dual-stack listener
    CHECK(sockets[1].local.port == 43705);

    CHECK(sockets[2].state == TcpState::fin_wait2);
    CHECK(sockets[2].inode == 0);

    // An IPv4 client of the dual-stack listener shows up in tcp6 as v4-mapped.
    CHECK(sockets[3].local.address == "::ffff:127.0.0.1");
    CHECK(sockets[3].local.port == 43705);
    CHECK(sockets[3].remote.address == "::ffff:127.0.0.1");
    CHECK(sockets[3].remote.port == 41172);
    CHECK(sockets[3].state == TcpState::established);
    CHECK(sockets[3].rx_queue == 3);

    // The peer closed: the FIN counts as one byte in the receive queue.
    CHECK(sockets[4].state == TcpState::close_wait);
    CHECK(sockets[4].rx_queue == 1);
    CHECK(sockets[4].remote.port == 58742);
}

TEST_CASE("procfs: parse_tcp_table reads uid and hex queues") {
    const auto sockets = parse_tcp_table(
        "   0: 0100007F:04B5 00000000:0000 0A 0000001F:000000A0 00:00000000 00000000  1000     "
        "   0 12345 1 0000000000000000 100 0 0 10 0",
        false);
    REQUIRE(sockets.size() == 1);
    CHECK(sockets[0].local.address == "127.0.0.1");
    CHECK(sockets[0].local.port == 1205);
    CHECK(sockets[0].tx_queue == 31);
    CHECK(sockets[0].rx_queue == 160);
    CHECK(sockets[0].uid == 1000);
    CHECK(sockets[0].inode == 12345);
}

TEST_CASE("procfs: parse_tcp_table skips the header and malformed rows") {
    const std::string good =
        "   0: 0100007F:04B5 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 "
        "12345 1 0000000000000000 100 0 0 10 0\n";
    const std::vector<std::string> bad = {
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode",
        "",
        "     ",
        "   1: 0100007F:04B5 00000000:0000 0A",                                        // cut
        "   2 0100007F:04B5 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 1",   // sl
        "   x: 0100007F:04B5 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 1",  // sl
        "   3: 0100007G:04B5 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 1",  // hex
        "   4: 100007F:04B5 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 1",   // short
        "   5: 00000000000000000000000001000000:04B5 00000000:0000 0A 00000000:00000000 "
        "00:00000000 0 0 0 1",                                                           // v6
        "   6: 0100007F:104B5 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 1",   // port
        "   7: 0100007F04B5 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 1",     // colon
        "   8: 0100007F:04B5 00000000:0000 00 00000000:00000000 00:00000000 0 0 0 1",    // state
        "   9: 0100007F:04B5 00000000:0000 0D 00000000:00000000 00:00000000 0 0 0 1",    // state
        "  10: 0100007F:04B5 00000000:0000 ZZ 00000000:00000000 00:00000000 0 0 0 1",    // state
        "  11: 0100007F:04B5 00000000:0000 0A 0000000000000000 00:00000000 0 0 0 1",     // queues
        "  12: 0100007F:04B5 00000000:0000 0A 00000000:0000000X 00:00000000 0 0 0 1",    // queues
        "  13: 0100007F:04B5 00000000:0000 0A 00000000:00000000 00:00000000 0 -1 0 1",   // uid
        "  14: 0100007F:04B5 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 12x",  // inode
        "  15: 0100007F:04B5 00000000:0000 0A 00000000:00000000 00-00000000 0 0 0 1",    // timer
    };
    std::string text;
    for (const auto& row : bad) text += row + "\n";
    text += good;
    const auto sockets = parse_tcp_table(text, false);
    REQUIRE(sockets.size() == 1);
    CHECK(sockets[0].inode == 12345);

    // The last row needs no newline; an IPv4 row is malformed in an IPv6 table.
    CHECK(parse_tcp_table(good.substr(0, good.size() - 1), false).size() == 1);
    CHECK(parse_tcp_table(good, true).empty());
    CHECK(parse_tcp_table("", false).empty());
}

TEST_CASE("procfs: the timer column says which timer runs and how long until it fires") {
    // tm->when counts clock ticks of USER_HZ (sysconf(_SC_CLK_TCK)), whatever the kernel's HZ.
    const long per_second = sysconf(_SC_CLK_TCK);
    const auto time_wait = parse_tcp_timer("03:0000173A");
    REQUIRE(time_wait);
    CHECK(time_wait->first == TcpTimer::time_wait);
    CHECK(time_wait->second.count() == 0x173A * 1000 / per_second);
    CHECK(parse_tcp_timer("00:00000000") ==
          std::pair{TcpTimer::none, std::chrono::milliseconds(0)});
    CHECK(parse_tcp_timer("02:00000064")->first == TcpTimer::keepalive);
    CHECK(parse_tcp_timer("09:00000064")->first == TcpTimer::none);  // a code we do not know
    CHECK_FALSE(parse_tcp_timer("0300000064"));
    CHECK_FALSE(parse_tcp_timer("03:0000006Z"));

    // The captured TIME-WAIT row; the listener has no timer running.
    const auto sockets = parse_tcp_table(read_text(fixture_proc / "net" / "tcp"), false);
    REQUIRE(sockets.size() == 6);
    CHECK(sockets[0].timer == TcpTimer::none);
    CHECK(sockets[4].timer == TcpTimer::time_wait);
    CHECK(sockets[4].timer_left.count() == 0x175C * 1000 / per_second);  // 59.8 s at 100 Hz
}

TEST_CASE("procfs: read_tcp_sockets reads tcp and tcp6, and tcp alone without IPv6") {
    const auto both = read_tcp_sockets(fixture_proc);
    CHECK(both.size() == 11);
    CHECK(std::count_if(both.begin(), both.end(), [](const TcpSocket& s) { return s.ipv6; }) == 5);

    TempDir root;
    fs::create_directories(root.path() / "net");
    CHECK_THROWS_AS(read_tcp_sockets(root.path()), std::system_error);  // no tcp at all

    fs::copy_file(fixture_proc / "net" / "tcp", root.path() / "net" / "tcp");
    const auto v4_only = read_tcp_sockets(root.path());
    CHECK(v4_only.size() == 6);
    CHECK(std::none_of(v4_only.begin(), v4_only.end(), [](const TcpSocket& s) { return s.ipv6; }));
}

// --- who holds which socket ---------------------------------------------------------

TEST_CASE("procfs: parse_socket_link") {
    CHECK(parse_socket_link("socket:[12345]") == ino_t{12345});
    CHECK(parse_socket_link("socket:[0]") == ino_t{0});
    for (const std::string_view bad :
         {"", "socket:[]", "socket:[12a]", "socket:[123", "socket:12]", "pipe:[123]", "/dev/null",
          "anon_inode:[eventpoll]", "socket:[-1]", "socket:[ 1]",
          "socket:[99999999999999999999999]", "xsocket:[1]"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_socket_link(bad));
    }
}

TEST_CASE("procfs: socket_inodes_of, holders_of and find_holders_anywhere read fd links") {
    // Built here rather than committed: a fake fd table is a directory of symlinks whose
    // targets ("socket:[111]") do not exist, which tools copying fixtures tend to mangle.
    TempDir root;
    const auto link = [&](pid_t pid, int fd, const char* target) {
        const auto dir = root.path() / std::to_string(pid) / "fd";
        fs::create_directories(dir);
        fs::create_symlink(target, dir / std::to_string(fd));
    };
    link(100, 0, "/dev/null");
    link(100, 1, "socket:[111]");
    link(100, 2, "socket:[222]");
    link(100, 3, "pipe:[333]");
    link(100, 4, "anon_inode:[eventpoll]");
    link(200, 5, "socket:[222]");
    fs::create_directories(root.path() / "300");  // a process whose fd we may not read
    fs::create_directory_symlink("100", root.path() / "self");  // not a pid: not counted twice

    CHECK(sorted(socket_inodes_of(100, root.path())) == std::vector<ino_t>{111, 222});
    CHECK(socket_inodes_of(200, root.path()) == std::vector<ino_t>{222});
    CHECK(socket_inodes_of(300, root.path()).empty());
    CHECK(socket_inodes_of(999, root.path()).empty());

    CHECK(holders_of(222, {100, 200, 300, 999}, root.path()) == std::vector<pid_t>{100, 200});
    CHECK(holders_of(111, {200, 300}, root.path()).empty());
    CHECK(holders_of(111, {}, root.path()).empty());

    CHECK(sorted(find_holders_anywhere(222, root.path())) == std::vector<pid_t>{100, 200});
    CHECK(find_holders_anywhere(111, root.path()) == std::vector<pid_t>{100});
    CHECK(find_holders_anywhere(333, root.path()).empty());  // a pipe, not a socket
}

// --- process trees from task/*/children ---------------------------------------------

TEST_CASE("procfs: children_of and descendant_pids on the fixture tree") {
    // 4245 was forked by thread 4250, so it is only in task/4250/children.
    CHECK(sorted(children_of(4242, fixture_proc)) == std::vector<pid_t>{4243, 4244, 4245});
    CHECK(children_of(4244, fixture_proc).empty());
    CHECK(children_of(4301, fixture_proc).empty());  // no task directory
    CHECK(children_of(99999, fixture_proc).empty());

    // Breadth first: children before grandchildren. 4246 lists 4242 as its child; the walk
    // must neither loop nor report the ancestor.
    const auto tree = descendant_pids(4242, fixture_proc);
    REQUIRE(tree.size() == 4);
    CHECK(sorted(std::vector<pid_t>(tree.begin(), tree.begin() + 3)) ==
          std::vector<pid_t>{4243, 4244, 4245});
    CHECK(tree[3] == 4246);

    CHECK(sorted(descendant_pids(4243, fixture_proc)) ==
          std::vector<pid_t>{4242, 4244, 4245, 4246});
    CHECK(descendant_pids(4244, fixture_proc).empty());
    CHECK_THROWS_AS(descendant_pids(1, fixture_proc / "no-such-dir"), std::system_error);
}

TEST_CASE("procfs: children files with many pids and odd spacing") {
    TempDir root;
    std::string many;
    std::vector<pid_t> expected;
    for (pid_t pid = 1000; pid < 3000; ++pid) {  // ~10 KB: more than one read
        many += std::to_string(pid) + " ";
        expected.push_back(pid);
    }
    write_file(root.path() / "5" / "task" / "5" / "children", many);
    write_file(root.path() / "5" / "task" / "6" / "children", "3000\n 3001  0 99999999999 ");
    expected.push_back(3000);
    expected.push_back(3001);
    CHECK(sorted(children_of(5, root.path())) == expected);
}

// --- live: this process and its children --------------------------------------------

TEST_CASE("procfs: live read_process and read_syscall of this process") {
    const auto self = read_process(::getpid());
    REQUIRE(self);
    CHECK(self->pid == ::getpid());
    CHECK(self->ppid == ::getppid());
    CHECK(self->pgrp == ::getpgrp());
    CHECK(self->session == ::getsid(0));
    CHECK(self->state == 'R');
    CHECK(self->start_ticks > 0);

    // While a process reads its own syscall file, it is inside read(2).
    const auto syscall = read_syscall(::getpid());
    REQUIRE(syscall);
    CHECK_FALSE(syscall->running);
    CHECK(syscall->number == SYS_read);

    CHECK(contains(pids_of(read_processes()), ::getpid()));
}

TEST_CASE("procfs: live process tree with a child and a grandchild") {
    const auto own_children = fs::path("/proc/self/task") / std::to_string(::gettid()) / "children";
    if (!fs::exists(own_children)) {
        MESSAGE("kernel without CONFIG_PROC_CHILDREN: skipped");
        return;
    }

    // `release`: both descendants block reading it until we close the write end.
    // `report`: the child sends back its child's pid.
    int release[2];
    int report[2];
    REQUIRE(::pipe2(release, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(report, O_CLOEXEC) == 0);

    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(release[1]);
        ::close(report[0]);
        char byte;
        const pid_t grandchild = ::fork();
        if (grandchild == 0) {
            ::close(report[1]);
            while (::read(release[0], &byte, 1) > 0) {
            }
            ::_exit(0);
        }
        const bool reported =
            ::write(report[1], &grandchild, sizeof grandchild) == sizeof grandchild;
        ::close(report[1]);
        while (::read(release[0], &byte, 1) > 0) {
        }
        int status = 0;
        const bool reaped = grandchild > 0 && ::waitpid(grandchild, &status, 0) == grandchild;
        ::_exit(reported && reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
    }

    UniqueFd release_writer(release[1]);
    UniqueFd report_reader(report[0]);
    ::close(release[0]);
    ::close(report[1]);

    pid_t grandchild = -1;
    // The child writes after its fork() returned, so the grandchild is already linked.
    const ssize_t got = ::read(report_reader.get(), &grandchild, sizeof grandchild);
    CHECK(got == static_cast<ssize_t>(sizeof grandchild));
    CHECK(grandchild > 0);

    const auto children = children_of(::getpid());
    CHECK(contains(children, child));
    CHECK_FALSE(contains(children, grandchild));

    const auto tree = descendant_pids(::getpid());
    CHECK(contains(tree, child));
    CHECK(contains(tree, grandchild));
    CHECK_FALSE(contains(tree, ::getpid()));
    CHECK(descendant_pids(child) == std::vector<pid_t>{grandchild});

    const auto from_ppid = pids_of(descendants_of(::getpid(), read_processes()));
    CHECK(contains(from_ppid, child));
    CHECK(contains(from_ppid, grandchild));

    release_writer.reset();  // EOF for both: the grandchild exits, then the child reaps it
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

// --- live: sockets of this process --------------------------------------------------

namespace {

const TcpSocket* find_local(const std::vector<TcpSocket>& sockets, std::string_view address,
                            std::uint16_t port) {
    for (const auto& socket : sockets) {
        if (socket.local.address == address && socket.local.port == port) return &socket;
    }
    return nullptr;
}

ino_t inode_of(int fd) {
    struct stat info {};
    REQUIRE(::fstat(fd, &info) == 0);
    return info.st_ino;
}

}  // namespace

TEST_CASE("procfs: live IPv4 listener and connection show up in the tables") {
    const UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) ==
            0);
    REQUIRE(::listen(listener.get(), 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const std::uint16_t port = ntohs(address.sin_port);

    const UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(client);
    REQUIRE(::connect(client.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) ==
            0);
    const UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(accepted);

    const auto sockets = read_tcp_sockets();
    const TcpSocket* const row = find_local(sockets, "127.0.0.1", port);
    REQUIRE(row != nullptr);
    // The listener and the accepted socket share the local endpoint; the table lists the
    // listener first, and the fstat inode tells them apart anyway.
    const ino_t listener_inode = inode_of(listener.get());
    const auto listening = std::find_if(sockets.begin(), sockets.end(), [&](const TcpSocket& s) {
        return s.inode == listener_inode;
    });
    REQUIRE(listening != sockets.end());
    CHECK(listening->state == TcpState::listen);
    CHECK(listening->local.address == "127.0.0.1");
    CHECK(listening->local.port == port);
    CHECK(listening->remote.address == "0.0.0.0");
    CHECK(listening->uid == ::getuid());
    CHECK_FALSE(listening->ipv6);

    const ino_t accepted_inode = inode_of(accepted.get());
    const auto connection = std::find_if(sockets.begin(), sockets.end(), [&](const TcpSocket& s) {
        return s.inode == accepted_inode;
    });
    REQUIRE(connection != sockets.end());
    CHECK(connection->state == TcpState::established);
    CHECK(connection->local.port == port);
    CHECK(connection->remote.address == "127.0.0.1");

    const auto inodes = socket_inodes_of(::getpid());
    CHECK(contains(inodes, listener_inode));
    CHECK(contains(inodes, accepted_inode));
    CHECK(contains(inodes, inode_of(client.get())));
    CHECK(holders_of(listener_inode, {::getpid()}) == std::vector<pid_t>{::getpid()});
    CHECK(contains(find_holders_anywhere(listener_inode), ::getpid()));
}

TEST_CASE("procfs: live IPv6 loopback listener prints as ::1") {
    const UniqueFd listener(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    if (!listener ||
        ::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        MESSAGE("no IPv6 loopback here: skipped");
        return;
    }
    REQUIRE(::listen(listener.get(), 1) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);

    const auto sockets = read_tcp_sockets();
    const TcpSocket* const row = find_local(sockets, "::1", ntohs(address.sin6_port));
    REQUIRE(row != nullptr);
    CHECK(row->ipv6);
    CHECK(row->state == TcpState::listen);
    CHECK(row->inode == inode_of(listener.get()));
}

TEST_CASE("procfs: pending signals are SigPnd and ShdPnd together") {
    const std::string status =
        "Name:\tserver\nState:\tS (sleeping)\nSigQ:\t1/127368\nSigPnd:\t0000000000000000\n"
        "ShdPnd:\t0000000000010000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001000\n";
    auto pending = labcheck::procfs::parse_pending_signals(status);
    REQUIRE(pending.has_value());
    CHECK(*pending == (1ULL << (SIGCHLD - 1)));
    CHECK_FALSE(labcheck::procfs::parse_pending_signals("Name:\tx\n").has_value());
    CHECK_FALSE(labcheck::procfs::parse_pending_signals("SigPnd:\tzz\n").has_value());
}

TEST_CASE("procfs: a blocked signal shows as pending in our own status") {
    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &previous) == 0);
    REQUIRE(kill(getpid(), SIGUSR1) == 0);
    auto pending = labcheck::procfs::read_pending_signals(getpid());
    REQUIRE(pending.has_value());
    CHECK((*pending & (1ULL << (SIGUSR1 - 1))) != 0);
    // Consume it, so unblocking does not deliver it.
    int taken = 0;
    REQUIRE(sigwait(&block, &taken) == 0);
    CHECK(taken == SIGUSR1);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

TEST_CASE("procfs: a process's threads, status numbers and wait channel") {
    CHECK(thread_ids(4242, fixture_proc) == std::vector<pid_t>{4242, 4250});
    CHECK(thread_ids(4301, fixture_proc).empty());  // gone: no task directory

    CHECK(read_status_number(4242, "VmSize", fixture_proc) == 10452);
    CHECK(read_status_number(4242, "voluntary_ctxt_switches", fixture_proc) == 12);
    CHECK(read_status_number(4242, "VmRSS", fixture_proc) == std::nullopt);   // not there
    CHECK(read_status_number(4243, "VmSize", fixture_proc) == std::nullopt);  // no file
    // A field is a whole name: "Vm" is not the start of "VmSize".
    CHECK(parse_status_number("VmSize:\t 10 kB\n", "Vm") == std::nullopt);

    CHECK(read_wait_channel(4242, fixture_proc) == "inet_csk_accept");
    CHECK(read_wait_channel(4243, fixture_proc).empty());
}

TEST_CASE("procfs: read_listening_sockets reads the LISTEN rows, which the kernel lists first") {
    const auto all = read_tcp_sockets(fixture_proc);
    const auto listening = read_listening_sockets(fixture_proc);
    const auto listeners = std::count_if(all.begin(), all.end(), [](const TcpSocket& socket) {
        return socket.state == TcpState::listen;
    });
    REQUIRE(listeners > 0);
    CHECK(static_cast<long>(listening.size()) == listeners);
    for (const auto& socket : listening) CHECK(socket.state == TcpState::listen);

    // A table whose listeners come after a connection: the reading stops at the first other
    // row, as it is meant to (the kernel never writes one so).
    TempDir root;
    std::filesystem::create_directories(root.path() / "net");
    write_file(root.path() / "net" / "tcp",
               "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
               "uid  timeout inode\n"
               "   0: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  "
               "1000        0 100 1 0000000000000000 20 4 30 10 -1\n"
               "   1: 00000000:04B5 00000000:0000 0A 00000000:00000000 00:00000000 00000000  "
               "1000        0 101 1 0000000000000000 100 0 0 10 0\n");
    CHECK(read_listening_sockets(root.path()).empty());
}
