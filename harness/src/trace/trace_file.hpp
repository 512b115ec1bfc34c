#pragma once
// Where `labcheck check --trace FILE` puts the picture: FILE.svg, the chart
// rendered; FILE.msc, the chart's source; FILE.dot, the process trees' source
// (trace_tree.hpp), each with the look's colours in. All go through the kit's
// diagrams/render.sh, the one pipeline every picture of the kit takes.

#include <filesystem>
#include <string>

#include "lab_catalog.hpp"
#include "trace/trace.hpp"

namespace labcheck {

// Before any check runs: throws UsageError unless `path` ends in .svg, .msc or .dot and
// its folder exists, so a typo costs nothing.
void check_trace_path(const std::filesystem::path& path);

// Writes the chart. Throws std::runtime_error with one line saying what failed;
// when an SVG cannot be rendered, the chart's source is kept beside it (FILE.msc)
// and the message names it.
void write_trace(const Trace& trace, const std::string& title, const std::filesystem::path& path,
                 const Kit& kit);

}  // namespace labcheck
