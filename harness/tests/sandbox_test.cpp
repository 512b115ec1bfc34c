#include <doctest/doctest.h>

#include <poll.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "os/deadline.hpp"
#include "os/unique_fd.hpp"
#include "sandbox.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace labcheck;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The message resolve_user throws for `argument`, or "" when it does not throw.
std::string refusal_of(const std::string& argument) {
    try {
        resolve_user(argument);
    } catch (const std::runtime_error& error) {
        return error.what();
    }
    return "";
}

bool is_root() {
    return geteuid() == 0;
}

RunAs nobody() {
    return resolve_user("nobody");
}

// What a sandboxed child saw of itself, sent back through a pipe.
struct ChildReport {
    int error = -1;  // enter_sandbox's result
    rlim_t nofile_cur = 0;
    rlim_t nofile_max = 0;
    rlim_t cpu_cur = 0;
    rlim_t core_cur = 0;
    rlim_t as_cur = 0;
    rlim_t nproc_cur = 0;
    uid_t euid = 0;
    gid_t egid = 0;
};

// Forks, enters the sandbox in the child, and returns what the child reported.
ChildReport sandboxed_child_report(const SandboxPolicy& policy) {
    int ends[2];
    REQUIRE(pipe(ends) == 0);
    UniqueFd read_end(ends[0]);
    UniqueFd write_end(ends[1]);

    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Only system calls from here on: no doctest in the child.
        read_end.reset();
        ChildReport report;
        report.error = enter_sandbox(policy);
        rlimit limit{};
        if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
            report.nofile_cur = limit.rlim_cur;
            report.nofile_max = limit.rlim_max;
        }
        if (getrlimit(RLIMIT_CPU, &limit) == 0) report.cpu_cur = limit.rlim_cur;
        if (getrlimit(RLIMIT_CORE, &limit) == 0) report.core_cur = limit.rlim_cur;
        if (getrlimit(RLIMIT_AS, &limit) == 0) report.as_cur = limit.rlim_cur;
        if (getrlimit(RLIMIT_NPROC, &limit) == 0) report.nproc_cur = limit.rlim_cur;
        report.euid = geteuid();
        report.egid = getegid();
        const auto written = ::write(write_end.get(), &report, sizeof report);
        _exit(written == static_cast<ssize_t>(sizeof report) ? 0 : 1);
    }
    write_end.reset();

    ChildReport report;
    auto* bytes = reinterpret_cast<char*>(&report);
    std::size_t got = 0;
    auto deadline = Deadline::after(Millis(20000));
    while (got < sizeof report && !deadline.expired()) {
        pollfd entry{read_end.get(), POLLIN, 0};
        int ready = ::poll(&entry, 1, deadline.poll_timeout());
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        ssize_t n = ::read(read_end.get(), bytes + got, sizeof report - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got < sizeof report) ::kill(child, SIGKILL);  // never leave it behind

    int status = 0;
    pid_t reaped = -1;
    do {
        reaped = waitpid(child, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    CHECK(reaped == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    REQUIRE_MESSAGE(got == sizeof report, "the sandboxed child did not report its limits");
    return report;
}

}  // namespace

// ---------------------------------------------------------------- resolve_user

TEST_CASE("sandbox: resolve_user finds nobody by name") {
    REQUIRE(getpwnam("nobody") != nullptr);
    RunAs user = resolve_user("nobody");
    CHECK(user.uid != 0);
    CHECK(user.uid == getpwnam("nobody")->pw_uid);
    CHECK(user.gid == getpwnam("nobody")->pw_gid);
    CHECK(user.name == "nobody");
}

TEST_CASE("sandbox: resolve_user accepts a numeric uid") {
    const passwd* entry = getpwuid(65534);
    REQUIRE_MESSAGE(entry != nullptr, "this machine has no uid 65534");
    const std::string name = entry->pw_name;
    const gid_t gid = entry->pw_gid;
    RunAs user = resolve_user("65534");
    CHECK(user.uid == 65534);
    CHECK(user.gid == gid);
    CHECK(user.name == name);
}

TEST_CASE("sandbox: resolve_user accepts a numeric uid without a passwd entry") {
    uid_t free_uid = 0;
    for (uid_t candidate : {61234u, 61235u, 62345u, 63456u, 54321u, 43210u}) {
        if (getpwuid(candidate) == nullptr) {
            free_uid = candidate;
            break;
        }
    }
    REQUIRE_MESSAGE(free_uid != 0, "every candidate uid has a passwd entry");
    RunAs user = resolve_user(std::to_string(free_uid));
    CHECK(user.uid == free_uid);
    CHECK(user.gid == free_uid);
    CHECK(user.name == std::to_string(free_uid));
}

TEST_CASE("sandbox: resolve_user of an unknown name says to pass --user") {
    REQUIRE(getpwnam("no-such-user-xyz") == nullptr);
    CHECK_THROWS_AS(resolve_user("no-such-user-xyz"), std::runtime_error);
    const std::string message = refusal_of("no-such-user-xyz");
    CHECK(contains(message, "--user"));
    CHECK(contains(message, "no-such-user-xyz"));
    CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("sandbox: resolve_user refuses root by name and by uid") {
    for (const char* argument : {"root", "0"}) {
        CAPTURE(argument);
        CHECK_THROWS_AS(resolve_user(argument), std::runtime_error);
        const std::string message = refusal_of(argument);
        CHECK(contains(message, "root"));
        CHECK(contains(message, "--user"));
    }
}

// ---------------------------------------------------------------- looks_sanitized

TEST_CASE("sandbox: looks_sanitized") {
    SUBCASE("a plain binary is not") {
        CHECK_FALSE(looks_sanitized("/bin/true"));
    }
    SUBCASE("a file carrying the AddressSanitizer marker is") {
        TempDir scratch;
        const fs::path file = scratch.path() / "fake-asan";
        {
            std::ofstream out(file, std::ios::binary);
            out.write(
                "\x7f"
                "ELF\0\0junk",
                10);
            out << "__asan_init";
            out.write("\0\0tail", 6);
        }
        CHECK(looks_sanitized(file));
    }
    SUBCASE("a missing file is not") {
        CHECK_FALSE(looks_sanitized("/nonexistent/labcheck-test/server"));
    }
}

// ---------------------------------------------------------------- StagingArea

TEST_CASE("sandbox: the staging folder is mode 0711 and removed with its object") {
    fs::path where;
    {
        StagingArea staging;
        where = staging.path();
        REQUIRE_FALSE(where.empty());
        struct stat info {};
        REQUIRE(stat(where.c_str(), &info) == 0);
        CHECK(S_ISDIR(info.st_mode));
        CHECK((info.st_mode & 07777) == 0711);
        // Content goes with it.
        std::ofstream(where / "file") << "x";
        CHECK(fs::exists(where / "file"));
    }
    CHECK_FALSE(fs::exists(where));
}

TEST_CASE("sandbox: stage leaves argv alone without a user or without a slash") {
    StagingArea staging;
    const std::vector<std::string> argv = {"/nonexistent/labcheck-test/server", "{port}"};
    CHECK(staging.stage(argv, std::nullopt) == argv);

    const RunAs someone{65534, 65534, "nobody"};
    const std::vector<std::string> bare = {"server", "{port}"};
    CHECK(staging.stage(bare, someone) == bare);
    CHECK(staging.stage({}, someone).empty());
    CHECK(fs::is_empty(staging.path()));
}

TEST_CASE("sandbox: stage copies a binary the user cannot reach") {
    if (!is_root()) {
        MESSAGE("skipped: staging for another user needs root");
        return;
    }
    const RunAs user = nobody();

    SUBCASE("a binary in root's private folder is copied") {
        TempDir private_dir;  // 0700, owned by root
        const fs::path original = private_dir.path() / "server";
        fs::copy_file("/bin/true", original);
        REQUIRE(chmod(original.c_str(), 0755) == 0);
        CHECK_FALSE(can_execute_as(original, user));

        StagingArea staging;
        auto argv = staging.stage({original.string(), "{port}", "x"}, user);
        REQUIRE(argv.size() == 3);
        CHECK(argv[1] == "{port}");
        CHECK(argv[2] == "x");
        const fs::path staged = argv[0];
        CHECK(staged != original);
        CHECK(staged.parent_path() == staging.path());
        CHECK(staged.filename() == "server");
        CHECK(fs::file_size(staged) == fs::file_size(original));
        CHECK(can_execute_as(staged, user));
    }
    SUBCASE("a binary the user can run where it is stays where it is") {
        CHECK(can_execute_as("/bin/true", user));
        StagingArea staging;
        const std::vector<std::string> argv = {"/bin/true", "{port}"};
        CHECK(staging.stage(argv, user) == argv);
        CHECK(fs::is_empty(staging.path()));
    }
}

// ---------------------------------------------------------------- enter_sandbox

TEST_CASE("sandbox: enter_sandbox applies the limits in a forked child") {
    SandboxPolicy policy;
    policy.max_processes = 16;
    policy.limit_memory = true;
    if (is_root()) policy.run_as = nobody();

    const ChildReport report = sandboxed_child_report(policy);
    CHECK(report.error == 0);
    CHECK(report.nofile_cur == 1024);
    CHECK(report.nofile_max == 1024);
    CHECK(report.cpu_cur == 60);
    CHECK(report.core_cur == 0);
    CHECK(report.as_cur != RLIM_INFINITY);
    CHECK(report.as_cur == rlim_t{4096} * 1024 * 1024);
    if (is_root()) {
        CHECK(report.euid == policy.run_as->uid);
        CHECK(report.egid == policy.run_as->gid);
        CHECK(report.nproc_cur == rlim_t{16 * 2 + 64});
    } else {
        MESSAGE("not root: the credential change and RLIMIT_NPROC are not checked");
        CHECK(report.euid == geteuid());
    }
}

TEST_CASE("sandbox: enter_sandbox leaves the address space alone for a sanitizer build") {
    rlimit before{};
    REQUIRE(getrlimit(RLIMIT_AS, &before) == 0);
    SandboxPolicy policy;
    policy.limit_memory = false;
    const ChildReport report = sandboxed_child_report(policy);
    CHECK(report.error == 0);
    CHECK(report.as_cur == before.rlim_cur);
    CHECK(report.nofile_cur == 1024);
    CHECK(report.euid == geteuid());  // no run_as: no credential change
}

TEST_CASE("sandbox: uids with a sign, out of range or zero are refused") {
    for (const char* text : {"-1", "4294967295", "-4294967295", "99999999999", "0"}) {
        CAPTURE(text);
        CHECK_THROWS_AS(labcheck::resolve_user(text), std::runtime_error);
    }
}

TEST_CASE("sandbox: a moved-to staging area removes the folder it had") {
    labcheck::StagingArea first;
    labcheck::StagingArea second;
    const std::filesystem::path old_folder = first.path();
    const std::filesystem::path kept_folder = second.path();
    first = std::move(second);
    CHECK_FALSE(std::filesystem::exists(old_folder));
    CHECK(first.path() == kept_folder);
    CHECK(std::filesystem::exists(kept_folder));
}
