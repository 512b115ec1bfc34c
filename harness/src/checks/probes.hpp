#pragma once
// Client moves several checks share: a full conversation, a set of open clients,
// and finding through /proc which process serves a given client.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/check.hpp"
#include "client.hpp"

namespace labcheck {

// The budget for one reply on a loaded machine; generous, since a correct
// server answers in microseconds and only a broken one ever waits it out.
inline constexpr Millis kReplyBudget{2000};
// How long a process state we wait for (an exit, a reap, a close) may take.
inline constexpr Millis kSettleBudget{2000};

// "client 3 says hello\n": distinct per client, with letters, digits and punctuation.
std::string client_message(int index);

// Opens a connection and does one round trip, keeping it open. `who` names the
// client in failure messages ("client 2 of 20").
Connection connect_and_echo(const CheckContext& context, const std::string& who,
                            std::string_view message);

// True once `pid` has exited and its parent has taken delivery of the SIGCHLD:
// it is gone (reaped), or a zombie whose parent has no SIGCHLD pending. Only then
// has a parent blocked in accept() decided between EINTR and the next client; a
// client that connects earlier could slip into accept() ahead of the signal.
bool departed(pid_t pid);

// Gives the processes that served clients which have left up to 300 ms to
// depart, so the next client arrives when a real one would: after the server has
// handled its children's SIGCHLD. This keeps verdicts independent of how the
// scheduler interleaves a child's exit with the next connect.
void let_children_finish(const CheckContext& context);

// A whole conversation: connect, send, half-close, read to EOF, compare; then
// let_children_finish.
void converse(const CheckContext& context, const std::string& who, std::string_view message);

// `count` clients, each connected and echoed once, all left open.
std::vector<Connection> open_clients(const CheckContext& context, int count, std::string_view what);

// The processes that hold the server's end of `client`, other than the main
// listener; empty when only the listener holds it (nobody was handed the connection).
struct Serving {
    std::optional<ino_t> inode;    // nullopt: the server side was not found in /proc/net/tcp
    std::vector<pid_t> processes;  // holders other than the main listener
    bool listener_holds = false;
};
Serving find_serving(const Snapshot& snapshot, const Connection& client);

// "pid 1234 (server, state Z)"
std::string describe_process(const Snapshot& snapshot, pid_t pid);
std::string describe_processes(const Snapshot& snapshot, const std::vector<pid_t>& pids);

// The main listener, or a CheckFailure explaining that none is visible.
pid_t require_listener(const CheckContext& context);

}  // namespace labcheck
