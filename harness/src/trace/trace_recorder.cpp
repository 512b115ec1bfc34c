#include "trace/trace_recorder.hpp"

#include <unistd.h>

#include "procfs/process_table.hpp"
#include "procfs/tcp_table.hpp"

namespace labcheck {
namespace {

// How often the server is looked at. Each look reads /proc for every process of
// the server's tree and the whole TCP table: a few milliseconds, most of it the
// kernel writing /proc/net/tcp. So a traced run keeps about half a core busy and
// runs slower (README: Pictures); the short period is what catches brief zombies.
constexpr Millis kSamplingPeriod{4};
// A correct server collects a child within milliseconds of its client leaving, even
// with both cores busy; one still a zombie after this is left a zombie.
constexpr Millis kSettleTime{300};

}  // namespace

TraceRecorder::TraceRecorder() : builder_(Clock::now()) {
    previous_observer_ = observe_checks(this);
    sampler_ = std::thread([this] { sample_until_stopped(); });
}

TraceRecorder::~TraceRecorder() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    stop_requested_.notify_all();
    sampler_.join();
    observe_checks(previous_observer_);
}

void TraceRecorder::sample_until_stopped() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        // The wait is the sampling period, not a guess at when something happens.
        stop_requested_.wait_for(lock, kSamplingPeriod, [this] { return stop_; });
        if (!stop_ && view_) look_locked();
    }
}

void TraceRecorder::look_locked() {
    // Called from a Connection's destructor too: a look that fails (only when /proc
    // cannot be read) is a look missed, never an exception.
    try {
        Snapshot now = view_->snapshot();
        // /proc's lists of children are not read atomically: a process this look
        // missed is read directly before the builder may call it reaped.
        for (const auto& [pid, parent] : builder_.known_processes()) {
            if (now.find(pid)) continue;
            auto process = procfs::read_process(pid);
            bool same = process && (process->ppid == parent || process->ppid == getpid() ||
                                    process->ppid == 1);
            if (!same) continue;
            now.processes.push_back(*process);
            now.sockets[pid] = procfs::socket_inodes_of(pid);
        }
        builder_.observe(now, Clock::now());
    } catch (const std::exception&) {
    }
}

void TraceRecorder::begin_check(const std::string& id, const ServerView& view, pid_t root) {
    std::lock_guard lock(mutex_);
    view_ = view;
    builder_.begin_check(id, root, view.port(), view.snapshot(), Clock::now());
}

void TraceRecorder::server_restarted(pid_t root) {
    std::lock_guard lock(mutex_);
    if (view_) builder_.server_restarted(root, view_->snapshot(), Clock::now());
}

void TraceRecorder::end_check(const std::string& outcome) {
    std::unique_lock lock(mutex_);
    if (!view_) return;
    // The check's last clients were closed a moment ago, and their children are
    // still on their way out: give them kSettleTime before calling any a leftover.
    for (auto deadline = Deadline::after(kSettleTime); !deadline.expired();) {
        look_locked();
        if (builder_.settled()) break;
        lock.unlock();
        std::this_thread::sleep_for(kSamplingPeriod);  // the sampling rate, as above
        lock.lock();
    }
    builder_.end_check(outcome, view_->snapshot(), Clock::now());
    view_.reset();
}

void TraceRecorder::check_not_run(const std::string& id, const std::string& outcome) {
    std::lock_guard lock(mutex_);
    builder_.check_not_run(id, outcome, Clock::now());
}

Trace TraceRecorder::trace() const {
    std::lock_guard lock(mutex_);
    return builder_.trace();
}

void TraceRecorder::opened(std::uint16_t local_port) {
    std::lock_guard lock(mutex_);
    builder_.connection_opened(local_port, Clock::now());
}

void TraceRecorder::replied(std::uint16_t local_port) {
    std::lock_guard lock(mutex_);
    if (view_ && builder_.wants_look(local_port)) look_locked();
}

void TraceRecorder::half_closed(std::uint16_t local_port) {
    std::lock_guard lock(mutex_);
    builder_.connection_half_closed(local_port, Clock::now());
}

void TraceRecorder::closing(std::uint16_t local_port, bool reset) {
    std::lock_guard lock(mutex_);
    // A server that never replied may still have accepted: look before the close.
    if (view_ && builder_.wants_look(local_port)) look_locked();
    builder_.connection_closed(local_port, reset, Clock::now());
}

}  // namespace labcheck

namespace labcheck {

void TraceRecorder::signalling(pid_t pid, int signal) {
    std::lock_guard lock(mutex_);
    // What happened before the signal is drawn before it, however short the wait
    // since the last look (a stopped server's children exit within milliseconds).
    if (view_) look_locked();
    builder_.signalled(pid, signal, Clock::now());
}

}  // namespace labcheck
