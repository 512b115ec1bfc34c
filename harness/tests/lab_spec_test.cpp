#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "checks/check.hpp"
#include "fingerprint.hpp"
#include "lab_spec.hpp"

using namespace labcheck;

namespace {

// The ids the registry knows: the spec parser is tested against the real list.
const std::span<const std::string_view> known = labcheck::check_ids();

bool is_known(std::string_view id) {
    return std::find(known.begin(), known.end(), id) != known.end();
}

const std::string kOrigin = "labs/01-iterative-echo/lab.toml";

const std::string kValid = R"(title = "An iterative echo server"
protocol = "plain"

[[check]]
id = "listens"
points = 10
step = "Step 1: Create a socket, bind and listen"
anchor = "step-1-create-a-socket-bind-and-listen"
hints = ["nudge", "more", "nearly gives it away"]

[[check]]
id = "concurrent"
expected_to_fail = true
step = "Step 5: One client at a time"
anchor = "step-5-one-client-at-a-time"
hints = ["lab 03 fixes this"]
)";

// The SpecError message parsing `text` gives; fails the test when it parses.
std::string error_of(const std::string& text) {
    try {
        parse_lab_spec(text, kOrigin, known);
    } catch (const SpecError& error) {
        const std::string message = error.what();
        CHECK(message.find('\n') == std::string::npos);  // one line
        return message;
    }
    FAIL("parsed without error: " << text);
    return "";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

// GitHub's heading anchor: lowercase, punctuation dropped, spaces to hyphens.
std::string github_anchor(const std::string& heading) {
    std::string anchor;
    for (unsigned char c : heading) {
        if (std::isalnum(c) || c == '-' || c == '_') {
            anchor += static_cast<char>(std::tolower(c));
        } else if (c == ' ') {
            anchor += '-';
        }
    }
    return anchor;
}

}  // namespace

TEST_CASE("lab_spec: a valid spec is read whole") {
    const LabSpec spec = parse_lab_spec(kValid, kOrigin, known);
    CHECK(spec.id == "01-iterative-echo");
    CHECK(spec.number == 1);
    CHECK(spec.title == "An iterative echo server");
    CHECK(spec.protocol == Protocol::plain);
    CHECK(spec.text == "README.md");
    CHECK(spec.folder == std::filesystem::path("labs/01-iterative-echo"));
    REQUIRE(spec.checks.size() == 2);

    const CheckSpec& listens = spec.checks[0];
    CHECK(listens.id == "listens");
    CHECK(listens.points == 10);
    CHECK_FALSE(listens.expected_to_fail);
    CHECK(listens.step == "Step 1: Create a socket, bind and listen");
    CHECK(listens.anchor == "step-1-create-a-socket-bind-and-listen");
    CHECK(listens.hints == std::vector<std::string>{"nudge", "more", "nearly gives it away"});

    const CheckSpec& concurrent = spec.checks[1];
    CHECK(concurrent.expected_to_fail);
    CHECK(concurrent.points == 0);

    CHECK(spec.find("concurrent") == &spec.checks[1]);
    CHECK(spec.find("echo") == nullptr);
}

TEST_CASE("lab_spec: optional keys") {
    std::string text =
        replace(kValid, "protocol = \"plain\"", "protocol = \"swapcase\"\ntext = \"LAB.md\"");
    text = replace(text, "expected_to_fail = true", "expected_to_fail = true\npoints = 0");
    const LabSpec spec = parse_lab_spec(text, "spec.toml", known);
    CHECK(spec.protocol == Protocol::swapcase);
    CHECK(spec.text == "LAB.md");
    CHECK(spec.checks[1].points == 0);
    CHECK(spec.id.empty());  // not inside a lab folder
    CHECK(spec.number == 0);
}

