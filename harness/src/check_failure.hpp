#pragma once
// How a check ends early: CheckFailure carries the message a student reads,
// CheckSkipped the reason a check could not apply. Anything else a check throws
// (std::system_error from the harness itself) is reported as an error, not a fail.

#include <stdexcept>
#include <string>

namespace labcheck {

class CheckFailure : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class CheckSkipped : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace labcheck
