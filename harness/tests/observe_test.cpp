#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client.hpp"
#include "hand_started_server.hpp"
#include "labcheck_process.hpp"
#include "observe/json_view.hpp"
#include "observe/observation.hpp"
#include "observe/state_diagram.hpp"
#include "observe/text_view.hpp"
#include "os/deadline.hpp"
#include "ports.hpp"
#include "procfs/children.hpp"
#include "procfs/process_table.hpp"
#include "procfs/tcp_table.hpp"

using namespace labcheck;
using namespace std::chrono_literals;
using observe::Frame;
using observe::Observation;
using procfs::TcpState;
namespace fs = std::filesystem;

namespace {

// --- hand-made snapshots ------------------------------------------------------------

constexpr std::uint16_t kPort = 1205;
const long kTicks = sysconf(_SC_CLK_TCK);

procfs::ProcessInfo process(pid_t pid, pid_t ppid, char state = 'S', long started_s = 0) {
    procfs::ProcessInfo info;
    info.pid = pid;
    info.ppid = ppid;
    info.state = state;
    info.start_ticks = static_cast<unsigned long long>(started_s * kTicks);
    return info;
}

procfs::TcpSocket socket_row(TcpState state, std::uint16_t client_port, ino_t inode) {
    procfs::TcpSocket socket;
    // A listening socket (client_port 0) is bound to every address, with no peer.
    socket.local = {client_port ? "127.0.0.1" : "0.0.0.0", kPort};
    socket.remote = {client_port ? "127.0.0.1" : "0.0.0.0", client_port};
    socket.state = state;
    socket.inode = inode;
    return socket;
}

// The server (100) listening on socket 1, idle.
Snapshot idle_server() {
    Snapshot snapshot;
    snapshot.processes = {process(100, 1, 'S', 10)};
    snapshot.sockets[100] = {1};
    snapshot.tcp = {socket_row(TcpState::listen, 0, 1)};
    return snapshot;
}

const observe::ProcessRow* row_of(const Frame& frame, pid_t pid) {
    for (const auto& row : frame.processes)
        if (row.pid == pid) return &row;
    return nullptr;
}

}  // namespace

TEST_CASE("observe: a child serves its client, turns zombie, is reaped: each counted once") {
    Observation observation;
    Frame idle = observation.look(idle_server(), 12s);
    CHECK(idle.counters.accepted == 0);
    REQUIRE(idle.processes.size() == 1);
    CHECK(idle.processes[0].role == "listener");
    CHECK(idle.processes[0].age == 2s);  // started 10 s after boot, looked at 12 s

    Snapshot serving = idle_server();
    serving.processes.push_back(process(101, 100, 'S', 12));
    serving.sockets[101] = {7};
    serving.tcp.push_back(socket_row(TcpState::established, 50312, 7));
    Frame one = observation.look(serving, 13s);
    CHECK(one.counters.accepted == 1);
    CHECK(one.counters.active == 1);
    const auto* child = row_of(one, 101);
    REQUIRE(child);
    CHECK(child->role == "child");
    CHECK(child->depth == 1);
    CHECK(child->clients == std::vector<std::string>{"127.0.0.1:50312"});
    CHECK(one.states ==
          std::map<TcpState, std::size_t>{{TcpState::listen, 1}, {TcpState::established, 1}});
    CHECK(observation.look(serving, 13250ms).counters.accepted == 1);  // the same connection

    Snapshot zombie = idle_server();
    zombie.processes.push_back(process(101, 100, 'Z', 12));
    Frame exited = observation.look(zombie, 14s);
    CHECK(exited.counters.exited == 1);
    CHECK(exited.counters.reaped == 0);
    CHECK(exited.counters.zombies == 1);
    CHECK(exited.counters.active == 0);
    REQUIRE(row_of(exited, 101));
    CHECK(row_of(exited, 101)->zombie);

    Frame reaped = observation.look(idle_server(), 15s);
    CHECK(reaped.counters.accepted == 1);
    CHECK(reaped.counters.exited == 1);
    CHECK(reaped.counters.reaped == 1);
    CHECK(reaped.counters.zombies == 0);
    CHECK(reaped.observed == 3s);
}

