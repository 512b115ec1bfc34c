#pragma once
// What `labcheck bench` was asked for, as the command line says it: which server
// (a lab, --server, --attach or -- CMD, as `check` names one) and what load.

#include <string>

#include "server_target.hpp"

namespace labcheck {

struct BenchOptions : TargetOptions {
    std::string mode = "conn";  // conn, stream or hold
    int clients = 8;            // conn: concurrent clients
    double seconds = 3;         // conn: how long the load lasts
    int mib = 16;               // stream: MiB each connection sends and must get back
    int connections = 1;        // stream: parallel connections
    int hold = 1000;            // hold: connections open at once
    std::string protocol;       // plain or swapcase; empty: the lab's, else swapcase
    int threads = 0;            // generator threads; 0: one per core
    bool ceiling = false;       // also run the same load against the kit's fastest server
    std::string format = "text";
    int timeout_s = 30;  // a connection that makes no progress this long fails
};

}  // namespace labcheck
