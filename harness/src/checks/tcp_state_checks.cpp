// Lab 06: checks that the server provokes each TCP state on request.
#include "checks/check.hpp"

namespace labcheck {

std::vector<CheckDefinition> tcp_state_checks() { return {}; }

}  // namespace labcheck