TEST_CASE("observe: a child that exits and is reaped between two looks is exited and reaped") {
    Observation observation;
    Snapshot serving = idle_server();
    serving.processes.push_back(process(101, 100));
    observation.look(serving, 1s);
    Frame after = observation.look(idle_server(), 2s);
    CHECK(after.counters.exited == 1);
    CHECK(after.counters.reaped == 1);
    // A new process under an old pid (another start time) is not the one we saw.
    Snapshot reused = idle_server();
    reused.processes.push_back(process(101, 100, 'S', 0));
    observation.look(reused, 3s);
    reused.processes.back().start_ticks += 5;
    CHECK(observation.look(reused, 4s).counters.reaped == 2);
}

TEST_CASE("observe: connections are counted once accepted, not while in the accept queue") {
    Observation observation;
    Snapshot queued = idle_server();
    queued.tcp.push_back(socket_row(TcpState::established, 50000, 0));  // no process yet
    Frame waiting = observation.look(queued, 1s);
    CHECK(waiting.counters.accepted == 0);
    CHECK(waiting.counters.active == 0);

    Snapshot taken = idle_server();
    taken.sockets[100].push_back(9);
    taken.tcp.push_back(socket_row(TcpState::established, 50000, 9));
    CHECK(observation.look(taken, 2s).counters.accepted == 1);

    // Closed by the server: TIME-WAIT, the kernel's alone, still the same connection.
    Snapshot closed = idle_server();
    auto time_wait = socket_row(TcpState::time_wait, 50000, 0);
    time_wait.timer = procfs::TcpTimer::time_wait;
    time_wait.timer_left = 59460ms;
    closed.tcp.push_back(time_wait);
    Frame after = observation.look(closed, 3s);
    CHECK(after.counters.accepted == 1);
    CHECK(after.counters.active == 0);
    REQUIRE(after.sockets.size() == 2);
    CHECK(after.sockets[1].state == TcpState::time_wait);
    CHECK(after.sockets[1].holders.empty());
    CHECK(after.sockets[1].time_left == std::optional<Millis>(59460ms));

    // Accepted and closed between two looks: first seen in TIME-WAIT, still counted.
    Snapshot quick = closed;
    quick.tcp.push_back(socket_row(TcpState::time_wait, 50001, 0));
    CHECK(observation.look(quick, 4s).counters.accepted == 2);
}

TEST_CASE("observe: TIME-WAIT's time left is read from /proc/net/tcp's timer column") {
    // Captured from this kernel while `ss -o` said timer:(timewait,59sec,0).
    auto sockets = procfs::parse_tcp_table(
        "   2: 0100007F:04B5 0100007F:A346 06 00000000:00000000 03:0000173A 00000000     0   "
        "     0 0 3 0000000033c956ae\n",
        false);
    REQUIRE(sockets.size() == 1);
    Snapshot snapshot;
    snapshot.tcp = sockets;
    Frame frame = Observation().look(snapshot, 1s);
    REQUIRE(frame.sockets.size() == 1);
    CHECK(frame.sockets[0].time_left == std::optional<Millis>(0x173A * 1000 / kTicks * 1ms));
    auto json = observe::frame_json(frame);
    CHECK(json["sockets"][0]["state"] == "TIME-WAIT");
    CHECK(json["sockets"][0]["time_left_ms"] == 0x173A * 1000 / kTicks);
    CHECK(json["states"]["TIME-WAIT"] == 1);
    auto text = observe::text_frame(frame, false, 0);
    CHECK(std::any_of(text.begin(), text.end(), [](const std::string& line) {
        return line.find("TIME-WAIT") != std::string::npos &&
               line.find("kernel, 59.4s left") != std::string::npos;
    }));
}

