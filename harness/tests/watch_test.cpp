// labcheck watch, run as a student runs it: rounds on saves made as an editor makes
// them, and Ctrl-C in the middle of a build leaving nothing behind.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "labcheck_process.hpp"
#include "procfs/process_table.hpp"
#include "scratch_kit.hpp"

using namespace labcheck;

namespace {

constexpr Millis kRoundLimit{60000};

// Each build is counted in `builds` and leaves a process behind (`sleep &`, its pid in
// leftover-N.pid) as a careless build step might; the third build hangs (its shell's pid
// in hung.pid) until it is killed. It runs from the kit's folder.
const std::string kBuildScript = R"(echo build >> builds
n=$(wc -l < builds)
echo "compiling, build $n"
sleep 1000 &
echo $! > leftover-$n.pid
if [ "$n" -ge 3 ]; then echo $$ > hung.pid; wait; fi
)";

std::size_t count_of(const std::string& text, const std::string& part) {
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
    return count;
}

// Saves as editors do: the new text into a temporary file, renamed over the old one.
void save_like_an_editor(const ScratchKit& kit, const std::string& name, const std::string& text) {
    const auto temporary = kit.lab(name) / ".server.cpp.swp";
    std::ofstream(temporary, std::ios::binary) << text;
    std::filesystem::rename(temporary, kit.source(name));
}

std::optional<pid_t> pid_in(const std::filesystem::path& file) {
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    return std::nullopt;
}

// Alive: not gone, and not a zombie either (a zombie has ended; its parent collects it).
bool alive(pid_t pid) {
    auto process = procfs::read_process(pid);
    return process && !process->is_zombie();
}

bool gone_soon(pid_t pid) {
    return poll_until(Deadline::after(Millis(5000)), [&] { return !alive(pid); });
}

}  // namespace

TEST_CASE("watch: a round at start and one per save, and Ctrl-C during a build leaves nothing") {
    ScratchKit kit;
    kit.add_lab("01-x", "Watched");
    kit.write_source("01-x", "// version 1\n");
    kit.install_binary("01-x", CORRECT_SERVER);
    std::ofstream(kit.root() / "build.sh") << kBuildScript;

    LabcheckProcess labcheck({"watch", "01", "--kit", kit.root().string(), "--only", "echo",
                              "--build-command", "sh build.sh"},
                             {{"LABCHECK_BUILD", kit.build().string()}, {"LABCHECK_KIT", ""}});
    const std::string watching = "watching labs/01-x/server.cpp — save to recheck, Ctrl-C to stop";
    auto rounds_done = [&](std::size_t rounds) {
        return [&watching, rounds](const std::string& output) {
            return count_of(output, watching) >= rounds;
        };
    };

    // Round 1 starts without a save.
    REQUIRE_MESSAGE(labcheck.wait_for_output(Deadline::after(kRoundLimit), rounds_done(1)),
                    labcheck.output());
    CHECK(labcheck.output().find("labcheck watch: round 1 at ") != std::string::npos);
    CHECK(labcheck.output().find("build: sh build.sh") != std::string::npos);
    CHECK(labcheck.output().find("compiling") == std::string::npos);  // a build that works is quiet
    CHECK(labcheck.output().find("PASS   echo") != std::string::npos);
    CHECK(labcheck.output().find("listens") == std::string::npos);  // --only echo
    CHECK(labcheck.output().find("\x1b[2J") == std::string::npos);  // no clearing into a pipe
    // What the build left running was killed when it ended, before the checks.
    auto leftover_1 = pid_in(kit.root() / "leftover-1.pid");
    REQUIRE(leftover_1);
    CHECK(gone_soon(*leftover_1));

    save_like_an_editor(kit, "01-x", "// version 2\n");
    REQUIRE_MESSAGE(labcheck.wait_for_output(Deadline::after(kRoundLimit), rounds_done(2)),
                    labcheck.output());
    CHECK(labcheck.output().find("labcheck watch: round 2 at ") != std::string::npos);
    CHECK(count_of(labcheck.output(), "PASS   echo") == 2);

    // The third build hangs: Ctrl-C must end it, its group, and labcheck.
    save_like_an_editor(kit, "01-x", "// version 3\n");
    std::optional<pid_t> hung;
    REQUIRE_MESSAGE(
        poll_until(
            Deadline::after(kRoundLimit),
            [&] { return (hung = pid_in(kit.root() / "hung.pid")).has_value(); }, Millis(10)),
        labcheck.output());
    auto leftover_3 = pid_in(kit.root() / "leftover-3.pid");
    REQUIRE(leftover_3);
    CHECK(alive(*hung));
    CHECK(alive(*leftover_3));

    REQUIRE(kill(labcheck.pid(), SIGINT) == 0);
    auto status = labcheck.wait_exit(Deadline::after(Millis(20000)));
    REQUIRE_MESSAGE(status.has_value(), labcheck.output());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 130);
    CHECK(labcheck.output().find("labcheck watch: round 3 at ") != std::string::npos);
    // Two whole rounds, the third cut short.
    CHECK_MESSAGE(count_of(labcheck.output(), watching) == 2, labcheck.output());
    std::ifstream builds(kit.root() / "builds");
    CHECK(std::count(std::istreambuf_iterator<char>(builds), std::istreambuf_iterator<char>(),
                     '\n') == 3);
    auto leftover_2 = pid_in(kit.root() / "leftover-2.pid");
    REQUIRE(leftover_2);
    for (pid_t pid : {*leftover_1, *leftover_2, *leftover_3, *hung}) {
        CAPTURE(pid);
        CHECK(gone_soon(pid));
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {  // zombies that came back to us, if any
    }
}

