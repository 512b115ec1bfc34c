#pragma once
// Checks one connection's reply as it arrives, byte for byte, against what the
// pattern says must come back for what was sent. Holds no buffer: each chunk is
// compared where it lands in the reply and then forgotten.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bench/payload_pattern.hpp"

namespace labcheck::bench {

class ReplyVerifier {
  public:
    // A new reply is due: `length` bytes, answering the bytes sent from the pattern's
    // `pattern_offset` on.
    void expect(std::uint64_t pattern_offset, std::uint64_t length) {
        pattern_offset_ = pattern_offset;
        length_ = length;
        received_ = 0;
    }

    // The next bytes of the reply. nullopt when every one is right; else what is wrong,
    // in one line: the first wrong byte with its offset in the reply, what was sent there,
    // what should have come back and what did; or bytes beyond the reply's end. The
    // bytes before the first wrong one count as received.
    std::optional<std::string> accept(const PayloadPattern& pattern, std::string_view bytes);

    // When the server closed before the whole reply came.
    std::string closed_early() const;

    std::uint64_t received() const { return received_; }
    std::uint64_t length() const { return length_; }
    bool complete() const { return received_ == length_; }

  private:
    std::string wrong_byte(const PayloadPattern& pattern, std::string_view chunk,
                           std::size_t index) const;

    std::uint64_t pattern_offset_ = 0;
    std::uint64_t length_ = 0;
    std::uint64_t received_ = 0;
};

}  // namespace labcheck::bench
