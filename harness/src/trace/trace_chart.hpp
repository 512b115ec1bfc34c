#pragma once
// A Trace drawn as an mscgen sequence chart: the checks' client, the server's
// first process and its children as three columns, time running down. Colours are
// named as diagrams/look.toml names them (@client@, @zombie_fill@, ...), so the
// chart takes the concept diagrams' look when diagrams/render.sh renders it.

#include <string>

#include "trace/trace.hpp"

namespace labcheck {

// `title` heads the chart: which lab, which server.
std::string trace_chart(const Trace& trace, const std::string& title);

}  // namespace labcheck
