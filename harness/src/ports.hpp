#pragma once
// Picking a port for a server: one that nothing on this machine uses now, on
// IPv4 and IPv6, outside the ephemeral range that outgoing connections draw from.

#include <cstdint>

namespace labcheck {

// A port in [20000, 32000) that binds on 0.0.0.0 and [::] right now. Another
// process may still take it before the server binds: callers retry on that.
std::uint16_t pick_free_port();

// True when something holds `port` (listening or not) on either family.
bool port_is_busy(std::uint16_t port);

}  // namespace labcheck
