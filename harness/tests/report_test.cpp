#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <set>

#include "report/report.hpp"

using namespace labcheck;
using namespace std::chrono_literals;

namespace {

CheckResult result(std::string id, Status status, int points, int max_points) {
    CheckResult check;
    check.id = std::move(id);
    check.title = "title of " + check.id;
    check.status = status;
    check.points = points;
    check.max_points = max_points;
    check.duration = 12ms;
    return check;
}

RunReport sample() {
    RunReport report;
    report.lab = "03-fork-per-client";
    report.server = "build/labs/03-fork-per-client/server";
    report.port = 41205;
    report.protocol = "swapcase";
    report.duration = 812ms;

    report.checks.push_back(result("listens", Status::pass, 10, 10));

    CheckResult eof = result("eof", Status::fail, 0, 20);
    eof.message = "the server did not close the connection\nwithin 2 s of the client's EOF";
    eof.hint = "Step 3: Read until EOF (README.md#step-3-read-until-eof): read() returns 0";
    eof.log_tail = "accepted a client\nread: Connection reset by peer\n";
    report.checks.push_back(eof);

    CheckResult hygiene = result("fd-hygiene", Status::skip, 0, 20);
    hygiene.message = "no connection is served by another process";
    report.checks.push_back(hygiene);

    CheckResult zombies = result("no-zombies", Status::fail, 0, 0);
    zombies.expected_to_fail = true;
    zombies.message = "2 zombies remain";
    zombies.hint = "lab 04 fixes this";
    report.checks.push_back(zombies);

    CheckResult crashed = result("concurrent", Status::error, 0, 50);
    crashed.message = "labcheck could not start a client: Too many open files";
    report.checks.push_back(crashed);
    return report;
}

}  // namespace

TEST_CASE("report: scores count graded checks only") {
    const RunReport report = sample();
    CHECK(report.score() == 10);
    CHECK(report.max_score() == 100);
    CHECK_FALSE(report.no_graded_failures());
    CHECK(to_string(Status::pass) == "pass");
    CHECK(to_string(Status::fail) == "fail");
    CHECK(to_string(Status::skip) == "skip");
    CHECK(to_string(Status::error) == "error");

    RunReport passing;
    passing.checks.push_back(result("listens", Status::pass, 10, 10));
    CheckResult expected = result("concurrent", Status::fail, 0, 0);
    expected.expected_to_fail = true;
    passing.checks.push_back(expected);
    CHECK(passing.no_graded_failures());
    CHECK(passing.max_score() == 10);

    // A graded check that could not apply is listed, but fails nothing.
    RunReport attached = passing;
    attached.checks.push_back(result("restart", Status::skip, 0, 10));
    CHECK(attached.no_graded_failures());
    CHECK(attached.score() == 10);
    CHECK(attached.max_score() == 20);
    CHECK(render_text(attached, TextStyle{false})
              .find("no graded check failed; 1 skipped: restart") != std::string::npos);
}

TEST_CASE("report: JSON has the documented fields") {
    const nlohmann::json json = nlohmann::json::parse(render_json(sample()));
    CHECK(json["lab"] == "03-fork-per-client");
    CHECK(json["server"] == "build/labs/03-fork-per-client/server");
    CHECK(json["port"] == 41205);
    CHECK(json["protocol"] == "swapcase");
    CHECK(json["score"] == 10);
    CHECK(json["max_score"] == 100);
    CHECK(json["duration_ms"] == 812);
    REQUIRE(json["checks"].size() == 5);

    const nlohmann::json& eof = json["checks"][1];
    CHECK(eof["id"] == "eof");
    CHECK(eof["title"] == "title of eof");
    CHECK(eof["status"] == "fail");
    CHECK(eof["points"] == 0);
    CHECK(eof["max_points"] == 20);
    CHECK(eof["expected_to_fail"] == false);
    CHECK(eof["message"] ==
          "the server did not close the connection\nwithin 2 s of the client's EOF");
    CHECK(eof["hint"].get<std::string>().find("step-3-read-until-eof") != std::string::npos);
    CHECK(eof["log_tail"] == "accepted a client\nread: Connection reset by peer\n");
    CHECK(eof["duration_ms"] == 12);

    CHECK(json["checks"][2]["status"] == "skip");
    CHECK(json["checks"][3]["expected_to_fail"] == true);
    CHECK(json["checks"][4]["status"] == "error");
}

TEST_CASE("report: JSON keeps the documented key order and 2-space indent") {
    const std::string text = render_json(sample());
    CHECK(text.rfind("{\n  \"lab\": \"03-fork-per-client\",\n  \"server\":", 0) == 0);
    CHECK(text.find("\"score\"") < text.find("\"max_score\""));
    CHECK(text.find("\"max_score\"") < text.find("\"checks\""));
}

TEST_CASE("report: JSON survives a server log that is not UTF-8") {
    RunReport report = sample();
    report.checks[1].log_tail = std::string("bad \xff\xfe bytes\n");
    const nlohmann::json json = nlohmann::json::parse(render_json(report));
    CHECK(json["checks"][1]["log_tail"].get<std::string>().find("bytes") != std::string::npos);
}

