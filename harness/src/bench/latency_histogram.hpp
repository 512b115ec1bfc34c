#pragma once
// Latencies of a run without storing each one: a log-linear histogram (as HdrHistogram
// does) whose buckets are 1/128 of a power of two wide, so any percentile it reports is
// within 0.4% of the true value, from nanoseconds to hours, in a fixed 60 KiB. Recording
// is an increment: the generator does it for every round trip. Each generator thread
// keeps its own; they are merged at the end.

#include <chrono>
#include <cstdint>
#include <vector>

namespace labcheck::bench {

class LatencyHistogram {
  public:
    LatencyHistogram();

    void record(std::chrono::nanoseconds latency);
    void merge(const LatencyHistogram& other);

    std::uint64_t count() const { return count_; }
    // The nearest-rank percentile (0 < p <= 100): the smallest recorded latency that at
    // least p% of all are at or below, to the histogram's precision. 0 when empty.
    std::chrono::nanoseconds percentile(double p) const;
    // Exact.
    std::chrono::nanoseconds max() const { return std::chrono::nanoseconds(max_); }

  private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

}  // namespace labcheck::bench