TEST_CASE("lab_spec: starter_fingerprint is optional and must be fnv1a64:<16 hex digits>") {
    CHECK_FALSE(parse_lab_spec(kValid, kOrigin, known).starter_fingerprint.has_value());

    const std::string with_key = replace(kValid, "protocol = \"plain\"",
                                         "protocol = \"plain\"\nstarter_fingerprint = "
                                         "\"fnv1a64:cbf29ce484222325\"");
    CHECK(parse_lab_spec(with_key, kOrigin, known).starter_fingerprint ==
          "fnv1a64:cbf29ce484222325");

    for (const char* bad :
         {"\"cbf29ce484222325\"", "\"fnv1a64:CBF29CE484222325\"", "\"fnv1a64:1234\"", "42"}) {
        CAPTURE(bad);
        const std::string message =
            error_of(replace(kValid, "protocol = \"plain\"",
                             "protocol = \"plain\"\nstarter_fingerprint = " + std::string(bad)));
        CHECK(message.rfind(kOrigin + ":3: starter_fingerprint ", 0) == 0);
        CHECK(message.find("fnv1a64:<16 hex digits>") != std::string::npos);
    }
}

TEST_CASE("lab_spec: TOML syntax errors give the line") {
    const std::string message = error_of(replace(kValid, "points = 10", "points = = 10"));
    CHECK(message.rfind(kOrigin + ":6: not valid TOML", 0) == 0);
}

TEST_CASE("lab_spec: unknown keys are caught with a suggestion") {
    CHECK(error_of(replace(kValid, "points = 10", "pionts = 10")) ==
          kOrigin +
              ":6: unknown key \"pionts\" in check \"listens\" (did you mean \"points\"? "
              "allowed: id, points, expected_to_fail, step, anchor, hints)");
    const std::string top = error_of(replace(kValid, "title =", "titel ="));
    CHECK(top.rfind(kOrigin + ":1: unknown key \"titel\" (did you mean \"title\"?", 0) == 0);
    const std::string far = error_of(replace(kValid, "points = 10", "colour = 10"));
    CHECK(far.find("did you mean") == std::string::npos);
    CHECK(far.find("allowed: id, points") != std::string::npos);
}

TEST_CASE("lab_spec: unknown check ids name the known ones") {
    const std::string message = error_of(replace(kValid, "id = \"listens\"", "id = \"eccho\""));
    CHECK(message.rfind(kOrigin + ":5: unknown check id \"eccho\" (did you mean \"echo\"? known: "
                                  "listens, echo, all-bytes,",
                        0) == 0);
    // ...and every known id, the last one closing the list.
    CHECK(message.find(fmt::format("{})", known.back())) != std::string::npos);

    const std::string missing = error_of(replace(kValid, "id = \"listens\"\n", ""));
    CHECK(missing.rfind(kOrigin + ":4: missing id in check #1; add id = \"echo\"", 0) == 0);
}

TEST_CASE("lab_spec: duplicate check ids") {
    const std::string text = replace(kValid, "id = \"concurrent\"", "id = \"listens\"");
    CHECK(error_of(text) == kOrigin +
                                ":11: check id \"listens\" appears twice (first at line 4); "
                                "each check may be listed once, remove one");
}

TEST_CASE("lab_spec: points") {
    CHECK(error_of(replace(kValid, "points = 10", "points = -5")) ==
          kOrigin + ":6: points in check \"listens\" must not be negative (got -5); use 0 or more");
    CHECK(error_of(replace(kValid, "points = 10", "points = 2.5"))
              .find(":6: points in check \"listens\" must be a whole number") != std::string::npos);
    CHECK(error_of(replace(kValid, "points = 10", "points = \"10\""))
              .find("must be a whole number, not a string") != std::string::npos);
    CHECK(error_of(
              replace(kValid, "expected_to_fail = true", "expected_to_fail = true\npoints = 5")) ==
          kOrigin +
              ":14: check \"concurrent\" is expected_to_fail, so it is not graded: remove "
              "points = 5 (or make it graded by removing expected_to_fail)");
    CHECK(error_of(replace(kValid, "points = 10\n", "")) ==
          kOrigin +
              ":4: check \"listens\" has no points; add points = N (or expected_to_fail = "
              "true if it is shown but not graded at this stage)");
    CHECK(error_of(replace(kValid, "expected_to_fail = true", "expected_to_fail = \"yes\""))
              .find(":13: expected_to_fail in check \"concurrent\" must be true or false") !=
          std::string::npos);
}

