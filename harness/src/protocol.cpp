#include "protocol.hpp"

namespace labcheck {

std::string_view to_string(Protocol protocol) {
    switch (protocol) {
        case Protocol::plain:
            return "plain";
        case Protocol::swapcase:
            return "swapcase";
    }
    return "unknown";
}

std::optional<Protocol> parse_protocol(std::string_view name) {
    if (name == "plain") return Protocol::plain;
    if (name == "swapcase") return Protocol::swapcase;
    return std::nullopt;
}

std::string expected_reply(Protocol protocol, std::string_view input) {
    std::string reply(input);
    if (protocol == Protocol::swapcase) {
        for (char& c : reply) {
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) c = static_cast<char>(c ^ 0x20);
        }
    }
    return reply;
}

}  // namespace labcheck
