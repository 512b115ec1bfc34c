#include "load_run.hpp"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/generator_thread.hpp"
#include "bench/payload_pattern.hpp"

namespace labcheck::bench {
namespace {

constexpr Millis kProgressInterval{250};

LoadProgress progress_of(const std::vector<std::unique_ptr<GeneratorThread>>& generators,
                         Clock::time_point start) {
    LoadProgress progress;
    progress.elapsed = Clock::now() - start;
    for (const auto& generator : generators) {
        const LiveCounters& counters = generator->counters();
        progress.round_trips += counters.round_trips.load(std::memory_order_relaxed);
        progress.connections_made += counters.connections_made.load(std::memory_order_relaxed);
        progress.errors += counters.errors.load(std::memory_order_relaxed);
        progress.bytes_verified += counters.bytes_verified.load(std::memory_order_relaxed);
    }
    return progress;
}

}  // namespace

LoadResult run_load(const LoadPlan& plan,
                    const std::function<void(const LoadProgress&)>& on_progress) {
    const PayloadPattern pattern(plan.protocol);
    SharedRun shared(plan, pattern);
    const unsigned threads = std::clamp(plan.threads, 1u, plan.connections);
    std::vector<std::unique_ptr<GeneratorThread>> generators;
    for (unsigned t = 0; t < threads; ++t) {
        const auto first =
            static_cast<std::uint32_t>(std::uint64_t{plan.connections} * t / threads);
        const auto next =
            static_cast<std::uint32_t>(std::uint64_t{plan.connections} * (t + 1) / threads);
        generators.push_back(std::make_unique<GeneratorThread>(shared, first, next - first));
    }

    std::mutex mutex;
    std::condition_variable changed;
    unsigned finished = 0;
    shared.start = Clock::now();
    shared.load_end = shared.start + plan.length;
    {
        std::vector<std::jthread> workers;
        for (auto& generator : generators) {
            workers.emplace_back([&, g = generator.get()] {
                g->run();
                std::lock_guard lock(mutex);
                ++finished;
                changed.notify_one();
            });
        }
        std::unique_lock lock(mutex);
        while (!changed.wait_for(lock, kProgressInterval, [&] { return finished == threads; })) {
            if (!on_progress) continue;
            lock.unlock();
            on_progress(progress_of(generators, shared.start));
            lock.lock();
        }
    }  // joined

    LoadResult result;
    result.threads = threads;
    Clock::time_point end = shared.start;
    std::optional<Clock::time_point> last_served;
    for (const auto& generator : generators) {
        end = std::max(end, generator->finished_at());
        const LiveCounters& counters = generator->counters();
        result.round_trips += counters.round_trips.load();
        result.round_trips_in_window += generator->round_trips_in_window();
        result.connections_made += counters.connections_made.load();
        result.errors += counters.errors.load();
        result.bytes_verified += counters.bytes_verified.load();
        result.latency.merge(generator->latency());
        result.generator_cpu += generator->cpu_time();
        for (const auto& sample : generator->error_samples())
            if (result.error_samples.size() < kErrorSamples) result.error_samples.push_back(sample);
        if (auto served = generator->last_served())
            last_served = last_served ? std::max(*last_served, *served) : *served;
    }
    result.elapsed = end - shared.start;
    if (last_served) result.last_served = *last_served - shared.start;
    return result;  // the generators go now: hold mode's connections close here
}

}  // namespace labcheck::bench