TEST_CASE("observe: a zombie is marked in JSON and in the text, with why it stays") {
    Snapshot snapshot = idle_server();
    snapshot.processes.push_back(process(101, 100, 'Z'));
    Frame frame = Observation().look(snapshot, 1s);
    auto json = observe::frame_json(frame);
    REQUIRE(json["processes"].size() == 2);
    CHECK(json["processes"][1]["zombie"] == true);
    CHECK(json["processes"][1]["state"] == "Z");
    CHECK(json["processes"][0]["zombie"] == false);
    CHECK(json["counters"]["zombies"] == 1);
    std::string text;
    for (const auto& line : observe::text_frame(frame, true, 0)) text += line + "\n";
    CHECK(text.find("\x1b[1;35m  `- 101") != std::string::npos);  // the zombie's row, purple
    CHECK(text.find("Z ZOMBIE") != std::string::npos);
    CHECK(text.find("has not wait()ed for it") != std::string::npos);
}

TEST_CASE("observe: the state diagram lights occupied states with their counts, same shape") {
    auto dark = observe::state_diagram({}, false);
    auto lit = observe::state_diagram({{TcpState::established, 3}, {TcpState::listen, 1}}, false);
    auto styled = observe::state_diagram({{TcpState::established, 3}}, true);
    REQUIRE(dark.size() == lit.size());
    for (const char* state : {"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECV", "ESTAB", "FIN-WAIT-1",
                              "FIN-WAIT-2", "CLOSING", "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK"}) {
        CHECK_MESSAGE(
            std::any_of(dark.begin(), dark.end(),
                        [&](const auto& line) { return line.find(state) != std::string::npos; }),
            state);
    }
    std::string all;
    for (std::size_t i = 0; i < lit.size(); ++i) {
        all += lit[i] + "\n";
        // Lit or not, a line keeps its columns: what follows a state does not move.
        CHECK(lit[i].substr(std::min(lit[i].size(), std::size_t(32))) ==
              dark[i].substr(std::min(dark[i].size(), std::size_t(32))));
    }
    CHECK(all.find("ESTAB 3") != std::string::npos);
    CHECK(all.find("LISTEN 1") != std::string::npos);
    CHECK_FALSE(std::regex_search(all, std::regex("TIME-WAIT +\\d")));  // dark: no count
    std::string colour;
    for (const auto& line : styled) colour += line;
    CHECK(colour.find("\x1b[1;7mESTAB 3\x1b[0m") != std::string::npos);
    CHECK(observe::visible_width(styled[6]) == observe::visible_width(lit[6]));
}

TEST_CASE("observe: durations read like 850ms, 3.2s, 2m05s") {
    CHECK(observe::duration_text(850ms) == "850ms");
    CHECK(observe::duration_text(3250ms) == "3.2s");
    CHECK(observe::duration_text(125s) == "2m05s");
    CHECK(observe::duration_text(3720s) == "1h02m");
}

// --- labcheck observe, run as a student runs it -------------------------------------

namespace {

using TestServer = labcheck::testing::HandStartedServer;

// Connects and gets "hello" back swapped: once it has, a child serves the connection.
Connection echoed_client(std::uint16_t port) {
    auto connection = Connection::open("127.0.0.1", port, Deadline::after(2s));
    connection.send_all("hello", Deadline::after(2s));
    REQUIRE(connection.receive(5, Deadline::after(2s)).data == "HELLO");
    return connection;
}

// `labcheck observe ARGS --once --format json`: its exit status and its JSON.
nlohmann::json observe_once(std::vector<std::string> arguments,
                            const std::map<std::string, std::string>& environment = {}) {
    arguments.insert(arguments.end(), {"--once", "--format", "json"});
    LabcheckProcess labcheck(arguments, environment);
    auto status = labcheck.wait_exit(Deadline::after(10s));
    INFO(labcheck.output());
    REQUIRE(status.has_value());
    REQUIRE(WIFEXITED(*status));
    REQUIRE(WEXITSTATUS(*status) == 0);
    return nlohmann::json::parse(labcheck.output());
}

std::string port_suffix(std::uint16_t port) {
    return ":" + std::to_string(port);
}

// The kit's own build folder, where lab 04's solution was built (SOLUTION_04_SERVER is
// BUILD/solutions/04-reaping-zombies/server).
const std::map<std::string, std::string> kit_environment{
    {"LABCHECK_KIT", KIT_DIR},
    {"LABCHECK_BUILD", fs::path(SOLUTION_04_SERVER).parent_path().parent_path().parent_path()}};

// Gone from /proc: ended and reaped (by us, should it have been handed to us).
bool gone(pid_t pid) {
    return poll_until(Deadline::after(2s), [pid] {
        waitpid(pid, nullptr, WNOHANG);
        return !procfs::read_process(pid);
    });
}

}  // namespace

