#include <doctest/doctest.h>

#include <sys/wait.h>

#include <string>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "labcheck_process.hpp"

// The grading platforms' formats from labcheck itself, as a platform's script runs it:
// what it prints must parse, with nothing else mixed in.

using namespace labcheck;
using namespace std::chrono_literals;

namespace {

std::string run_with_format(const std::string& format) {
    LabcheckProcess labcheck(
        {"check", "04", "--server", CORRECT_SERVER, "--only", "echo,eof", "--format", format}, {});
    auto status = labcheck.wait_exit(Deadline::after(60s));
    REQUIRE(status.has_value());
    INFO(labcheck.output());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    return labcheck.output();
}

}  // namespace

TEST_CASE("formats: labcheck check --format junit prints JUnit XML and nothing else") {
    std::string output = run_with_format("junit");
    pugi::xml_document document;
    auto parsed = document.load_string(output.c_str());
    INFO(output);
    REQUIRE(parsed);
    auto suite = document.child("testsuites").child("testsuite");
    CHECK(std::string(suite.attribute("name").value()) == "04-reaping-zombies");
    CHECK(suite.attribute("tests").as_int() == 2);
    CHECK(suite.attribute("failures").as_int() == 0);
    int cases = 0;
    for ([[maybe_unused]] auto testcase : suite.children("testcase")) ++cases;
    CHECK(cases == 2);
}

TEST_CASE("formats: labcheck check --format gradescope prints results.json and nothing else") {
    std::string output = run_with_format("gradescope");
    INFO(output);
    const auto json = nlohmann::json::parse(output);
    REQUIRE(json["tests"].size() == 2);
    int max = 0;
    for (const auto& test : json["tests"]) {
        CHECK(test["status"] == "passed");
        max += test["max_score"].get<int>();
    }
    CHECK(json["score"] == max);
    CHECK(max > 0);
}
