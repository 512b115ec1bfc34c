#pragma once
// A Trace drawn as Graphviz process trees, one per check: the server's first
// process, each process it forked, which connections each served and how each
// ended (reaped at once, reaped after some time as a zombie, still a zombie).
// The chart (trace_chart.hpp) shows when; the tree shows who. Colours are named as
// diagrams/look.toml names them, for diagrams/render.sh.

#include <string>

#include "trace/trace.hpp"

namespace labcheck {

std::string trace_tree(const Trace& trace, const std::string& title);

}  // namespace labcheck
