#include "observe/text_view.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "observe/state_diagram.hpp"

namespace labcheck::observe {
namespace {

using procfs::TcpState;

constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kZombie = "\x1b[1;35m";  // purple: zombies, as in the diagrams
constexpr std::string_view kReset = "\x1b[0m";

std::string styled(bool colour, std::string_view style, const std::string& text) {
    return colour ? fmt::format("{}{}{}", style, text, kReset) : text;
}

// ps's letters, spelt out for who has not learnt them yet.
std::string state_text(char state) {
    static const std::map<char, std::string_view> names{
        {'R', "running"}, {'S', "sleeping"}, {'D', "disk wait"}, {'Z', "ZOMBIE"},
        {'T', "stopped"}, {'t', "traced"},   {'X', "dead"},      {'I', "idle"}};
    auto name = names.find(state);
    return name == names.end() ? std::string(1, state) : fmt::format("{} {}", state, name->second);
}

std::string joined(const std::vector<std::string>& items) {
    return fmt::format("{}", fmt::join(items, ", "));
}

void add_processes(const Frame& frame, bool colour, std::vector<std::string>& out) {
    out.push_back(styled(colour, kBold, "PROCESSES, the server's tree (like ps --forest)"));
    if (frame.processes.empty()) {
        out.push_back("  none of yours: is the server running, and under your user?");
        return;
    }
    out.push_back("  PID          STATE          AGE  ROLE      SERVES");
    for (const auto& row : frame.processes) {
        // Children under their parent, as ps --forest draws them.
        std::string pid = std::to_string(row.pid);
        if (row.depth > 0)
            pid = std::string(static_cast<std::size_t>(row.depth - 1) * 3, ' ') + "`- " + pid;
        std::string serves =
            row.zombie ? "exited; its parent has not wait()ed for it yet" : joined(row.clients);
        std::string line =
            fmt::format("  {:<12} {:<11} {:>6}  {:<9} {}", pid, state_text(row.state),
                        duration_text(row.age), row.role, serves);
        line.erase(line.find_last_not_of(' ') + 1);
        out.push_back(row.zombie ? styled(colour, kZombie, line) : line);
    }
}

// Who holds the socket: its processes, else why none does.
std::string holders_text(const SocketRow& row) {
    if (!row.holders.empty()) return fmt::format("{}", fmt::join(row.holders, ","));
    if (row.time_left) return fmt::format("kernel, {} left", duration_text(*row.time_left));
    if (row.inode != 0) return "(not ours to see)";
    bool queued = row.state == TcpState::established || row.state == TcpState::close_wait ||
                  row.state == TcpState::syn_recv || row.state == TcpState::new_syn_recv;
    return queued ? "kernel: in the accept queue" : "kernel: closing";
}

void add_sockets(const Frame& frame, bool colour, std::vector<std::string>& out) {
    out.push_back(
        styled(colour, kBold,
               fmt::format("SOCKETS on port {}, the server's side (like ss -tanp)", frame.port)));
    if (frame.sockets.empty()) {
        out.push_back("  none: nothing listens on the port");
        return;
    }
    std::size_t local = 5, remote = 4;
    for (const auto& row : frame.sockets) {
        local = std::max(local, row.local.size());
        remote = std::max(remote, row.remote.size());
    }
    out.push_back(fmt::format("  {:<11} {:<{}}  {:<{}}  RECV-Q SEND-Q  HELD BY", "STATE", "LOCAL",
                              local, "PEER", remote));
    for (std::size_t i = 0; i < frame.sockets.size(); ++i) {
        const auto& row = frame.sockets[i];
        bool first_of_state = i == 0 || frame.sockets[i - 1].state != row.state;
        std::string state = first_of_state ? std::string(procfs::to_string(row.state)) : "";
        out.push_back(fmt::format("  {:<11} {:<{}}  {:<{}}  {:>6} {:>6}  {}", state, row.local,
                                  local, row.remote, remote, row.recv_q, row.send_q,
                                  holders_text(row)));
    }
}

}  // namespace

std::string duration_text(Millis duration) {
    auto ms = std::max<long long>(duration.count(), 0);
    if (ms < 1000) return fmt::format("{}ms", ms);
    if (ms < 60'000) return fmt::format("{}.{}s", ms / 1000, ms % 1000 / 100);
    if (ms < 3'600'000) return fmt::format("{}m{:02}s", ms / 60'000, ms % 60'000 / 1000);
    return fmt::format("{}h{:02}m", ms / 3'600'000, ms % 3'600'000 / 60'000);
}

std::size_t visible_width(std::string_view line) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\x1b') {
            i = std::min(line.find_first_of("mHJK", i), line.size());  // to the sequence's end
            continue;
        }
        ++width;
    }
    return width;
}

std::string cut_to_width(std::string_view line, std::size_t width) {
    std::string cut;
    std::size_t shown = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\x1b') {
            auto end = std::min(line.find_first_of("mHJK", i), line.size() - 1);
            cut += line.substr(i, end - i + 1);
            i = end;
        } else if (shown < width) {
            cut += line[i];
            ++shown;
        } else {
            return line.find('\x1b') == std::string_view::npos ? cut : cut + std::string(kReset);
        }
    }
    return cut;
}

std::vector<std::string> text_frame(const Frame& frame, bool colour, int width) {
    const Counters& c = frame.counters;
    std::string zombies = fmt::format("{} zombies", c.zombies);
    std::vector<std::string> states;  // in the sockets' order: LISTEN first
    for (const auto& row : frame.sockets) {
        auto name = fmt::format("{} {}", procfs::to_string(row.state), frame.states.at(row.state));
        if (states.empty() || states.back() != name) states.push_back(name);
    }
    std::vector<std::string> lines{
        fmt::format("labcheck observe, watched for {}: {}{}", duration_text(frame.observed),
                    styled(colour, kBold, frame.server),
                    frame.server.find(std::to_string(frame.port)) == std::string::npos
                        ? fmt::format(" on port {}", frame.port)
                        : ""),
        fmt::format("connections: {} accepted, {} open   children: {} exited, {} reaped, {}",
                    c.accepted, c.active, c.exited, c.reaped,
                    c.zombies > 0 ? styled(colour, kZombie, zombies) : zombies),
        fmt::format("sockets by state: {}", states.empty() ? "none" : joined(states)), ""};
    std::vector<std::string> tables;
    add_processes(frame, colour, tables);
    tables.push_back("");
    add_sockets(frame, colour, tables);

    std::vector<std::string> diagram{
        styled(colour, kBold, "TCP STATES, lit where the sockets are now")};
    for (auto& line : state_diagram(frame.states, colour)) diagram.push_back("  " + line);

    std::size_t left = 0, right = 0;
    for (const auto& line : tables) left = std::max(left, visible_width(line));
    for (const auto& line : diagram) right = std::max(right, visible_width(line));
    constexpr std::size_t gap = 4;
    if (width > 0 && left + gap + right <= static_cast<std::size_t>(width)) {
        for (std::size_t i = 0; i < std::max(tables.size(), diagram.size()); ++i) {
            std::string line = i < tables.size() ? tables[i] : "";
            if (i < diagram.size())
                line += std::string(left + gap - visible_width(line), ' ') + diagram[i];
            lines.push_back(std::move(line));
        }
    } else {
        lines.insert(lines.end(), tables.begin(), tables.end());
        lines.push_back("");
        lines.insert(lines.end(), diagram.begin(), diagram.end());
    }
    return lines;
}

}  // namespace labcheck::observe
