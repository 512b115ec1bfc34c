// labcheck progress, run as a student runs it, on a kit of the test's own with a
// lab in each state.

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <sstream>
#include <string>
#include <vector>

#include "fingerprint.hpp"
#include "labcheck_process.hpp"
#include "scratch_kit.hpp"

using namespace labcheck;
using namespace std::chrono_literals;

namespace {

constexpr Millis kRunLimit{60000};

struct Outcome {
    int exit_status = -1;
    std::string output;
};

Outcome progress(const ScratchKit& kit) {
    LabcheckProcess labcheck({"progress", "--kit", kit.root().string()},
                             {{"LABCHECK_BUILD", kit.build().string()}, {"LABCHECK_KIT", ""}});
    auto status = labcheck.wait_exit(Deadline::after(kRunLimit));
    REQUIRE_MESSAGE(status.has_value(), "labcheck progress still runs; its output:\n"
                                            << labcheck.output());
    REQUIRE(WIFEXITED(*status));
    return {WEXITSTATUS(*status), labcheck.output()};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

const std::string kStarter = "// lab 04: write your server here\nint main() {}\n";

}  // namespace

TEST_CASE("progress: one line per lab in each state, then the next step, exit 0") {
    ScratchKit kit;
    kit.add_lab("01-passing", "Title 1");
    kit.write_source("01-passing", "// the student's correct server\n");
    kit.install_binary("01-passing", CORRECT_SERVER);

    kit.add_lab("02-failing", "Title 2");
    kit.write_source("02-failing", "// a server that exits at once\n");
    kit.install_binary("02-failing", "/bin/true");

    kit.add_lab("03-stale", "Title 3");
    kit.write_source("03-stale", "// edited since it was built\n");
    kit.install_binary("03-stale", CORRECT_SERVER, -60s);

    kit.add_lab("04-untouched", "Title 4",
                "starter_fingerprint = \"" + fingerprint_of(kStarter) + "\"\n");
    kit.write_source("04-untouched", kStarter);
    kit.install_binary("04-untouched", CORRECT_SERVER);  // built, but still the starter

    kit.add_lab("05-missing", "Title 5");

    Outcome run = progress(kit);
    CAPTURE(run.output);
    CHECK(run.exit_status == 0);
    CHECK(lines_of(run.output) ==
          std::vector<std::string>{
              "01  Title 1  passing (2 of 2 graded checks)",
              // listens failed; echo, which needs a listening server, was skipped.
              "02  Title 2  failing 1 of 2 graded checks: listens (1 not run)",
              "03  Title 3  not built: `make progress` rebuilds it",
              "04  Title 4  not started",
              "05  Title 5  no server.cpp yet",
              "",
              "next: lab 02 (Title 2): run `make check LAB=02` to see what fails and why",
          });
    CHECK(run.output.find('\x1b') == std::string::npos);  // no colour into a pipe
}

TEST_CASE("progress: the next step names the first lab that does not pass") {
    ScratchKit kit;
    kit.add_lab("01-passing", "First");
    kit.write_source("01-passing", "// done\n");
    kit.install_binary("01-passing", CORRECT_SERVER);

    SUBCASE("every lab passes") {
        Outcome run = progress(kit);
        CAPTURE(run.output);
        CHECK(run.exit_status == 0);
        CHECK(lines_of(run.output).back() == "every lab passes: well done.");
    }
    SUBCASE("a lab not started: its text first") {
        kit.add_lab("02-next", "Second",
                    "starter_fingerprint = \"" + fingerprint_of(kStarter) + "\"");
        kit.write_source("02-next", kStarter);
        Outcome run = progress(kit);
        CAPTURE(run.output);
        CHECK(lines_of(run.output).back() ==
              "next: lab 02 (Second): read labs/02-next/README.md, write your server in "
              "labs/02-next/server.cpp, then run `make check LAB=02`");
    }
    SUBCASE("a lab not built: make check builds it and shows the compiler's errors") {
        kit.add_lab("02-next", "Second");
        kit.write_source("02-next", "// no binary\n");
        Outcome run = progress(kit);
        CAPTURE(run.output);
        CHECK(lines_of(run.output).back() ==
              "next: lab 02 (Second): run `make check LAB=02`: it builds your server, shows any "
              "compiler error, and checks it");
    }
    SUBCASE("a lab whose fingerprint no longer matches is the student's work") {
        kit.add_lab("02-next", "Second",
                    "starter_fingerprint = \"" + fingerprint_of(kStarter) + "\"");
        kit.write_source("02-next", kStarter + "// one line of the student's\n");
        kit.install_binary("02-next", CORRECT_SERVER);
        Outcome run = progress(kit);
        CAPTURE(run.output);
        CHECK(lines_of(run.output)[1] == "02  Second  passing (2 of 2 graded checks)");
    }
}

TEST_CASE(
    "progress: a lab.toml that cannot be read is that lab's line, and the others still show") {
    ScratchKit kit;
    kit.add_lab("01-broken", "Broken");
    std::ofstream(kit.lab("01-broken") / "lab.toml", std::ios::app) << "pionts = 3\n";
    kit.add_lab("02-fine", "Fine");

    Outcome run = progress(kit);
    CAPTURE(run.output);
    CHECK(run.exit_status == 2);
    auto lines = lines_of(run.output);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("01  01-broken  cannot check: ", 0) == 0);
    CHECK(lines[0].find("unknown key \"pionts\"") != std::string::npos);
    CHECK(lines[1] == "02  Fine       no server.cpp yet");
}

TEST_CASE("progress: a kit folder without labs/ is a usage error") {
    TempDir empty;
    LabcheckProcess labcheck({"progress", "--kit", empty.path().string()}, {});
    auto status = labcheck.wait_exit(Deadline::after(kRunLimit));
    REQUIRE(status.has_value());
    CHECK(WEXITSTATUS(*status) == 2);
    CHECK(labcheck.output().find("no labs/ folder") != std::string::npos);
}
