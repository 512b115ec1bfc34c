#pragma once
// Records a Trace while the checks run: a thread looks at the server every few
// milliseconds (as `ps` and `ss` would), and the checks' client reports its own
// connections, each with a look of its own at the moment the server replies, so
// that even a child that serves for a millisecond is seen serving.

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "check_observer.hpp"
#include "server_view.hpp"
#include "trace/trace.hpp"

namespace labcheck {

class TraceRecorder final : public CheckObserver {
  public:
    // Starts the sampling thread (idle between checks) and the client's hook.
    TraceRecorder();
    ~TraceRecorder() override;
    TraceRecorder(const TraceRecorder&) = delete;
    TraceRecorder& operator=(const TraceRecorder&) = delete;

    void begin_check(const std::string& id, const ServerView& view, pid_t root);
    void server_restarted(pid_t root);
    void end_check(const std::string& outcome);
    // A check that never reached its server (it did not start, or was skipped).
    void check_not_run(const std::string& id, const std::string& outcome);

    Trace trace() const;

    void opened(std::uint16_t local_port) override;
    void replied(std::uint16_t local_port) override;
    void half_closed(std::uint16_t local_port) override;
    void closing(std::uint16_t local_port, bool reset) override;
    void signalling(pid_t pid, int signal) override;

  private:
    void sample_until_stopped();
    // A fresh look at the server, given to the builder; the lock must be held.
    void look_locked();

    mutable std::mutex mutex_;
    std::condition_variable stop_requested_;
    TraceBuilder builder_;
    std::optional<ServerView> view_;
    bool stop_ = false;
    CheckObserver* previous_observer_ = nullptr;
    std::thread sampler_;
};

}  // namespace labcheck
