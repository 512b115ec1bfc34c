#pragma once
// A label as Graphviz and mscgen both read a quoted string: in double quotes, with
// a backslash before each quote and backslash, and each line break written \n.

#include <string>
#include <string_view>

namespace labcheck {

inline std::string quoted_label(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

}  // namespace labcheck
