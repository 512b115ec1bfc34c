#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace labcheck::bench {
namespace {

// Values below 2^kSubBits get a bucket each; above, every power of two is split into
// 2^kSubBits buckets of equal width.
constexpr int kSubBits = 7;
constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits;
constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSub;

std::size_t bucket_of(std::uint64_t value) {
    if (value < kSub) return static_cast<std::size_t>(value);
    const int exponent = static_cast<int>(std::bit_width(value)) - 1;  // >= kSubBits
    const int shift = exponent - kSubBits;
    const std::uint64_t mantissa = value >> shift;  // in [kSub, 2 kSub)
    return static_cast<std::size_t>(static_cast<std::uint64_t>(shift + 1) * kSub + mantissa - kSub);
}

// The smallest value in the bucket, and its width.
std::uint64_t bucket_start(std::size_t bucket) {
    if (bucket < kSub) return bucket;
    const std::uint64_t shift = bucket / kSub - 1;
    const std::uint64_t mantissa = bucket % kSub + kSub;
    return mantissa << shift;
}

std::uint64_t bucket_width(std::size_t bucket) {
    if (bucket < kSub) return 1;
    return std::uint64_t{1} << (bucket / kSub - 1);
}

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

void LatencyHistogram::record(std::chrono::nanoseconds latency) {
    const auto value = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
    ++counts_[bucket_of(value)];
    ++count_;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

std::chrono::nanoseconds LatencyHistogram::percentile(double p) const {
    if (count_ == 0) return std::chrono::nanoseconds(0);
    const double wanted =
        std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
    std::uint64_t seen = 0;
    for (std::size_t bucket = 0; bucket < kBuckets; ++bucket) {
        seen += counts_[bucket];
        if (seen >= rank) {
            // The middle of the bucket, within what was actually recorded.
            const std::uint64_t middle = bucket_start(bucket) + bucket_width(bucket) / 2;
            return std::chrono::nanoseconds(
                static_cast<std::int64_t>(std::clamp(middle, min_, max_)));
        }
    }
    return max();
}

}  // namespace labcheck::bench
