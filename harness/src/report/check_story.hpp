#pragma once
// A check's whole story as plain text, for reports a platform shows as they are
// (Gradescope's output, JUnit's failure text): what went wrong, where to look, and
// what the server printed last. The terminal report lays the same parts out itself.

#include <string>

#include "check_result.hpp"

namespace labcheck {

std::string check_story(const CheckResult& check);

}  // namespace labcheck