TEST_CASE("watch: a failed build shows its first lines and checks nothing") {
    ScratchKit kit;
    kit.add_lab("01-x", "Watched");
    kit.write_source("01-x", "// does not compile\n");
    kit.install_binary("01-x", CORRECT_SERVER);
    LabcheckProcess labcheck(
        {"watch", "1", "--kit", kit.root().string(), "--build-command",
         "for i in $(seq 1 45); do echo \"server.cpp:$i: error: line $i\"; done; exit 1"},
        {{"LABCHECK_BUILD", kit.build().string()}, {"LABCHECK_KIT", ""}});
    REQUIRE_MESSAGE(labcheck.wait_for_output(Deadline::after(kRoundLimit),
                                             [](const std::string& output) {
                                                 return output.find("save to recheck") !=
                                                        std::string::npos;
                                             }),
                    labcheck.output());
    const std::string& output = labcheck.output();
    CHECK(output.find("the build failed (exited with status 1):") != std::string::npos);
    CHECK(output.find("server.cpp:1: error: line 1\n") != std::string::npos);
    CHECK(output.find("server.cpp:30: error: line 30\n") != std::string::npos);
    CHECK(output.find("server.cpp:31: error") == std::string::npos);
    CHECK(output.find("... 15 more lines") != std::string::npos);
    CHECK(output.find("nothing was checked this round") != std::string::npos);
    CHECK(output.find("PASS") == std::string::npos);

    REQUIRE(kill(labcheck.pid(), SIGINT) == 0);
    auto status = labcheck.wait_exit(Deadline::after(Millis(20000)));
    REQUIRE(status.has_value());
    CHECK(WEXITSTATUS(*status) == 130);
}

TEST_CASE("watch: an unknown lab or check is a usage error at once") {
    ScratchKit kit;
    kit.add_lab("01-x", "Watched");
    for (const std::vector<std::string>& arguments :
         {std::vector<std::string>{"watch", "07", "--kit", kit.root().string()},
          std::vector<std::string>{"watch", "01", "--kit", kit.root().string(), "--only", "ehco"},
          std::vector<std::string>{"watch", "--kit", kit.root().string()}}) {
        LabcheckProcess labcheck(arguments, {{"LABCHECK_KIT", ""}});
        auto status = labcheck.wait_exit(Deadline::after(Millis(20000)));
        REQUIRE(status.has_value());
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 2);
        CHECK(labcheck.output().find("labcheck: ") == 0);
    }
}
