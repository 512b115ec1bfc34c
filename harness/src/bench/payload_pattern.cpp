#include "payload_pattern.hpp"

#include <cassert>

namespace labcheck::bench {

PayloadPattern::PayloadPattern(Protocol protocol)
    : protocol_(protocol), sent_(kPeriod + kWindow), expected_(kPeriod + kWindow) {
    // xorshift64 with a fixed seed: the same bytes every run, so a failure reproduces.
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (std::size_t i = 0; i < kPeriod; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        sent_[i] = static_cast<char>(state >> 56);
    }
    for (std::size_t i = kPeriod; i < sent_.size(); ++i) sent_[i] = sent_[i - kPeriod];
    const std::string reply =
        expected_reply(protocol, std::string_view(sent_.data(), sent_.size()));
    expected_.assign(reply.begin(), reply.end());
}

std::string_view PayloadPattern::sent(std::uint64_t offset, std::size_t length) const {
    assert(length <= kWindow);
    return {sent_.data() + offset % kPeriod, length};
}

std::string_view PayloadPattern::expected(std::uint64_t offset, std::size_t length) const {
    assert(length <= kWindow);
    return {expected_.data() + offset % kPeriod, length};
}

}  // namespace labcheck::bench
