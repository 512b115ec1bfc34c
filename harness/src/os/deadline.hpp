#pragma once
// Every wait in the harness is bounded: a Deadline says until when, poll_until
// re-tests a condition (a socket, a /proc entry) until it holds or time is up.

#include <algorithm>
#include <chrono>
#include <thread>

namespace labcheck {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

class Deadline {
  public:
    static Deadline after(Millis budget) { return Deadline(Clock::now() + budget); }
    explicit Deadline(Clock::time_point at) : at_(at) {}

    bool expired() const { return Clock::now() >= at_; }
    // Rounded up, so a wait for the remaining time never spins through the last millisecond.
    Millis remaining() const {
        return std::max(Millis(0), std::chrono::ceil<Millis>(at_ - Clock::now()));
    }
    // For poll(2): whole milliseconds left, rounded up so we never spin at 0.
    int poll_timeout() const {
        auto left = at_ - Clock::now();
        if (left <= Clock::duration::zero()) return 0;
        return static_cast<int>(std::chrono::ceil<Millis>(left).count());
    }
    // The earlier of two deadlines: a step's own limit inside the whole run's ceiling.
    Deadline capped_by(const Deadline& other) const { return Deadline(std::min(at_, other.at_)); }
    Clock::time_point at() const { return at_; }

  private:
    Clock::time_point at_;
};

namespace detail {
// Re-tests `condition` until it holds (true) or the deadline passes (false), sleeping
// gap(time waited so far) between two tests.
template <typename Condition, typename Gap>
bool poll_with_gaps(const Deadline& deadline, Condition condition, Gap gap) {
    const auto start = Clock::now();
    for (;;) {
        if (condition()) return true;
        if (deadline.expired()) return false;
        const auto waited = std::chrono::duration_cast<Millis>(Clock::now() - start);
        std::this_thread::sleep_for(std::min(gap(waited), deadline.remaining()));
    }
}
}  // namespace detail

// Re-tests `condition` every `interval` until it returns true (then true) or the
// deadline passes (then false). The interval is the sampling rate of a state we
// cannot be notified about (/proc), never a guess at how long something takes.
template <typename Condition>
bool poll_until(const Deadline& deadline, Condition condition, Millis interval = Millis(2)) {
    return detail::poll_with_gaps(deadline, condition, [&](Millis) { return interval; });
}

// For a state the server settles into and then stays in (its children reaped, a socket
// gone from CLOSE-WAIT, a LISTEN socket open): re-tests often at first, then less and
// less often, each gap a tenth of the time waited so far (at least 2 ms, at most 50 ms).
// A state reached after t is seen by about 1.1 t, and a broken server that never gets
// there costs some seventy looks at /proc in 2 s instead of a thousand.
template <typename Condition>
bool poll_patiently(const Deadline& deadline, Condition condition) {
    return detail::poll_with_gaps(deadline, condition, [](Millis waited) {
        return std::clamp(waited / 10, Millis(2), Millis(50));
    });
}

}  // namespace labcheck
