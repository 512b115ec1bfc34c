#include "progress_line.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace labcheck::bench {
namespace {

// Shorter runs finish before a line would help.
constexpr Millis kQuietFor{1000};

constexpr char kWipe[] = "\r\033[K";

void wipe() {
    // On the signal thread: write(2) alone, no stdio lock the main thread may hold.
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, kWipe, sizeof kWipe - 1);
}

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace

ProgressLine::ProgressLine(const LoadPlan& plan)
    : plan_(plan), enabled_(::isatty(STDERR_FILENO) == 1) {
    if (enabled_) wipe_on_interrupt_.emplace(wipe);
}

ProgressLine::~ProgressLine() {
    if (shown_) std::fputs(kWipe, stderr);
}

std::string ProgressLine::text(const LoadPlan& plan, const LoadProgress& p) {
    const double s = seconds(p.elapsed);
    switch (plan.mode) {
        case Mode::conn:
            return fmt::format(
                "bench conn: {:.1f} of {:.1f} s, {} round trips ({:.0f}/s), {} errors", s,
                seconds(plan.length), p.round_trips,
                s > 0 ? static_cast<double>(p.round_trips) / s : 0.0, p.errors);
        case Mode::stream:
            return fmt::format(
                "bench stream: {:.1f} s, {:.1f} of {:.1f} MiB back and verified, {} "
                "errors",
                s, static_cast<double>(p.bytes_verified) / (1024.0 * 1024.0),
                static_cast<double>(plan.stream_bytes * plan.connections) / (1024.0 * 1024.0),
                p.errors);
        case Mode::hold:
            return fmt::format("bench hold: {:.1f} s, {} of {} connected, {} served, {} errors", s,
                               p.connections_made, plan.connections, p.round_trips, p.errors);
    }
    return "";
}

void ProgressLine::show(const LoadProgress& progress) {
    if (!enabled_ || progress.elapsed < kQuietFor) return;
    std::fputs(fmt::format("\r\033[K{}", text(plan_, progress)).c_str(), stderr);
    std::fflush(stderr);
    shown_ = true;
}

}  // namespace labcheck::bench