TEST_CASE("observe: an attached server shows each client's child and socket, and its LISTEN") {
    TestServer server(SOLUTION_04_SERVER);
    std::vector<Connection> clients;
    for (int i = 0; i < 3; ++i) clients.push_back(echoed_client(server.port()));

    auto json = observe_once({"observe", "--attach", "127.0.0.1" + port_suffix(server.port())});
    INFO(json.dump(2));
    CHECK(json["port"] == server.port());
    auto listens = std::count_if(json["sockets"].begin(), json["sockets"].end(), [&](auto& row) {
        return row["state"] == "LISTEN" && row["holders"] == nlohmann::json::array({server.pid()});
    });
    CHECK(listens >= 1);
    CHECK(json["states"]["ESTAB"] == 3);
    for (const auto& client : clients) {
        std::string peer = "127.0.0.1" + port_suffix(client.local_port());
        auto row = std::find_if(json["sockets"].begin(), json["sockets"].end(),
                                [&](auto& socket) { return socket["remote"] == peer; });
        REQUIRE_MESSAGE(row != json["sockets"].end(), peer);
        CHECK((*row)["state"] == "ESTAB");
        // Held by a child of the server that names this client.
        bool served = false;
        for (const auto& process : json["processes"])
            for (const auto& holder : (*row)["holders"])
                served |= process["pid"] == holder && process["ppid"] == server.pid() &&
                          process["role"] == "child" &&
                          process["clients"] == nlohmann::json::array({peer});
        CHECK_MESSAGE(served, peer);
    }
    CHECK(json["counters"]["active"] == 3);
    CHECK(json["counters"]["zombies"] == 0);
}

TEST_CASE("observe: a server that never reaps shows the zombie its client left") {
    TestServer server(NO_REAPING_SERVER);
    {
        auto client = echoed_client(server.port());
        client.shutdown_write();
        CHECK(client.receive_until_eof(64, Deadline::after(2s)).end == Received::End::eof);
    }
    REQUIRE(poll_until(Deadline::after(2s), [&] {
        for (pid_t child : procfs::children_of(server.pid()))
            if (auto info = procfs::read_process(child); info && info->is_zombie()) return true;
        return false;
    }));
    auto json = observe_once({"observe", "--attach", "127.0.0.1" + port_suffix(server.port())});
    INFO(json.dump(2));
    CHECK(json["counters"]["zombies"] >= 1);
    bool zombie = false;
    for (const auto& process : json["processes"])
        zombie |=
            process["zombie"] == true && process["state"] == "Z" && process["ppid"] == server.pid();
    CHECK(zombie);
}

TEST_CASE("observe: a server that does not exist is one clear line and exit status 2") {
    LabcheckProcess labcheck({"observe", "--server", "/nonexistent", "--once"}, {});
    auto status = labcheck.wait_exit(Deadline::after(10s));
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 2);
    CHECK(labcheck.output() ==
          "labcheck: the server /nonexistent does not exist: build it first, or check the "
          "path\n");
}

TEST_CASE("observe: lab 04's solution, launched for one look, lists its LISTEN and is gone") {
    auto json = observe_once({"observe", "04", "--solution"}, kit_environment);
    INFO(json.dump(2));
    REQUIRE(json["sockets"].size() >= 1);
    CHECK(json["sockets"][0]["state"] == "LISTEN");
    REQUIRE(json["sockets"][0]["holders"].size() == 1);
    pid_t server = json["sockets"][0]["holders"][0];
    CHECK(json["processes"][0]["pid"] == server);
    CHECK(gone(server));
}

