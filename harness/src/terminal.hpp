#pragma once
// Whether labcheck's stdout is a person at a terminal: colour and screen clearing
// are for them, never for a pipe, a file or a CI log.

#include <string>

namespace labcheck {

bool stdout_is_terminal();

// --color: "always", "never", or "auto" (a terminal, and NO_COLOR unset: no-color.org).
bool use_colour(const std::string& choice);

}  // namespace labcheck
