#pragma once
// A lab's spec, read from its lab.toml: protocol, the checks it runs with their
// points, the ones shown but expected to fail at this stage, and the hints.

#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol.hpp"

namespace labcheck {

struct CheckSpec {
    std::string id;  // one of the ids in checks/registry
    int points = 0;  // 0 for expected_to_fail checks
    bool expected_to_fail = false;
    std::string anchor;  // heading anchor in the lab text, e.g. "step-3-read-until-eof"
    std::string step;    // the step's name as the student reads it, e.g. "Step 3: read until EOF"
    std::vector<std::string> hints;  // level 1 nudges ... last level nearly gives it away
};

struct LabSpec {
    std::string id;     // folder name, "01-iterative-echo"
    int number = 0;     // 1
    std::string title;  // "An iterative echo server"
    Protocol protocol = Protocol::plain;
    std::filesystem::path folder;    // where lab.toml lives
    std::string text = "README.md";  // the lab text, relative to folder
    std::vector<CheckSpec> checks;   // in the order they run and are shown
    // fingerprint.hpp's "fnv1a64:..." of the pristine starter server.cpp, when the lab
    // has one: `labcheck progress` reports a lab whose server.cpp still matches as not started.
    std::optional<std::string> starter_fingerprint;

    const CheckSpec* find(std::string_view check_id) const;
};

// A malformed or inconsistent spec: the message names the file, the place and the fix.
class SpecError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Reads and validates folder/lab.toml. `known_ids` are the check ids that exist
// (checks/registry's check_ids()); messages suggest the nearest one.
LabSpec load_lab_spec(const std::filesystem::path& folder,
                      std::span<const std::string_view> known_ids);

// Parses spec text (for tests); `origin` names the file in error messages.
LabSpec parse_lab_spec(std::string_view toml_text, const std::string& origin,
                       std::span<const std::string_view> known_ids);

}  // namespace labcheck
