#pragma once
// A process tree read from /proc/PID/task/*/children (needs CONFIG_PROC_CHILDREN): the
// cheap way to list a server's workers without scanning all of /proc, for the watchdog
// that polls many times a second.

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <vector>

namespace labcheck::procfs {

// descendant_pids stops after this many pids, so a fork bomb cannot make it run away.
inline constexpr std::size_t max_descendants = 100000;

// The direct children of `pid`, whichever of its threads forked them. Empty when `pid` is
// gone, unreadable, or the kernel lacks CONFIG_PROC_CHILDREN. Both functions throw
// std::system_error only when `proc_root` itself cannot be opened.
std::vector<pid_t> children_of(pid_t pid, const std::filesystem::path& proc_root = "/proc");

// Children, grandchildren, ... of `ancestor` (not `ancestor` itself), breadth first: each
// generation comes after the one before it. A pid met twice (pid reuse while we walk) is
// listed once; at most `max_descendants` pids are returned.
std::vector<pid_t> descendant_pids(pid_t ancestor,
                                   const std::filesystem::path& proc_root = "/proc");

}  // namespace labcheck::procfs
