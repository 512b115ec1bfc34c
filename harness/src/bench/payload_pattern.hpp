#pragma once
// What the load generator sends, and what must come back: one fixed period of
// pseudo-random bytes (every value 0-255, letters among them), repeated without end,
// and its transform under the protocol. Both are computed once per run, so sending a
// window is one send() and verifying it is one memcmp: verifying every byte costs
// the generator almost nothing.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol.hpp"

namespace labcheck::bench {

class PayloadPattern {
  public:
    // A prime, so no buffer size a server might use (4096, 16 KiB, ...) divides it: a
    // server that repeats or skips a buffer's worth of bytes sends different bytes.
    static constexpr std::size_t kPeriod = 65521;
    // The longest window sent or verified at once; any window up to this long is
    // contiguous in memory (the buffers hold the period and then its repetition).
    static constexpr std::size_t kWindow = 256 * 1024;

    explicit PayloadPattern(Protocol protocol);

    Protocol protocol() const { return protocol_; }
    // Bytes [offset, offset + length) of the endless stream sent, and of what must come
    // back for it. length <= kWindow.
    std::string_view sent(std::uint64_t offset, std::size_t length) const;
    std::string_view expected(std::uint64_t offset, std::size_t length) const;

  private:
    Protocol protocol_;
    std::vector<char> sent_;
    std::vector<char> expected_;
};

}  // namespace labcheck::bench