TEST_CASE("lab_spec: title and protocol") {
    CHECK(error_of(replace(kValid, "title = \"An iterative echo server\"\n", "")) ==
          kOrigin +
              ": missing title; add the lab's name, e.g. title = \"An iterative echo server\"");
    CHECK(error_of(replace(kValid, "title = \"An iterative echo server\"", "title = 1"))
              .rfind(kOrigin + ":1: title must be a string", 0) == 0);
    CHECK(error_of(replace(kValid, "title = \"An iterative echo server\"", "title = \"\""))
              .rfind(kOrigin + ":1: title is empty", 0) == 0);
    CHECK(error_of(replace(kValid, "protocol = \"plain\"\n", "")) ==
          kOrigin + ": missing protocol; add protocol = \"plain\" or protocol = \"swapcase\"");
    CHECK(error_of(replace(kValid, "\"plain\"", "\"swap\"")) ==
          kOrigin + ":2: unknown protocol \"swap\" (use \"plain\" or \"swapcase\")");
}

TEST_CASE("lab_spec: checks must exist and be [[check]] tables") {
    const std::string head = "title = \"t\"\nprotocol = \"plain\"\n";
    CHECK(error_of(head) == kOrigin +
                                ": no checks; add at least one [[check]] table with id, "
                                "points, step, anchor and hints");
    CHECK(error_of(head + "check = []\n") ==
          kOrigin + ":3: no checks; add at least one [[check]] table");
    CHECK(error_of(head + "[check]\nid = \"echo\"\n")
              .rfind(kOrigin + ":3: check must be a list of tables: write [[check]]", 0) == 0);
}

TEST_CASE("lab_spec: step and anchor") {
    CHECK(error_of(replace(kValid, "step = \"Step 1: Create a socket, bind and listen\"\n", ""))
              .rfind(kOrigin + ":4: missing step in check \"listens\"; add step = ", 0) == 0);
    CHECK(error_of(replace(kValid, "anchor = \"step-1-create-a-socket-bind-and-listen\"\n", ""))
              .rfind(kOrigin + ":4: missing anchor in check \"listens\"", 0) == 0);
    CHECK(
        error_of(replace(kValid, "anchor = \"step-1-create-a-socket-bind-and-listen\"",
                         "anchor = \"#Step 1\""))
            .rfind(kOrigin + ":8: anchor \"#Step 1\" in check \"listens\" is not a heading anchor",
                   0) == 0);
}

TEST_CASE("lab_spec: hints must be a non-empty array of strings") {
    const std::string fix = "hints in check \"listens\" must be a non-empty array of strings";
    const std::string line = "hints = [\"nudge\", \"more\", \"nearly gives it away\"]";
    CHECK(error_of(replace(kValid, line, "hints = []")) ==
          kOrigin + ":9: " + fix +
              ", e.g. hints = [\"a nudge\", \"a stronger hint\", \"nearly the answer\"]");
    CHECK(error_of(replace(kValid, line, "hints = \"nudge\"")).rfind(kOrigin + ":9: " + fix, 0) ==
          0);
    CHECK(error_of(replace(kValid, line, "hints = [\"nudge\", 2]"))
              .rfind(kOrigin + ":9: " + fix, 0) == 0);
    CHECK(error_of(replace(kValid, line, "hints = [\"\"]")).rfind(kOrigin + ":9: " + fix, 0) == 0);
    CHECK(error_of(replace(kValid, line + "\n", ""))
              .rfind(kOrigin + ":4: missing hints in check \"listens\"; " + fix, 0) == 0);
}