// --- the live view, on a pseudo-terminal --------------------------------------------

namespace {

// labcheck on a terminal of its own: a pseudo-terminal whose other side the test reads
// (every frame) and types into. The test keeps the terminal open too, to see its
// settings after labcheck has gone.
class TerminalLabcheck {
  public:
    explicit TerminalLabcheck(const std::vector<std::string>& arguments) {
        master_ = UniqueFd(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
        REQUIRE(master_);
        REQUIRE(grantpt(master_.get()) == 0);
        REQUIRE(unlockpt(master_.get()) == 0);
        std::string terminal_name = ptsname(master_.get());
        terminal_ = UniqueFd(::open(terminal_name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
        REQUIRE(terminal_);
        winsize size{};
        size.ws_row = 60;
        size.ws_col = 140;
        REQUIRE(ioctl(terminal_.get(), TIOCSWINSZ, &size) == 0);
        REQUIRE(tcgetattr(terminal_.get(), &before_) == 0);

        std::vector<std::string> storage{LABCHECK_BINARY};
        storage.insert(storage.end(), arguments.begin(), arguments.end());
        std::vector<char*> argv = pointers(storage);
        std::vector<std::string> variables;
        for (char** entry = environ; *entry; ++entry) {
            std::string variable = *entry;
            std::string name = variable.substr(0, variable.find('='));
            if (!kit_environment.contains(name) && name != "NO_COLOR")
                variables.push_back(variable);
        }
        for (const auto& [name, value] : kit_environment) variables.push_back(name + "=" + value);
        std::vector<char*> envp = pointers(variables);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            // A session of its own, this terminal its controlling one: Ctrl-C typed
            // there is a SIGINT to labcheck, as at a student's keyboard.
            setsid();
            int fd = ::open(terminal_name.c_str(), O_RDWR);
            if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(127);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, nullptr);
            execve(argv[0], argv.data(), envp.data());
            _exit(127);
        }
    }
    TerminalLabcheck(const TerminalLabcheck&) = delete;
    TerminalLabcheck& operator=(const TerminalLabcheck&) = delete;
    ~TerminalLabcheck() {
        if (status_) return;
        ::kill(pid_, SIGINT);  // which stops its server too
        if (!wait_exit(Deadline::after(5s))) {
            ::kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

    pid_t pid() const { return pid_; }
    const std::string& output() const { return output_; }
    const termios& settings_before() const { return before_; }
    termios settings_now() const {
        termios now{};
        tcgetattr(terminal_.get(), &now);
        return now;
    }
    void type(std::string_view keys) {
        REQUIRE(::write(master_.get(), keys.data(), keys.size()) ==
                static_cast<ssize_t>(keys.size()));
    }
    // Reads the screen until `text` has appeared `times` times (frames redraw it).
    bool wait_for(const std::string& text, int times, const Deadline& deadline) {
        auto count = [&] {
            int found = 0;
            for (auto at = output_.find(text); at != std::string::npos;
                 at = output_.find(text, at + 1))
                ++found;
            return found;
        };
        while (count() < times)
            if (!read_some(deadline)) return false;
        return true;
    }
    // Keeps reading (labcheck must never block on a full terminal) until it exits.
    std::optional<int> wait_exit(const Deadline& deadline) {
        while (!status_) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                status_ = status;
                while (read_some(Deadline::after(0ms))) {
                }
                break;
            }
            if (deadline.expired()) break;
            read_some(Deadline::after(5ms));
        }
        return status_;
    }

    // Waits for labcheck to exit while the screen goes unread.
    std::optional<int> wait_exit_unread(const Deadline& deadline) {
        poll_until(deadline, [&] {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
            return status_.has_value();
        });
        return status_;
    }

  private:
    static std::vector<char*> pointers(std::vector<std::string>& strings) {
        std::vector<char*> result;
        for (auto& text : strings) result.push_back(text.data());
        result.push_back(nullptr);
        return result;
    }

    bool read_some(const Deadline& deadline) {
        pollfd entry{master_.get(), POLLIN, 0};
        if (::poll(&entry, 1, deadline.poll_timeout()) <= 0) return false;
        char buffer[8192];
        ssize_t got = ::read(master_.get(), buffer, sizeof buffer);
        if (got <= 0) return false;
        output_.append(buffer, static_cast<std::size_t>(got));
        return true;
    }

    UniqueFd master_;
    UniqueFd terminal_;
    termios before_{};
    pid_t pid_ = -1;
    std::string output_;
    std::optional<int> status_;
};

constexpr std::string_view kEnterScreen = "\x1b[?1049h";
constexpr std::string_view kGiveBack = "\x1b[?25h\x1b[?1049l";  // cursor shown, main screen

// Runs lab 04's solution live on a terminal until two frames are drawn, types `keys`,
// and checks that labcheck gives the terminal back and leaves nothing running.
int live_run_ended_by(std::string_view keys) {
    TerminalLabcheck labcheck({"observe", "04", "--solution", "--interval", "50"});
    INFO(labcheck.output());
    REQUIRE(labcheck.wait_for("SOCKETS on port", 2, Deadline::after(5s)));
    CHECK(labcheck.output().starts_with(kEnterScreen));
    CHECK(labcheck.output().find("LISTEN 1") != std::string::npos);  // lit in the diagram
    std::vector<pid_t> started = procfs::descendant_pids(labcheck.pid());
    REQUIRE_FALSE(started.empty());
    termios raw = labcheck.settings_now();
    CHECK((raw.c_lflag & ICANON) == 0);
    CHECK((raw.c_lflag & ISIG) != 0);  // Ctrl-C still interrupts

    labcheck.type(keys);
    auto status = labcheck.wait_exit(Deadline::after(5s));
    REQUIRE(status.has_value());
    REQUIRE(WIFEXITED(*status));
    // The last thing on the screen gives it back; the settings are as they were.
    auto last_frame = labcheck.output().rfind("SOCKETS on port");
    auto given_back = labcheck.output().rfind(kGiveBack);
    CHECK(given_back != std::string::npos);
    CHECK(given_back > last_frame);
    termios after = labcheck.settings_now();
    CHECK(after.c_lflag == labcheck.settings_before().c_lflag);
    CHECK(after.c_cc[VSUSP] == labcheck.settings_before().c_cc[VSUSP]);
    for (pid_t pid : started) CHECK_MESSAGE(gone(pid), pid);
    return WEXITSTATUS(*status);
}

}  // namespace

TEST_CASE("observe: live on a terminal, q gives the terminal back, stops the server, exits 0") {
    CHECK(live_run_ended_by("q") == 0);
}

TEST_CASE("observe: live on a terminal, Ctrl-C gives the terminal back too, and exits 130") {
    CHECK(live_run_ended_by("\x03") == 128 + SIGINT);
}

TEST_CASE("observe: Ctrl-C stops everything even when nobody reads the terminal any more") {
    TerminalLabcheck labcheck({"observe", "04", "--solution", "--interval", "20"});
    REQUIRE(labcheck.wait_for("SOCKETS on port", 1, Deadline::after(5s)));
    std::vector<pid_t> started = procfs::descendant_pids(labcheck.pid());
    REQUIRE_FALSE(started.empty());
    // Frames pile up unread until the terminal takes no more: labcheck blocks drawing.
    REQUIRE(poll_until(Deadline::after(10s), [&] {
        auto call = procfs::read_syscall(labcheck.pid());
        return call && !call->running && call->number == SYS_write;
    }));
    REQUIRE(kill(labcheck.pid(), SIGINT) == 0);
    auto status = labcheck.wait_exit_unread(Deadline::after(5s));
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 128 + SIGINT);
    CHECK((labcheck.settings_now().c_lflag & ICANON) != 0);  // the settings are back
    for (pid_t pid : started) CHECK_MESSAGE(gone(pid), pid);
}
