#include "descriptor_limit.hpp"

#include <sys/resource.h>

#include <fmt/format.h>

#include "lab_catalog.hpp"
#include "os/errors.hpp"

namespace labcheck::bench {
namespace {

// Descriptors besides the connections: stdio, epoll and eventfd per thread, the
// server's log pipe, /proc reads.
constexpr std::uint64_t kHeadroom = 64;

}  // namespace

std::uint64_t raise_descriptor_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) < 0) throw_errno("getrlimit(RLIMIT_NOFILE)");
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) < 0) throw_errno("setrlimit(RLIMIT_NOFILE)");
    }
    return limit.rlim_cur;
}

void require_descriptors(std::uint64_t connections, std::uint64_t limit) {
    if (connections + kHeadroom <= limit) return;
    throw UsageError(fmt::format(
        "{} connections at once do not fit: labcheck may open {} descriptors (ulimit -Hn), and "
        "needs {} more for itself; ask for at most {}, or raise the hard limit",
        connections, limit, kHeadroom, limit > kHeadroom ? limit - kHeadroom : 0));
}

}  // namespace labcheck::bench
