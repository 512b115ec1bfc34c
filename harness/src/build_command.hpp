#pragma once
// The build `labcheck watch` runs after each save: `/bin/sh -c COMMAND`, from the
// kit's folder, in a process group of its own. The terminal's Ctrl-C then reaches
// labcheck alone, which kills that group and everything else it started (see
// interrupts.hpp) rather than leaving a half-killed `make` behind. Its stdout and
// stderr are captured together, to be shown when the build fails.
//
// When the command ends, nothing it started is left running: its group, and any
// process that left the group (labcheck is a subreaper, so they are still its
// descendants), are killed. The checks that follow then see only the server's processes.

#include <filesystem>
#include <string>

namespace labcheck {

struct BuildOutcome {
    int wait_status = 0;     // of the shell, as waitpid gives it
    std::string output;      // stdout and stderr as they came, the first kOutputCap bytes
    bool truncated = false;  // more came than that
    bool succeeded() const;

    static constexpr std::size_t kOutputCap = 1024 * 1024;
};

// Runs `command` to its end (a build has no time limit: Ctrl-C stops a hung one).
// Throws std::system_error when it cannot be started.
BuildOutcome run_build(const std::string& command, const std::filesystem::path& workdir);

// `text` quoted for /bin/sh: single quotes, with each ' written '\''.
std::string shell_quote(const std::string& text);

}  // namespace labcheck
