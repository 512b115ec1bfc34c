#pragma once
// A Frame as JSON for scripts and tests: `labcheck observe --format json`, one object per
// look (one line each when it streams). The shape, stable:
//
// {"server": "solutions/04-reaping-zombies/server 21345", "port": 21345, "observed_ms": 1250,
//  "processes": [{"pid": 4242, "ppid": 4100, "state": "S", "zombie": false, "age_ms": 12300,
//                 "role": "listener", "depth": 0, "clients": []},
//                {"pid": 4250, "ppid": 4242, "state": "S", "zombie": false, "age_ms": 800,
//                 "role": "child", "depth": 1, "clients": ["127.0.0.1:50312"]}],
//  "sockets": [{"state": "LISTEN", "local": "0.0.0.0:21345", "remote": "0.0.0.0:*",
//               "holders": [4242], "time_left_ms": null, "recv_q": 0, "send_q": 0},
//              {"state": "ESTAB", "local": "127.0.0.1:21345", "remote": "127.0.0.1:50312",
//               "holders": [4250], "time_left_ms": null, "recv_q": 0, "send_q": 0}],
//  "states": {"LISTEN": 1, "ESTAB": 1},
//  "counters": {"accepted": 5, "active": 1, "exited": 4, "reaped": 4, "zombies": 0}}
//
// server       the server as named: its command line, or "HOST:PORT (attached)"
// observed_ms  since observe's first look (0 with --once)
// processes    the server's process tree, each parent before its children:
//   state      as ps prints it (R running, S sleeping, D, T, Z zombie...); zombie: Z or X
//   age_ms     since the process started
//   role       "listener" holds the listening socket; "child" is another process under
//              the server's; "server" is a root that does not listen
//   depth      in the tree, 0 for a root
//   clients    the peers of the connections it holds ("[::1]:50312" for IPv6)
// sockets      every TCP socket whose local port is the server's (the server's side of
//              each connection), grouped by state, LISTEN first:
//   state      as ss spells it: LISTEN, SYN-RECV, ESTAB, CLOSE-WAIT, LAST-ACK, FIN-WAIT-1,
//              FIN-WAIT-2, CLOSING, TIME-WAIT
//   holders    pids that hold it open; [] when only the kernel has it (TIME-WAIT, or still
//              in the accept queue)
//   time_left_ms  TIME-WAIT only (else null): until the kernel drops it
//   recv_q, send_q  bytes not yet read by the process / not yet acknowledged by the peer;
//              for LISTEN, recv_q is the accept queue's length
// states       sockets per state, occupied states only, in the sockets' order
// counters     since the first look: accepted (connections seen held by a process, or
//              closing after the server let go), active (connections a process holds
//              open now), exited (processes seen to end: they became zombies, or
//              vanished), reaped (processes seen, alive or zombie, that later vanished),
//              zombies (zombies now)

#include <nlohmann/json.hpp>

#include "observe/observation.hpp"

namespace labcheck::observe {

nlohmann::ordered_json frame_json(const Frame& frame);

}  // namespace labcheck::observe
