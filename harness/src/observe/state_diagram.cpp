#include "observe/state_diagram.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace labcheck::observe {
namespace {

using procfs::TcpState;

// Each state is written NAME followed by "~~~~", the room its count takes when lit, so
// lit or not, every line keeps its shape. The CLOSED ends of the paths carry no count:
// a socket there is gone.
constexpr const char* kDrawing[] = {
    "                  CLOSED~~~~",
    "       listen() /        \\ connect()",
    "         LISTEN~~~~       SYN-SENT~~~~",
    "  got SYN  |                 |",
    "         SYN-RECV~~~~        | got SYN+ACK",
    "         got ACK \\          /",
    "                    ESTAB~~~~",
    "          close() /        \\ got FIN",
    "      FIN-WAIT-1~~~~        CLOSE-WAIT~~~~",
    "got ACK |        \\ got FIN       | close()",
    "    FIN-WAIT-2~~~~ CLOSING~~~~ LAST-ACK~~~~",
    "  got FIN \\         / got ACK    | got ACK",
    "           TIME-WAIT~~~~         CLOSED",
    "               | 2 MSL: 60 s on Linux",
    "            CLOSED",
};

TcpState state_named(std::string_view name) {
    if (name == "CLOSED") return TcpState::close;
    for (int state = static_cast<int>(TcpState::established);
         state <= static_cast<int>(TcpState::new_syn_recv); ++state)
        if (procfs::to_string(static_cast<TcpState>(state)) == name)
            return static_cast<TcpState>(state);
    return TcpState::close;
}

}  // namespace

std::vector<std::string> state_diagram(const std::map<TcpState, std::size_t>& occupied,
                                       bool colour) {
    std::vector<std::string> lines;
    for (std::string_view drawing : kDrawing) {
        std::string line;
        for (auto slot = drawing.find("~~~~"); slot != std::string_view::npos;
             slot = drawing.find("~~~~")) {
            auto start = drawing.find_last_of(' ', slot) + 1;
            std::string_view name = drawing.substr(start, slot - start);
            line += drawing.substr(0, start);
            TcpState state = state_named(name);
            // The kernel's half-open connections (NEW-SYN-RECV) are SYN-RECV in the RFC.
            std::size_t count = occupied.contains(state) ? occupied.at(state) : 0;
            if (state == TcpState::syn_recv && occupied.contains(TcpState::new_syn_recv))
                count += occupied.at(TcpState::new_syn_recv);
            if (count == 0) {
                line += fmt::format("{}    ", name);
            } else {
                std::string lit = fmt::format("{} {}", name, count);
                line += colour ? fmt::format("\x1b[1;7m{}\x1b[0m", lit) : lit;
                line.append(lit.size() < name.size() + 4 ? name.size() + 4 - lit.size() : 0, ' ');
            }
            drawing.remove_prefix(slot + 4);
        }
        line += drawing;
        line.erase(line.find_last_not_of(' ') + 1);
        lines.push_back(std::move(line));
    }
    return lines;
}

}  // namespace labcheck::observe
