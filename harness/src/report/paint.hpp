#pragma once
// ANSI colours for what labcheck prints on a terminal, and a painter that applies
// them only when colour is wanted (a terminal, no NO_COLOR: see terminal.hpp).

#include <string>
#include <string_view>

namespace labcheck {

inline constexpr std::string_view kReset = "\x1b[0m";
inline constexpr std::string_view kBold = "\x1b[1m";
inline constexpr std::string_view kDim = "\x1b[2m";
inline constexpr std::string_view kRed = "\x1b[31m";
inline constexpr std::string_view kGreen = "\x1b[32m";
inline constexpr std::string_view kYellow = "\x1b[33m";
inline constexpr std::string_view kBoldRed = "\x1b[1;31m";

class Painter {
  public:
    explicit Painter(bool colour) : colour_(colour) {}

    // `text` wrapped in `code` and a reset, or as is without colour.
    std::string operator()(std::string_view code, std::string_view text) const {
        if (!colour_ || code.empty() || text.empty()) return std::string(text);
        return std::string(code) + std::string(text) + std::string(kReset);
    }

  private:
    bool colour_;
};

}  // namespace labcheck
