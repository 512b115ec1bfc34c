#pragma once
// What a student's server may do: which user it runs as, the rlimits it runs
// under, and the folder it runs from. Decided once per labcheck run.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace labcheck {

struct RunAs {
    uid_t uid;
    gid_t gid;
    std::string name;  // for messages
};

struct SandboxPolicy {
    std::optional<RunAs> run_as;    // set when labcheck is root
    int max_processes = 128;        // the tree is killed above this (watchdog)
    bool limit_memory = true;       // off for sanitizer builds, whose shadow memory is huge
    std::filesystem::path workdir;  // the server's working directory (staging folder)
};

// Resolves --user: a name or a numeric uid. Only meaningful as root; throws
// std::runtime_error with a one-line fix when the user does not exist.
RunAs resolve_user(const std::string& name_or_uid);

// True when `binary` carries a sanitizer runtime (AddressSanitizer, ThreadSanitizer...).
bool looks_sanitized(const std::filesystem::path& binary);

// A private folder under /tmp that `run_as` may enter and run files from, removed
// when dropped. Binaries the server user cannot reach (a clone inside root's
// private home) are copied here.
class StagingArea {
  public:
    StagingArea();
    StagingArea(StagingArea&& other) noexcept;
    StagingArea& operator=(StagingArea&& other) noexcept;
    ~StagingArea();
    const std::filesystem::path& path() const { return path_; }

    // Returns argv with argv[0] replaced by a staged copy when `user` cannot
    // execute it where it is. Throws std::runtime_error when it cannot be staged.
    std::vector<std::string> stage(std::vector<std::string> argv, const std::optional<RunAs>& user);

  private:
    void remove() noexcept;
    std::filesystem::path path_;
};

// Runs in the forked child before exec: drops privileges and applies rlimits.
// Returns 0, or the errno of the call that failed (the child reports it and exits).
int enter_sandbox(const SandboxPolicy& policy) noexcept;

// True when `user` can execute `path` (checked by a forked child that becomes the user).
bool can_execute_as(const std::filesystem::path& path, const RunAs& user);

}  // namespace labcheck
