#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int kPassed = 0;
constexpr int kUsageError = 2;

// Runs labcheck's command line in this process: run(...) is `labcheck ...`.
int run(std::initializer_list<std::string> arguments) {
    std::vector<std::string> storage{"labcheck"};
    storage.insert(storage.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& argument : storage) argv.push_back(argument.data());
    argv.push_back(nullptr);
    return labcheck::run_cli(static_cast<int>(storage.size()), argv.data());
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A kit with one lab, 01-x, whose lab.toml is lab 01's with `edit` applied.
template <typename Edit>
void make_kit(const fs::path& root, Edit edit) {
    std::string spec = read_text(fs::path(KIT_DIR) / "labs" / "01-iterative-echo" / "lab.toml");
    edit(spec);
    fs::create_directories(root / "labs" / "01-x");
    std::ofstream(root / "labs" / "01-x" / "lab.toml", std::ios::binary) << spec;
}

void replace_first(std::string& text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "lab 01's lab.toml has no " << from);
    text.replace(at, from.size(), to);
}

const std::string kit = KIT_DIR;

}  // namespace

TEST_CASE("cli: list exits 0") {
    CHECK(run({"--kit", kit, "list"}) == kPassed);
}

TEST_CASE("cli: hint exits 0 for a known check, 2 otherwise") {
    CHECK(run({"--kit", kit, "hint", "01", "echo"}) == kPassed);
    CHECK(run({"--kit", kit, "hint", "01", "echo", "--level", "2"}) == kPassed);
    CHECK(run({"--kit", kit, "hint", "01", "nosuchcheck"}) == kUsageError);
    CHECK(run({"--kit", kit, "hint", "01", "echo", "--level", "99"}) == kUsageError);
    CHECK(run({"--kit", kit, "hint", "99", "echo"}) == kUsageError);
}

TEST_CASE("cli: an unknown lab exits 2") {
    CHECK(run({"--kit", kit, "check", "99"}) == kUsageError);
}

TEST_CASE("cli: a server that does not exist exits 2") {
    CHECK(run({"--kit", kit, "check", "01", "--server", "/nonexistent"}) == kUsageError);
}

TEST_CASE("cli: an unknown check in --only exits 2") {
    CHECK(run({"--kit", kit, "check", "01", "--only", "nosuchcheck", "--server", "/bin/true"}) ==
          kUsageError);
}

TEST_CASE("cli: a malformed --attach exits 2") {
    CHECK(run({"--kit", kit, "check", "01", "--attach", "nonsense"}) == kUsageError);
    CHECK(run({"--kit", kit, "check", "01", "--attach", "127.0.0.1:0"}) == kUsageError);
    CHECK(run({"--kit", kit, "check", "01", "--attach", "127.0.0.1:70000"}) == kUsageError);
    CHECK(run({"--kit", kit, "check", "01", "--attach", "127.0.0.1:1205", "--server",
               "/bin/true"}) == kUsageError);
}

TEST_CASE("cli: an unknown option or a missing subcommand exits 2") {
    CHECK(run({"--kit", kit, "check", "01", "--no-such-option"}) == kUsageError);
    CHECK(run({"--no-such-option"}) == kUsageError);
    CHECK(run({"--kit", kit}) == kUsageError);
    CHECK(run({"--kit", kit, "check"}) == kUsageError);
    CHECK(run({"--kit", kit, "check", "01", "--format", "xml", "--server", "/bin/true"}) ==
          kUsageError);
    CHECK(run({"--kit", kit, "check", "01", "--port", "0", "--server", "/bin/true"}) ==
          kUsageError);
}

TEST_CASE("cli: a kit folder without labs/ exits 2") {
    TempDir temp;
    CHECK(run({"--kit", temp.path().string(), "list"}) == kUsageError);
}

TEST_CASE("cli: a malformed lab.toml exits 2") {
    TempDir temp;
    SUBCASE("not TOML") {
        make_kit(temp.path(), [](std::string& spec) { spec += "\n[[check]\nid = \n"; });
    }
    SUBCASE("a check id that does not exist") {
        make_kit(temp.path(),
                 [](std::string& spec) { replace_first(spec, "id = \"echo\"", "id = \"ehco\""); });
    }
    SUBCASE("points of the wrong type") {
        make_kit(temp.path(),
                 [](std::string& spec) { replace_first(spec, "points = 10", "points = \"ten\""); });
    }
    const std::string root = temp.path().string();
    CHECK(run({"--kit", root, "check", "01", "--server", "/bin/true"}) == kUsageError);
    CHECK(run({"--kit", root, "list"}) == kUsageError);
}

TEST_CASE("cli: the intact copy of a lab.toml is accepted (control for the malformed ones)") {
    TempDir temp;
    make_kit(temp.path(), [](std::string&) {});
    CHECK(run({"--kit", temp.path().string(), "list"}) == kPassed);
}

TEST_CASE("cli: --kit after the subcommand is accepted, as the README shows") {
    CHECK(run({"list", "--kit", kit}) == kPassed);
    CHECK(run({"hint", "01", "echo", "--kit", kit}) == kPassed);
}

TEST_CASE("cli: hint with an empty check id exits 2") {
    CHECK(run({"--kit", kit, "hint", "01", ","}) == kUsageError);
    CHECK(run({"--kit", kit, "hint", "01", ""}) == kUsageError);
}

namespace {

// Runs labcheck's command line and returns what it printed on stdout.
std::string output_of(std::initializer_list<std::string> arguments, int expected_status) {
    std::ostringstream captured;
    auto* saved = std::cout.rdbuf(captured.rdbuf());
    int status = run(arguments);
    std::cout.rdbuf(saved);
    CHECK(status == expected_status);
    return captured.str();
}

}  // namespace

TEST_CASE("cli: hint shows one level at a time, with the step to reread and the way on") {
    TempDir temp;
    fs::create_directories(temp.path() / "labs" / "01-x");
    std::ofstream(temp.path() / "labs" / "01-x" / "lab.toml") << R"(
title = "A lab"
protocol = "plain"
[[check]]
id = "listens"
points = 100
step = "Step 1: Listen"
anchor = "step-1-listen"
hints = ["FIRST nudge", "SECOND more", "THIRD nearly all"]
)";
    const std::string root = temp.path().string();
    std::string first = output_of({"--kit", root, "hint", "01", "listens"}, kPassed);
    CHECK(first.find("hint 1 of 3") != std::string::npos);
    CHECK(first.find("FIRST nudge") != std::string::npos);
    CHECK(first.find("SECOND more") == std::string::npos);
    CHECK(first.find("\"Step 1: Listen\"") != std::string::npos);
    CHECK(first.find("README.md#step-1-listen") != std::string::npos);
    CHECK(first.find("labcheck hint 1 listens --level 2") != std::string::npos);

    std::string second =
        output_of({"--kit", root, "hint", "01", "listens", "--level", "2"}, kPassed);
    CHECK(second.find("SECOND more") != std::string::npos);
    CHECK(second.find("FIRST nudge") == std::string::npos);

    std::string last = output_of({"--kit", root, "hint", "01", "listens", "--level", "3"}, kPassed);
    CHECK(last.find("THIRD nearly all") != std::string::npos);
    CHECK(last.find("--level 4") == std::string::npos);  // nothing beyond the last level
}
