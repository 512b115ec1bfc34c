#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "build_command.hpp"
#include "checks/check.hpp"
#include "lab_spec.hpp"
#include "temp_dir.hpp"
#include "text_file.hpp"

// harness/gradescope/run_autograder, run as Gradescope runs it, in a scratch
// /autograder: whatever the submission, it must leave a results.json that parses,
// with the score the student earned and words that say why.

namespace fs = std::filesystem;

namespace {

const fs::path kit = KIT_DIR;

// Runs run_autograder for `lab` over the submission already in root/submission, and
// returns the results.json it wrote.
nlohmann::json autograde(const fs::path& root, const std::string& lab) {
    fs::create_directories(root / "submission");
    std::string command =
        "env AUTOGRADER_ROOT=" + labcheck::shell_quote(root.string()) +
        " KIT=" + labcheck::shell_quote(kit.string()) +
        " LABCHECK=" + labcheck::shell_quote(LABCHECK_BINARY) + " LAB=" + lab + " bash " +
        labcheck::shell_quote((kit / "harness/gradescope/run_autograder").string()) + " >" +
        labcheck::shell_quote((root / "log").string()) + " 2>&1";
    int status = std::system(command.c_str());
    INFO(read_text(root / "log"));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // Gradescope wants results.json, not an exit status
    return nlohmann::json::parse(read_text(root / "results" / "results.json"));
}

void put(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("gradescope: a correct server.cpp at the top of the submission earns every point") {
    TempDir root;
    fs::create_directories(root.path() / "submission");
    fs::copy_file(kit / "solutions/01-iterative-echo/server.cpp",
                  root.path() / "submission/server.cpp");
    auto results = autograde(root.path(), "01");
    INFO(results.dump(2));
    int max = 0;
    for (const auto& test : results["tests"]) max += test["max_score"].get<int>();
    CHECK(max == 100);
    CHECK(results["score"] == max);
}

TEST_CASE("gradescope: a copy of the labs/ tree is searched for the lab's server.cpp") {
    TempDir root;
    put(root.path() / "submission/labs/03-fork-per-client/server.cpp",
        read_text(kit / "solutions/03-fork-per-client/server.cpp"));
    put(root.path() / "submission/labs/01-iterative-echo/server.cpp", "not this one");
    auto results = autograde(root.path(), "03");
    INFO(results.dump(2));
    CHECK(results["score"].get<int>() > 0);
    for (const auto& test : results["tests"]) CHECK(test["status"] == "passed");
}

TEST_CASE("gradescope: a server.cpp that does not compile scores 0 with the compiler's words") {
    TempDir root;
    put(root.path() / "submission/server.cpp", "int main() { return undeclared_thing; }\n");
    auto results = autograde(root.path(), "01");
    CHECK(results["score"] == 0);
    std::string output = results["output"];
    CHECK(output.find("does not compile") != std::string::npos);
    CHECK(output.find("undeclared_thing") != std::string::npos);
}

TEST_CASE("gradescope: a submission without a server.cpp scores 0 and says what to upload") {
    TempDir root;
    put(root.path() / "submission/notes.txt", "I forgot the code");
    auto results = autograde(root.path(), "01");
    CHECK(results["score"] == 0);
    CHECK(results["output"].get<std::string>().find("No server.cpp") != std::string::npos);
}

TEST_CASE("gradescope: make_zip puts setup.sh, run_autograder, lab.env and the kit at the root") {
    TempDir scratch;
    fs::path zip = scratch.path() / "lab03.zip";
    std::string make = "bash " +
                       labcheck::shell_quote((kit / "harness/gradescope/make_zip.sh").string()) +
                       " 3 " + labcheck::shell_quote(zip.string()) + " >/dev/null 2>&1";
    REQUIRE(std::system(make.c_str()) == 0);
    fs::path unpacked = scratch.path() / "source";
    fs::create_directories(unpacked);
    std::string unzip = "cd " + labcheck::shell_quote(unpacked.string()) + " && cmake -E tar xf " +
                        labcheck::shell_quote(zip.string()) +
                        " && mkdir kit && tar -xzf kit.tar.gz -C kit";
    REQUIRE(std::system(unzip.c_str()) == 0);
    for (const char* name : {"setup.sh", "run_autograder", "lab.env", "kit.tar.gz"})
        CHECK_MESSAGE(fs::exists(unpacked / name), name << " is not at the zip's root");
    CHECK(read_text(unpacked / "lab.env") == "LAB=03-fork-per-client\n");
    CHECK(fs::exists(unpacked / "kit/scripts/install-deps.sh"));
    CHECK(fs::exists(unpacked / "kit/labs/03-fork-per-client/lab.toml"));

    // A lab that does not exist is refused, naming the labs there are.
    std::string wrong = "bash " +
                        labcheck::shell_quote((kit / "harness/gradescope/make_zip.sh").string()) +
                        " 42 " + labcheck::shell_quote((scratch.path() / "x.zip").string()) + " >" +
                        labcheck::shell_quote((scratch.path() / "err").string()) + " 2>&1";
    int status = std::system(wrong.c_str());
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(read_text(scratch.path() / "err").find("there is no lab 42 (labs: 01-") !=
          std::string::npos);
}

TEST_CASE("classroom: the example workflow gives each check the points its lab.toml gives") {
    std::string workflow = read_text(kit / "harness/classroom/classroom.yml");
    auto spec = labcheck::load_lab_spec(kit / "labs/03-fork-per-client", labcheck::check_ids());
    std::regex step(R"(labcheck check 03 --only ([a-z-]+)\n\s+timeout: \d+\n\s+max-score: (\d+))");
    int steps = 0;
    for (auto it = std::sregex_iterator(workflow.begin(), workflow.end(), step);
         it != std::sregex_iterator(); ++it, ++steps) {
        const auto* check = spec.find((*it)[1].str());
        REQUIRE_MESSAGE(check, (*it)[1].str() << " is not a check of lab 03");
        CHECK_MESSAGE(check->points == std::stoi((*it)[2].str()), check->id);
    }
    CHECK(steps == 4);
}
