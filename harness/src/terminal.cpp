#include "terminal.hpp"

#include <unistd.h>

#include <cstdlib>

namespace labcheck {

bool stdout_is_terminal() {
    return isatty(STDOUT_FILENO) == 1;
}

bool use_colour(const std::string& choice) {
    if (choice == "always") return true;
    if (choice == "never") return false;
    return stdout_is_terminal() && !std::getenv("NO_COLOR");
}

}  // namespace labcheck
