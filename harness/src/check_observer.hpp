#pragma once
// Told what the checks do to a server, for `labcheck check --trace`: the trace shows
// the checks' own connections and signals beside what the server did with them. A
// process-wide hook rather than a parameter, so that no check has to carry a
// recorder around; with no observer installed, every call below does nothing.

#include <sys/types.h>

#include <cstdint>

namespace labcheck {

class CheckObserver {
  public:
    virtual ~CheckObserver() = default;
    // The checks' client, each connection named by its local port.
    virtual void opened(std::uint16_t local_port) = 0;
    // The first bytes came back: the server has accepted and is serving it.
    virtual void replied(std::uint16_t local_port) = 0;
    virtual void half_closed(std::uint16_t local_port) = 0;
    // Called while the socket is still open, just before it is closed.
    virtual void closing(std::uint16_t local_port, bool reset) = 0;
    // A check is about to send `signal` to the server's process `pid`: told before,
    // so that what the signal changes (SIGCONT's reaping) is seen after it.
    virtual void signalling(pid_t pid, int signal) = 0;
};

// Installs `observer` (nullptr: none) and returns the one it replaces.
CheckObserver* observe_checks(CheckObserver* observer);
// The observer installed now, or nullptr.
CheckObserver* check_observer();

// kill(2), told to the observer first. Returns what kill returned.
int send_signal(pid_t pid, int signal);

}  // namespace labcheck
