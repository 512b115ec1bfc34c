#include "byte_diff.hpp"

#include <algorithm>

namespace labcheck {
namespace {

// How much of the data around the first difference an explanation shows.
constexpr std::size_t kBefore = 16;
constexpr std::size_t kAfter = 24;

void append_escaped(std::string& out, unsigned char byte) {
    switch (byte) {
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        case '\\':
            out += "\\\\";
            return;
        case '"':
            out += "\\\"";
            return;
        default:
            break;
    }
    if (byte >= 0x20 && byte < 0x7f) {
        out += static_cast<char>(byte);
        return;
    }
    constexpr char digits[] = "0123456789abcdef";
    out += "\\x";
    out += digits[byte >> 4];
    out += digits[byte & 0xf];
}

std::string bytes_word(std::size_t count) {
    return std::to_string(count) + (count == 1 ? " byte" : " bytes");
}

// The bytes of `data` in [start, end), quoted, with "..." outside the quotes where cut.
std::string excerpt(std::string_view data, std::size_t start, std::size_t end) {
    end = std::min(end, data.size());
    std::string out;
    if (start > 0) out += "...";
    out += '"';
    out += escape_bytes(data.substr(start, end - start));
    out += '"';
    if (end < data.size()) out += "...";
    return out;
}

}  // namespace

std::string escape_bytes(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (char c : bytes) append_escaped(out, static_cast<unsigned char>(c));
    return out;
}

std::string quote_bytes(std::string_view bytes, std::size_t limit) {
    if (bytes.size() <= limit) return '"' + escape_bytes(bytes) + '"';
    return '"' + escape_bytes(bytes.substr(0, limit)) + "\"... (" + bytes_word(bytes.size()) + ")";
}

std::optional<std::size_t> first_difference(std::string_view expected, std::string_view actual) {
    const auto [e, a] =
        std::mismatch(expected.begin(), expected.end(), actual.begin(), actual.end());
    if (e == expected.end() && a == actual.end()) return std::nullopt;
    return static_cast<std::size_t>(e - expected.begin());
}

std::string describe_difference(std::string_view expected, std::string_view actual) {
    const std::optional<std::size_t> found = first_difference(expected, actual);
    if (!found) return "";
    const std::size_t at = *found;

    std::string out;
    if (at == actual.size()) {
        // What came is right, but it stops short.
        if (actual.empty()) {
            out = "received nothing of the " + bytes_word(expected.size()) + " expected:\n";
        } else {
            out = "received " + std::to_string(actual.size()) + " of " +
                  bytes_word(expected.size()) + "; the rest never came:\n";
        }
    } else if (at == expected.size()) {
        // All that was expected, then more.
        out = "received " + bytes_word(actual.size() - expected.size()) + " more than expected (" +
              std::to_string(actual.size()) + " instead of " + std::to_string(expected.size()) +
              "):\n";
    } else {
        out = "first difference at byte " + std::to_string(at + 1) + " of " +
              std::to_string(expected.size());
        if (actual.size() != expected.size()) {
            out += " (received " + bytes_word(actual.size()) + ")";
        }
        out += ":\n";
    }

    // About kBefore bytes before the difference and kAfter from it; near the start, more after.
    const std::size_t start = at > kBefore ? at - kBefore : 0;
    const std::size_t end = start + kBefore + kAfter;
    const std::string expected_label = "  expected ";
    const std::string received_label = "  received ";
    out += expected_label + excerpt(expected, start, end) + "\n";
    out += received_label + excerpt(actual, start, end) + "\n";

    // The bytes before the difference are the same in both, so one column fits both lines.
    const std::size_t column = received_label.size() + (start > 0 ? 3 : 0) + 1 +
                               escape_bytes(expected.substr(start, at - start)).size();
    out += std::string(column, ' ') + "^";
    return out;
}

}  // namespace labcheck
