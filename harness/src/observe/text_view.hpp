#pragma once
// A Frame as a person reads it: who is running (the process tree, zombies marked, the
// client each process serves), the server's sockets grouped by TCP state as `ss -tan`
// lists them, the counters, and the state diagram with its occupied states lit. The same
// text for --once and for each frame of the live view; colour only when asked.

#include <string>
#include <string_view>
#include <vector>

#include "observe/observation.hpp"

namespace labcheck::observe {

// "850ms", "3.2s", "2m05s", "1h02m".
std::string duration_text(Millis duration);

// The frame's lines, at most about `width` columns wide: the state diagram goes to the
// right of the tables when there is room, else below them.
std::vector<std::string> text_frame(const Frame& frame, bool colour, int width);

// Columns a line takes on the screen: its characters, less ANSI escape sequences.
std::size_t visible_width(std::string_view line);
// The line cut to `width` columns, escape sequences kept whole (and the style reset
// after a cut), so a narrow terminal does not wrap the frame.
std::string cut_to_width(std::string_view line, std::size_t width);

}  // namespace labcheck::observe
