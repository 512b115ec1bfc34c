#pragma once
// The generator holds one descriptor per open connection: hold mode's thousand
// connections need more than the usual soft limit of 1024.

#include <cstdint>

namespace labcheck::bench {

// Raises this process's RLIMIT_NOFILE soft limit to its hard limit, and returns it.
std::uint64_t raise_descriptor_limit();

// Throws UsageError, saying what to do, when `connections` open at once (plus the
// descriptors labcheck needs besides) do not fit in `limit`.
void require_descriptors(std::uint64_t connections, std::uint64_t limit);

}  // namespace labcheck::bench
