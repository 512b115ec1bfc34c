#include "observe/json_view.hpp"

namespace labcheck::observe {

nlohmann::ordered_json frame_json(const Frame& frame) {
    auto processes = nlohmann::ordered_json::array();
    for (const auto& row : frame.processes)
        processes.push_back({{"pid", row.pid},
                             {"ppid", row.ppid},
                             {"state", std::string(1, row.state)},
                             {"zombie", row.zombie},
                             {"age_ms", row.age.count()},
                             {"role", row.role},
                             {"depth", row.depth},
                             {"clients", row.clients}});
    auto sockets = nlohmann::ordered_json::array();
    for (const auto& row : frame.sockets)
        sockets.push_back(
            {{"state", procfs::to_string(row.state)},
             {"local", row.local},
             {"remote", row.remote},
             {"holders", row.holders},
             {"time_left_ms",
              row.time_left ? nlohmann::ordered_json(row.time_left->count()) : nullptr},
             {"recv_q", row.recv_q},
             {"send_q", row.send_q}});
    auto states = nlohmann::ordered_json::object();
    for (const auto& row : frame.sockets)  // in the sockets' order: LISTEN first
        states[std::string(procfs::to_string(row.state))] = frame.states.at(row.state);
    const Counters& c = frame.counters;
    return {{"server", frame.server},
            {"port", frame.port},
            {"observed_ms", frame.observed.count()},
            {"processes", processes},
            {"sockets", sockets},
            {"states", states},
            {"counters",
             {{"accepted", c.accepted},
              {"active", c.active},
              {"exited", c.exited},
              {"reaped", c.reaped},
              {"zombies", c.zombies}}}};
}

}  // namespace labcheck::observe
