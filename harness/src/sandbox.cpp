#include "sandbox.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "os/errors.hpp"

namespace labcheck {
namespace fs = std::filesystem;

RunAs resolve_user(const std::string& name_or_uid) {
    const char* first = name_or_uid.data();
    const char* last = first + name_or_uid.size();
    std::uint32_t numeric = 0;
    auto [end, error] = std::from_chars(first, last, numeric);  // no sign, no blanks
    bool is_number = !name_or_uid.empty() && error == std::errc() && end == last;
    if (!is_number && !name_or_uid.empty() && std::all_of(first, last, [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
        }))
        throw std::runtime_error(fmt::format("--user {} is not a valid uid", name_or_uid));

    RunAs user;
    if (is_number) {
        // A bare uid without a passwd entry is fine: a grader may use a free range.
        passwd* entry = getpwuid(static_cast<uid_t>(numeric));
        user = entry ? RunAs{entry->pw_uid, entry->pw_gid, entry->pw_name}
                     : RunAs{static_cast<uid_t>(numeric), static_cast<gid_t>(numeric), name_or_uid};
    } else {
        passwd* entry = getpwnam(name_or_uid.c_str());
        if (!entry)
            throw std::runtime_error(fmt::format(
                "there is no user '{}' on this machine to run the server as: pass --user NAME or "
                "--user UID",
                name_or_uid));
        user = RunAs{entry->pw_uid, entry->pw_gid, entry->pw_name};
    }
    if (user.uid == 0 || user.uid == static_cast<uid_t>(-1))
        throw std::runtime_error(
            "refusing to run a student's server as root: pass --user with an unprivileged user");
    return user;
}

bool looks_sanitized(const fs::path& binary) {
    std::ifstream in(binary, std::ios::binary);
    if (!in) return false;
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* marker : {"__asan_init", "__tsan_init", "__msan_init"})
        if (content.find(marker) != std::string::npos) return true;
    return false;
}

StagingArea::StagingArea() {
    std::string pattern = (fs::temp_directory_path() / "labcheck-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw_errno("mkdtemp " + pattern);
    path_ = pattern;
    // Others may enter and execute, not list or write: the server user runs from here.
    if (chmod(path_.c_str(), 0711) != 0) throw_errno("chmod " + path_.string());
}

StagingArea::StagingArea(StagingArea&& other) noexcept : path_(std::exchange(other.path_, {})) {}

StagingArea& StagingArea::operator=(StagingArea&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

StagingArea::~StagingArea() {
    remove();
}

void StagingArea::remove() noexcept {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
    path_.clear();
}

bool can_execute_as(const fs::path& path, const RunAs& user) {
    pid_t child = fork();
    if (child < 0) throw_errno("fork");
    if (child == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) _exit(2);
        _exit(access(path.c_str(), X_OK) == 0 ? 0 : 1);
    }
    int status = 0;
    if (retry_on_eintr([&] { return waitpid(child, &status, 0); }) < 0) throw_errno("waitpid");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<std::string> StagingArea::stage(std::vector<std::string> argv,
                                            const std::optional<RunAs>& user) {
    if (argv.empty() || !user || argv[0].find('/') == std::string::npos) return argv;
    fs::path original = argv[0];
    if (can_execute_as(original, *user)) return argv;
    fs::path staged = path_ / original.filename();
    std::error_code error;
    fs::copy_file(original, staged, fs::copy_options::overwrite_existing, error);
    if (error || chmod(staged.c_str(), 0755) != 0)
        throw std::runtime_error(fmt::format(
            "user {} cannot run {}, and copying it to {} failed ({}): make the folder readable "
            "(chmod o+x on each parent) or pass --user",
            user->name, original.string(), path_.string(), error ? error.message() : "chmod"));
    argv[0] = staged.string();
    return argv;
}

namespace {

int set_limit(int resource, rlim_t value) noexcept {
    rlimit limit{value, value};
    return setrlimit(resource, &limit) == 0 ? 0 : errno;
}

}  // namespace

int enter_sandbox(const SandboxPolicy& policy) noexcept {
    // One bound per way a broken server can hurt the machine. The process cap is
    // also watched from outside (watchdog); RLIMIT_NPROC is the hard stop that
    // makes a fork bomb fail fast as an unprivileged user.
    const rlim_t mib = 1024 * 1024;
    if (int e = set_limit(RLIMIT_NOFILE, 1024)) return e;
    if (int e = set_limit(RLIMIT_CPU, 60)) return e;
    if (int e = set_limit(RLIMIT_FSIZE, 64 * mib)) return e;
    if (int e = set_limit(RLIMIT_CORE, 0)) return e;
    if (policy.limit_memory)
        if (int e = set_limit(RLIMIT_AS, 4096 * mib)) return e;
    if (policy.run_as) {
        // Counted per user across the machine: the cap of the tree plus headroom
        // for what that user already runs elsewhere.
        if (int e = set_limit(RLIMIT_NPROC, static_cast<rlim_t>(policy.max_processes) * 2 + 64))
            return e;
        if (setgroups(0, nullptr) != 0) return errno;
        if (setgid(policy.run_as->gid) != 0) return errno;
        if (setuid(policy.run_as->uid) != 0) return errno;
    }
    // After the credential change, which clears it: die with labcheck.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return errno;
    return 0;
}

}  // namespace labcheck