TEST_CASE("report: text without colour") {
    const std::string text = render_text(sample(), TextStyle{false});
    CAPTURE(text);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.rfind("lab 03-fork-per-client (protocol swapcase): checking "
                     "build/labs/03-fork-per-client/server on port 41205\n",
                     0) == 0);
    CHECK(text.find("\nPASS   listens     10/10  title of listens\n") != std::string::npos);
    CHECK(text.find("\nFAIL   eof          0/20  title of eof\n"
                    "       the server did not close the connection\n"
                    "       within 2 s of the client's EOF\n"
                    "       hint: Step 3: Read until EOF (README.md#step-3-read-until-eof): "
                    "read() returns 0\n"
                    "       server log (last lines):\n"
                    "         accepted a client\n"
                    "         read: Connection reset by peer\n") != std::string::npos);
    CHECK(text.find("\nSKIP   fd-hygiene   0/20  title of fd-hygiene\n"
                    "       skipped: no connection is served by another process\n") !=
          std::string::npos);
    CHECK(text.find("\nFAIL (expected at this stage)  no-zombies  title of no-zombies\n"
                    "       2 zombies remain\n"
                    "       hint: lab 04 fixes this\n") != std::string::npos);
    CHECK(text.find("\nERROR  concurrent   0/50  title of concurrent\n"
                    "       labcheck could not start a client: Too many open files\n") !=
          std::string::npos);
    CHECK(text.find("\n\nscore: 10/100 — 1 check failed: eof; 1 could not run: concurrent; "
                    "1 skipped: fd-hygiene\n") != std::string::npos);
    CHECK(text.back() == '\n');
}

TEST_CASE("report: text summary names the failed checks, or says all passed") {
    RunReport report;
    report.lab = "01-iterative-echo";
    report.protocol = "plain";
    report.checks.push_back(result("listens", Status::pass, 30, 30));
    report.checks.push_back(result("echo", Status::fail, 0, 40));
    report.checks.push_back(result("eof", Status::fail, 0, 30));
    CHECK(render_text(report, {}).find("\nscore: 30/100 — 2 checks failed: echo, eof\n") !=
          std::string::npos);

    report.checks[1].status = Status::pass;
    report.checks[1].points = 40;
    report.checks[2].status = Status::pass;
    report.checks[2].points = 30;
    CheckResult expected = result("concurrent", Status::fail, 0, 0);
    expected.expected_to_fail = true;
    report.checks.push_back(expected);
    const std::string text = render_text(report, {});
    CHECK(text.find("\nscore: 100/100 — every graded check passed\n") != std::string::npos);
    CHECK(text.find("FAIL (expected at this stage)  concurrent") != std::string::npos);

    // An ungraded check that passes says it is not graded.
    report.checks[3].status = Status::pass;
    CHECK(render_text(report, {})
              .find("PASS   concurrent      -  title of concurrent  (not graded "
                    "at this stage)\n") != std::string::npos);
}

TEST_CASE("report: text with colour") {
    const std::string text = render_text(sample(), TextStyle{true});
    CHECK(text.find('\x1b') != std::string::npos);
    CHECK(text.find("\x1b[32mPASS\x1b[0m") != std::string::npos);
    CHECK(text.find("\x1b[31mFAIL\x1b[0m") != std::string::npos);
    CHECK(text.find("\x1b[33mFAIL (expected at this stage)\x1b[0m") != std::string::npos);
    CHECK(text.find("\x1b[33mSKIP\x1b[0m") != std::string::npos);
    CHECK(text.find("\x1b[1m\x1b[31mscore: 10/100") != std::string::npos);
}

TEST_CASE("report: a run of skips with one reason gives the reason once") {
    RunReport report;
    report.lab = "05-robust-server";
    CheckResult listens;
    listens.id = "listens";
    listens.status = Status::fail;
    listens.max_points = 4;
    listens.message = "it exited with status 1 before listening";
    report.checks.push_back(listens);
    for (const char* id : {"echo", "all-bytes", "eof"}) {
        CheckResult skipped;
        skipped.id = id;
        skipped.status = Status::skip;
        skipped.max_points = 3;
        skipped.message = "not run: the server did not start listening (see listens)";
        report.checks.push_back(skipped);
    }
    std::string text = render_text(report, TextStyle{false});
    std::size_t count = 0;
    for (auto at = text.find("not run: the server"); at != std::string::npos;
         at = text.find("not run: the server", at + 1))
        ++count;
    CHECK(count == 1);
    CHECK(text.find("SKIP") != std::string::npos);
    CHECK(text.find("eof") != std::string::npos);
}

