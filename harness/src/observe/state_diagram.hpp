#pragma once
// TCP's state machine (the 11 states of RFC 793) as a small ASCII drawing, like the
// lab's diagrams/tcp-states.svg, with the states the server's sockets are in now lit
// up and counted: "ESTAB 3" in reverse video (or, without colour, by its count alone).

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "procfs/tcp_table.hpp"

namespace labcheck::observe {

std::vector<std::string> state_diagram(const std::map<procfs::TcpState, std::size_t>& occupied,
                                       bool colour);

}  // namespace labcheck::observe
