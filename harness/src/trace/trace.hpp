#pragma once
// What `labcheck check --trace` saw of a server while the checks ran: the
// connections the checks opened and closed, which process served each, the forks,
// exits and reaps of the server's processes, and the TCP states its side of each
// connection went through. TraceBuilder turns snapshots of the server (as `ps` and
// `ss` would see it) and the test client's own actions into a list of events;
// trace_chart.hpp draws them.
//
// What happens between two looks at /proc is not seen: a child that exits and is
// reaped at once shows as reaped, never as a zombie. So a zombie in a trace is one
// that lived at least one sampling period, and "how long it lived" is a lower bound.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "os/deadline.hpp"
#include "server_view.hpp"

namespace labcheck {

struct TraceEvent {
    enum class Kind {
        check,       // a check began: detail = its id
        server,      // the server process `pid` listens on port `detail`
        connect,     // the checks' client opened connection #`connection` from port `detail`
        served,      // connection #`connection` is held open by `pid` (detail: other holders)
        state,       // the server's side of #`connection` entered TCP state `detail`;
                     // `pid` holds it open (the server's first process if it does), or 0
        half_close,  // the client shut down its sending side (FIN), still reading
        close,       // the client closed #`connection` with a FIN; detail "queued" when no
                     // process had accepted it yet, "unserved" when none was seen serving it
        reset,       // the client aborted #`connection` with an RST; detail as for close
        fork,        // `parent` forked `pid`
        exit,        // `pid` exited; its parent has not collected it yet: a zombie
        reap,        // `pid` is gone; `lived` = time as a zombie, when one was seen
        adopt,       // `pid` lost its parent and was handed to `parent` (init or labcheck)
        signal,      // a check sent signal `detail` ("SIGSTOP", ...) to `pid`
        leftover,    // at the check's end `pid` was still a zombie (detail "zombie") or running
        outcome,     // the check ended: detail = pass, fail, skip or error
    };
    Kind kind = Kind::check;
    Millis at{0};  // since the trace began
    pid_t pid = 0;
    pid_t parent = 0;
    int connection = 0;
    std::optional<Millis> lived;  // reap and leftover: how long it was a zombie
    std::string detail;
};

// A server that forks without end must not make the trace (or mscgen) run away:
// past this many events only the checks' beginnings and outcomes are kept.
inline constexpr std::size_t kMaxTraceEvents = 5000;

struct Trace {
    std::vector<TraceEvent> events;
    std::size_t dropped = 0;  // events past kMaxTraceEvents, not kept
};

class TraceBuilder {
  public:
    explicit TraceBuilder(Clock::time_point origin) : origin_(origin) {}

    // A check begins against the server whose first process is `root`. The
    // processes already in `now` are the server's as it idles: no fork is drawn
    // for them.
    void begin_check(const std::string& id, pid_t root, std::uint16_t port, const Snapshot& now,
                     Clock::time_point at);
    // The server was stopped and started again on the same port (check restart).
    void server_restarted(pid_t root, const Snapshot& now, Clock::time_point at);
    // A check that never reached a server: it did not start, or could not apply.
    void check_not_run(const std::string& id, const std::string& outcome, Clock::time_point at);
    // The check's outcome. What is still a zombie or running in `now` is listed.
    void end_check(const std::string& outcome, const Snapshot& now, Clock::time_point at);

    // A look at the server: new processes were forked, old ones exited or were reaped,
    // the server's sockets changed state.
    void observe(const Snapshot& now, Clock::time_point at);

    // What the checks' client did, identified by its local port.
    void connection_opened(std::uint16_t client_port, Clock::time_point at);
    void connection_half_closed(std::uint16_t client_port, Clock::time_point at);
    void connection_closed(std::uint16_t client_port, bool reset, Clock::time_point at);
    // A check signalled one of the server's processes.
    void signalled(pid_t pid, int signal, Clock::time_point at);

    // Whether the process serving this connection is still unknown: worth a look
    // (observe) while the connection is open.
    bool wants_look(std::uint16_t client_port) const;
    bool in_check() const { return root_ != 0; }
    // The processes seen and not yet seen gone, with the parent each had.
    std::map<pid_t, pid_t> known_processes() const;
    // Every process forked during this check is gone, and no zombie is left: what
    // the server is like once its clients' children have all been collected.
    bool settled() const;

    const Trace& trace() const { return trace_; }

  private:
    struct ProcessState {
        pid_t parent = 0;
        bool zombie = false;
        Millis zombie_since{0};
        bool forked_in_check = false;
    };
    struct ConnectionState {
        int number = 0;
        bool served = false;
        bool root_holds = false;  // held by the server's first process alone, so far
        bool queued = false;      // last seen established but held by no process: not accepted
        std::optional<procfs::TcpState> state;  // of the server's side, last seen
    };

    TraceEvent& add(TraceEvent::Kind kind, Clock::time_point at);
    void forget_processes(const Snapshot& now);
    ConnectionState* find_connection(std::uint16_t client_port);

    Clock::time_point origin_;
    Trace trace_;
    TraceEvent discarded_;  // what add() hands out once the trace is full
    pid_t root_ = 0;
    int next_connection_ = 1;
    std::map<pid_t, ProcessState> processes_;
    std::map<std::uint16_t, ConnectionState> connections_;  // by the client's port
};

}  // namespace labcheck