TEST_CASE("report: Gradescope's results.json has the fields Gradescope documents") {
    const nlohmann::json json = nlohmann::json::parse(render_gradescope(sample()));
    CHECK(json["score"] == 10);
    CHECK(json["execution_time"] == 1);  // 812 ms, in whole seconds, rounded up
    CHECK(json["output"].is_string());
    CHECK(json["visibility"] == "visible");
    REQUIRE(json["tests"].size() == 5);
    const std::set<std::string> visibilities{"hidden", "after_due_date", "after_published",
                                             "visible"};
    int sum = 0;
    for (const auto& test : json["tests"]) {
        CHECK(test["name"].is_string());
        CHECK(test["score"].is_number());
        CHECK(test["max_score"].is_number());
        CHECK((test["status"] == "passed" || test["status"] == "failed"));
        CHECK(test["output"].is_string());
        CHECK(visibilities.contains(test["visibility"].get<std::string>()));
        sum += test["score"].get<int>();
    }
    CHECK(sum == json["score"]);

    const auto& listens = json["tests"][0];
    CHECK(listens["name"] == "listens: title of listens");
    CHECK(listens["status"] == "passed");
    CHECK(listens["max_score"] == 10);
    const auto& eof = json["tests"][1];
    CHECK(eof["status"] == "failed");
    CHECK(eof["score"] == 0);
    CHECK(eof["max_score"] == 20);
    const std::string story = eof["output"];
    CHECK(story.find("within 2 s of the client's EOF") != std::string::npos);
    CHECK(story.find("hint: Step 3: Read until EOF") != std::string::npos);
    CHECK(story.find("read: Connection reset by peer") != std::string::npos);
    CHECK(json["tests"][2]["status"] == "failed");  // skipped, yet graded: 0 of 20
    const auto& shown = json["tests"][3];           // expected to fail at this stage
    CHECK(shown["max_score"] == 0);
    CHECK(shown["status"] == "passed");
    CHECK(shown["name"].get<std::string>().find("not graded at this stage") != std::string::npos);
    CHECK(json["tests"][4]["status"] == "failed");  // error
}

namespace {

pugi::xml_document parse_xml(const std::string& text) {
    pugi::xml_document document;
    pugi::xml_parse_result parsed = document.load_string(text.c_str());
    INFO(text);
    REQUIRE_MESSAGE(parsed, parsed.description() << " at offset " << parsed.offset);
    return document;
}

}  // namespace

TEST_CASE("report: JUnit XML parses, with a testcase per check and counts that add up") {
    auto document = parse_xml(render_junit(sample()));
    auto suites = document.child("testsuites");
    REQUIRE(suites);
    auto suite = suites.child("testsuite");
    REQUIRE(suite);
    CHECK(std::string(suite.attribute("name").value()) == "03-fork-per-client");
    for (auto node : {suites, suite}) {
        CHECK(node.attribute("tests").as_int() == 5);
        CHECK(node.attribute("failures").as_int() == 1);
        CHECK(node.attribute("errors").as_int() == 1);
        CHECK(node.attribute("skipped").as_int() == 2);
        CHECK(node.attribute("time").as_double() == doctest::Approx(0.812));
    }
    CHECK(std::string(suite.child("properties")
                          .find_child_by_attribute("property", "name", "score")
                          .attribute("value")
                          .value()) == "10");

    std::vector<pugi::xml_node> cases;
    for (auto testcase : suite.children("testcase")) cases.push_back(testcase);
    REQUIRE(cases.size() == 5);
    for (auto testcase : cases) {
        CHECK(std::string(testcase.attribute("classname").value()) ==
              "labcheck.03-fork-per-client");
        CHECK(testcase.attribute("time").as_double() == doctest::Approx(0.012));
    }
    CHECK(std::string(cases[0].attribute("name").value()) == "listens: title of listens");
    CHECK_FALSE(cases[0].first_child());  // passed: no child

    auto failure = cases[1].child("failure");
    REQUIRE(failure);
    CHECK(std::string(failure.attribute("message").value()) ==
          "the server did not close the connection");
    CHECK(std::string(failure.attribute("type").value()) == "fail");
    CHECK(std::string(failure.text().get()).find("hint: Step 3") != std::string::npos);

    CHECK(cases[2].child("skipped"));
    auto shown = cases[3].child("skipped");
    REQUIRE(shown);
    CHECK(std::string(shown.attribute("message").value()).starts_with("expected to fail"));
    CHECK(cases[4].child("error"));
}

TEST_CASE("report: JUnit XML stays well-formed whatever bytes a server's log holds") {
    RunReport report = sample();
    report.checks[1].log_tail = std::string("ctl \x01\x1b[0m bad \xff\xfe <&> ]]> \"q\" ok\n");
    report.checks[1].message = std::string("reply \xc3\xa9 and \xed\xa0\x80 surrogate");
    auto document = parse_xml(render_junit(report));
    auto failure = document.child("testsuites")
                       .child("testsuite")
                       .find_child_by_attribute("testcase", "name", "eof: title of eof")
                       .child("failure");
    REQUIRE(failure);
    std::string text = failure.text().get();
    CHECK(text.find("<&> ]]> \"q\" ok") != std::string::npos);
    CHECK(text.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD for what XML forbids
    CHECK(text.find('\x01') == std::string::npos);
    CHECK(std::string(failure.attribute("message").value()).find("reply \xc3\xa9") == 0);
}
