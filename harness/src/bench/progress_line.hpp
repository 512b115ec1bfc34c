#pragma once
// A long run (over a second) says how it goes: one line on stderr, rewritten in
// place, only when stderr is a terminal (never in a pipe, a file or a CI log), and
// wiped when the run ends so the report starts on a clean line.

#include <optional>
#include <string>

#include "bench/load_plan.hpp"
#include "interrupts.hpp"

namespace labcheck::bench {

class ProgressLine {
  public:
    explicit ProgressLine(const LoadPlan& plan);
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;
    ~ProgressLine();

    void show(const LoadProgress& progress);

    // The line's text (no \r): for the tests.
    static std::string text(const LoadPlan& plan, const LoadProgress& progress);

  private:
    const LoadPlan& plan_;
    bool enabled_;
    bool shown_ = false;
    std::optional<CleanupOnInterrupt> wipe_on_interrupt_;  // Ctrl-C leaves no half line
};

}  // namespace labcheck::bench
