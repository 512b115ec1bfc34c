#pragma once
// The two echo protocols of the server contract.

#include <optional>
#include <string>
#include <string_view>

namespace labcheck {

enum class Protocol { plain, swapcase };

std::string_view to_string(Protocol protocol);
std::optional<Protocol> parse_protocol(std::string_view name);

// What the server must send back for `input`: unchanged (plain), or with the
// ASCII letters A-Z a-z flipped by XOR 0x20 and every other byte unchanged.
std::string expected_reply(Protocol protocol, std::string_view input);

}  // namespace labcheck