TEST_CASE("lab_spec: load_lab_spec reads folder/lab.toml") {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("lab_spec_test_" + std::to_string(::getpid()));
    const std::filesystem::path folder = dir / "07-test-lab";
    std::filesystem::create_directories(folder);

    SUBCASE("missing lab.toml") {
        try {
            load_lab_spec(folder, known);
            FAIL("no error");
        } catch (const SpecError& error) {
            CHECK(
                std::string(error.what()) ==
                (folder / "lab.toml").string() +
                    ": missing; a lab folder holds lab.toml (its spec), README.md and server.cpp");
        }
    }
    SUBCASE("missing folder") {
        CHECK_THROWS_WITH_AS(load_lab_spec(dir / "08-nowhere", known),
                             ((dir / "08-nowhere").string() + ": no such lab folder").c_str(),
                             SpecError);
    }
    SUBCASE("a spec is read, its id and number from the folder") {
        std::ofstream(folder / "lab.toml") << kValid;
        const LabSpec spec = load_lab_spec(folder, known);
        CHECK(spec.id == "07-test-lab");
        CHECK(spec.number == 7);
        CHECK(spec.folder == folder);
        CHECK(spec.checks.size() == 2);
        // A trailing slash names the same folder.
        CHECK(load_lab_spec(folder.string() + "/", known).id == "07-test-lab");
    }
    SUBCASE("errors name the file") {
        std::ofstream(folder / "lab.toml") << kValid + "oops\n";
        CHECK_THROWS_AS(load_lab_spec(folder, known), SpecError);
        try {
            load_lab_spec(folder, known);
        } catch (const SpecError& error) {
            CHECK(std::string(error.what()).rfind((folder / "lab.toml").string() + ":", 0) == 0);
        }
    }
    SUBCASE("a folder not named NN-name") {
        const std::filesystem::path odd = dir / "lab";
        std::filesystem::create_directories(odd);
        std::ofstream(odd / "lab.toml") << kValid;
        CHECK_THROWS_WITH_AS(load_lab_spec(odd, known),
                             doctest::Contains("a lab folder's name must be NN-name"), SpecError);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("lab_spec: the kit's labs are valid and grade 100 points each") {
    const std::filesystem::path labs = std::filesystem::path(KIT_DIR) / "labs";
    // The checks each lab grades, by DESIGN.md.
    const std::vector<std::string> base = {"listens",    "echo", "all-bytes", "large-payload",
                                           "fragmented", "eof",  "sequential"};
    std::vector<std::set<std::string>> graded_by_lab(6);
    graded_by_lab[1] = {base.begin(), base.end()};
    graded_by_lab[2] = graded_by_lab[1];
    graded_by_lab[3] = graded_by_lab[2];
    graded_by_lab[3].insert({"concurrent", "process-per-client", "fd-hygiene"});
    graded_by_lab[4] = graded_by_lab[3];
    graded_by_lab[4].insert({"no-zombies", "zombie-burst", "accept-after-signal"});
    graded_by_lab[5] = graded_by_lab[4];
    graded_by_lab[5].insert({"client-reset", "restart", "shutdown", "close-wait", "ipv6"});

    int seen = 0;
    for (const auto& entry : std::filesystem::directory_iterator(labs)) {
        if (!entry.is_directory() || !std::filesystem::exists(entry.path() / "lab.toml")) continue;
        CAPTURE(entry.path().string());
        const LabSpec spec = load_lab_spec(entry.path(), known);
        ++seen;
        CHECK(spec.id == entry.path().filename().string());
        CHECK(spec.protocol == (spec.number == 1 ? Protocol::plain : Protocol::swapcase));

        int total = 0;
        std::set<std::string> graded;
        for (const CheckSpec& check : spec.checks) {
            CAPTURE(check.id);
            CHECK(is_known(check.id));
            CHECK(check.hints.size() >= 2);
            CHECK(check.anchor == github_anchor(check.step));
            CHECK(check.step.rfind("Step ", 0) == 0);
            if (check.expected_to_fail) {
                CHECK(check.points == 0);
            } else {
                CHECK(check.points > 0);
                total += check.points;
                graded.insert(check.id);
            }
        }
        CHECK(total == 100);
        if (spec.number >= 1 && spec.number <= 5) CHECK(graded == graded_by_lab[spec.number]);
    }
    CHECK(seen >= 5);
}

namespace {

// The kit's lab folders that have a lab.toml, with their specs.
std::vector<LabSpec> kit_lab_specs() {
    std::vector<LabSpec> specs;
    const std::filesystem::path labs = std::filesystem::path(KIT_DIR) / "labs";
    for (const auto& entry : std::filesystem::directory_iterator(labs))
        if (entry.is_directory() && std::filesystem::exists(entry.path() / "lab.toml"))
            specs.push_back(load_lab_spec(entry.path(), known));
    std::sort(specs.begin(), specs.end(),
              [](const LabSpec& a, const LabSpec& b) { return a.id < b.id; });
    return specs;
}

}  // namespace

// labcheck progress calls a lab "not started" while its server.cpp matches the
// fingerprint: a starter edited without updating lab.toml would show every
// student's untouched lab as started. A failure prints the line to paste.
TEST_CASE("lab_spec: each starter_fingerprint matches its starter server.cpp") {
    for (const LabSpec& spec : kit_lab_specs()) {
        const std::filesystem::path starter = spec.folder / "server.cpp";
        if (!spec.starter_fingerprint) continue;
        CAPTURE(spec.id);
        REQUIRE_MESSAGE(std::filesystem::exists(starter),
                        spec.id << "/lab.toml has a starter_fingerprint but there is no "
                                << starter.string() << ": remove the key, or add the starter");
        const std::string actual = fingerprint_of_file(starter);
        // In a student's kit the starter is theirs to change: only the kit's own CI
        // (LABKIT_STRICT_STARTERS=1, set by .ci/run) holds the starters to their fingerprints.
        if (std::getenv("LABKIT_STRICT_STARTERS")) {
            CHECK_MESSAGE(*spec.starter_fingerprint == actual,
                          starter.string() << " changed: in " << (spec.folder / "lab.toml").string()
                                           << " write\nstarter_fingerprint = \"" << actual << "\"");
        } else if (*spec.starter_fingerprint != actual) {
            MESSAGE(starter.string() << " is no longer the starter (your work, presumably)");
        }
    }
}

TEST_CASE("lab_spec: every lab with a starter server.cpp has a starter_fingerprint") {
    for (const LabSpec& spec : kit_lab_specs()) {
        const std::filesystem::path starter = spec.folder / "server.cpp";
        if (!std::filesystem::exists(starter)) continue;
        CAPTURE(spec.id);
        CHECK_MESSAGE(spec.starter_fingerprint.has_value(),
                      (spec.folder / "lab.toml").string()
                          << " has no starter_fingerprint: add, after protocol,\n"
                          << "starter_fingerprint = \"" << fingerprint_of_file(starter) << "\"");
    }
}

namespace {

// The "## ..." headings of a lab text.
std::set<std::string> headings_of(const std::filesystem::path& text) {
    std::ifstream in(text);
    std::set<std::string> headings;
    for (std::string line; std::getline(in, line);)
        if (line.rfind("## ", 0) == 0) headings.insert(line.substr(3));
    return headings;
}

}  // namespace

// A hint that says "reread Step 3: ..." must lead to a heading the student can find.
TEST_CASE("lab_spec: every step a check names is a heading of its lab text") {
    for (const LabSpec& spec : kit_lab_specs()) {
        const std::filesystem::path text = spec.folder / spec.text;
        if (!std::filesystem::exists(text)) continue;  // a lab whose text is not written yet
        CAPTURE(text.string());
        const auto headings = headings_of(text);
        for (const CheckSpec& check : spec.checks) {
            CAPTURE(check.id);
            CHECK_MESSAGE(headings.count(check.step) == 1,
                          "no heading \"## " << check.step << "\" in " << text.string());
        }
    }
}
