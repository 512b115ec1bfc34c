#include "reply_verifier.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "byte_diff.hpp"

namespace labcheck::bench {
namespace {

// How much of the bytes around a wrong one a message shows.
constexpr std::uint64_t kBefore = 8;
constexpr std::uint64_t kAfter = 16;

std::string describe_byte(char c) {
    auto byte = static_cast<unsigned char>(c);
    return fmt::format("0x{:02x} \"{}\"", byte, escape_bytes(std::string_view(&c, 1)));
}

}  // namespace

std::optional<std::string> ReplyVerifier::accept(const PayloadPattern& pattern,
                                                 std::string_view bytes) {
    const std::uint64_t room = length_ - received_;
    const std::string_view due =
        bytes.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(room, bytes.size())));
    // Window by window, so each comparison is one contiguous memcmp.
    for (std::size_t done = 0; done < due.size();) {
        const std::size_t n = std::min(due.size() - done, PayloadPattern::kWindow);
        const std::string_view expected = pattern.expected(pattern_offset_ + received_ + done, n);
        if (std::memcmp(due.data() + done, expected.data(), n) != 0) {
            std::size_t index = done;
            while (due[index] == expected[index - done]) ++index;
            std::string message = wrong_byte(pattern, bytes, index);
            received_ += index;
            return message;
        }
        done += n;
    }
    received_ += due.size();
    if (due.size() == bytes.size()) return std::nullopt;
    return fmt::format("the reply is longer than the {} bytes sent: {} more arrived, starting {}",
                       length_, bytes.size() - due.size(),
                       quote_bytes(bytes.substr(due.size()), kAfter));
}

std::string ReplyVerifier::wrong_byte(const PayloadPattern& pattern, std::string_view chunk,
                                      std::size_t index) const {
    // Offsets in the reply: the chunk starts at received_.
    const std::uint64_t at = received_ + index;
    const std::uint64_t from = at - std::min<std::uint64_t>(index, kBefore);
    const std::uint64_t to = std::min({at + kAfter, length_, received_ + chunk.size()});
    const auto span = static_cast<std::size_t>(to - from);
    const std::string_view got = chunk.substr(static_cast<std::size_t>(from - received_), span);
    const std::string_view sent = pattern.sent(pattern_offset_ + from, span);
    const std::string_view expected = pattern.expected(pattern_offset_ + from, span);
    return fmt::format(
        "wrong byte at offset {} of the {}-byte reply: expected {}, got {}; bytes {}-{}: sent "
        "\"{}\", expected \"{}\", got \"{}\"",
        at, length_, describe_byte(expected[static_cast<std::size_t>(at - from)]),
        describe_byte(got[static_cast<std::size_t>(at - from)]), from, to - 1, escape_bytes(sent),
        escape_bytes(expected), escape_bytes(got));
}

std::string ReplyVerifier::closed_early() const {
    return fmt::format("the server closed the connection after {} of the {} reply bytes", received_,
                       length_);
}

}  // namespace labcheck::bench
