#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "build_command.hpp"
#include "checks/check.hpp"
#include "lab_spec.hpp"
#include "labcheck_process.hpp"
#include "procfs/process_table.hpp"
#include "temp_dir.hpp"
#include "text_file.hpp"

// labcheck grade on a class made of the corpus's servers (correct and broken, each
// turned into the single server.cpp a student hands in), a non-compiling one, one
// without a server.cpp and a hostile archive. Each student's CSV row must say what the
// corpus's expectations.toml says of that server, the summary must count the class's
// failures, and nothing may be left running.

namespace fs = std::filesystem;
using namespace labcheck;
using namespace std::chrono_literals;

namespace {

const fs::path kit = KIT_DIR;
const fs::path corpus = kit / "harness" / "corpus";

void put(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

// A corpus server as one self-contained file: its shared header pasted in place of
// the #include, as a student's server.cpp would be.
std::string single_file(const std::string& name) {
    std::string source = read_text(corpus / (name + ".cpp"));
    const std::string include = "#include \"corpus_server.hpp\"\n";
    auto at = source.find(include);
    REQUIRE(at != std::string::npos);
    std::string header = read_text(corpus / "corpus_server.hpp");
    header.erase(0, header.find("#pragma once") + std::string("#pragma once").size());
    return source.replace(at, include.size(), header);
}

void shell(const std::string& command) {
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
}

// grades.csv as rows of named fields (no field of these students needs quoting).
std::map<std::string, std::map<std::string, std::string>> read_csv(const fs::path& path) {
    std::istringstream in(read_text(path));
    std::string line;
    std::vector<std::string> header;
    std::map<std::string, std::map<std::string, std::string>> rows;
    auto split = [](std::string text) {
        if (!text.empty() && text.back() == '\r') text.pop_back();
        std::vector<std::string> fields;
        std::stringstream stream(text);
        for (std::string field; std::getline(stream, field, ',');) fields.push_back(field);
        if (!text.empty() && text.back() == ',') fields.push_back("");
        return fields;
    };
    std::getline(in, line);
    header = split(line);
    while (std::getline(in, line)) {
        auto fields = split(line);
        REQUIRE(fields.size() == header.size());
        for (std::size_t i = 0; i < header.size(); ++i) rows[fields[0]][header[i]] = fields[i];
    }
    return rows;
}

// The checks expectations.toml says `server` fails or skips.
std::set<std::string> not_passed(const std::string& server) {
    auto table = toml::parse_file((corpus / "expectations.toml").string());
    std::set<std::string> ids;
    for (const char* key : {"fail", "skip"})
        if (auto* list = table[server][key].as_array())
            for (const auto& id : *list) ids.insert(id.value_or(std::string()));
    return ids;
}

std::vector<pid_t> processes_of_grader_users() {
    std::vector<pid_t> found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        struct stat info {};
        if (::stat(entry.path().c_str(), &info) == 0 && info.st_uid >= 61000 && info.st_uid < 61064)
            found.push_back(std::stoi(name));
    }
    return found;
}

}  // namespace

TEST_CASE("grade: a class of corpus servers lands in grades.csv as the corpus expects") {
    TempDir scratch;
    fs::path subs = scratch.path() / "submissions";
    put(subs / "alice/server.cpp", single_file("sigign"));
    put(subs / "bob/server.cpp", single_file("no-fork"));
    put(scratch.path() / "carol/server.cpp", single_file("no-reaping"));
    shell("cd " + shell_quote((scratch.path() / "carol").string()) + " && cmake -E tar cf " +
          shell_quote((subs / "carol.zip").string()) + " --format=zip server.cpp");
    put(subs / "dave/server.cpp", "int main() { return not_declared_anywhere; }\n");
    put(subs / "erin/notes.txt", "the code is on my laptop\n");
    put(scratch.path() / "evil/server.cpp",
        read_text(kit / "solutions/04-reaping-zombies/server.cpp"));
    shell("tar -czf " + shell_quote((subs / "mallory.tar.gz").string()) + " -C " +
          shell_quote((scratch.path() / "evil").string()) +
          " --transform 's,^,../../,' server.cpp 2>/dev/null");
    put(subs / "frank/labs/04-reaping-zombies/server.cpp",
        read_text(kit / "solutions/04-reaping-zombies/server.cpp"));
    // Hostile in their own ways: a fork bomb, a daemon, an endless child, a flood of output.
    put(subs / "gina/server.cpp", single_file("fork-burst"));
    put(subs / "hugo/server.cpp", single_file("daemonizing"));
    put(subs / "ivan/server.cpp", single_file("spinning-child"));
    put(subs / "judy/server.cpp", single_file("chatty"));

    fs::path out = scratch.path() / "gradebook";
    LabcheckProcess labcheck({"grade", "04", subs.string(), "--out", out.string(), "--jobs", "2"},
                             {});
    auto status = labcheck.wait_exit(Deadline::after(240s));
    REQUIRE(status.has_value());
    INFO(labcheck.output());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    // Not a terminal: a line per student as each is done, then where the gradebook is.
    CHECK(labcheck.output().find("dave: 0/100 — does not compile (compile ") != std::string::npos);
    CHECK(labcheck.output().find("grades: 11 submissions graded into") != std::string::npos);

    auto spec = load_lab_spec(kit / "labs/04-reaping-zombies", check_ids());
    int max = 0;
    for (const auto& check : spec.checks)
        if (!check.expected_to_fail) max += check.points;
    auto rows = read_csv(out / "grades.csv");
    REQUIRE(rows.size() == 11);

    // Each corpus server: exactly the checks its expectations name earn nothing.
    for (auto [student, server] : std::map<std::string, std::string>{{"alice", "sigign"},
                                                                     {"bob", "no-fork"},
                                                                     {"carol", "no-reaping"},
                                                                     {"gina", "fork-burst"},
                                                                     {"hugo", "daemonizing"},
                                                                     {"ivan", "spinning-child"},
                                                                     {"judy", "chatty"}}) {
        INFO(student << " (" << server << ")");
        const auto& row = rows.at(student);
        CHECK(row.at("outcome") == "graded");
        auto broken = not_passed(server);
        int expected = 0;
        for (const auto& check : spec.checks) {
            if (check.expected_to_fail) continue;
            INFO(check.id);
            int earned = broken.contains(check.id) ? 0 : check.points;
            CHECK(row.at(check.id) == std::to_string(earned));
            expected += earned;
        }
        CHECK(row.at("score") == std::to_string(expected));
        CHECK(row.at("max") == std::to_string(max));
    }
    CHECK(rows.at("frank").at("score") == std::to_string(max));  // found in its labs/ tree
    CHECK(rows.at("dave").at("outcome") == "does not compile");
    CHECK(rows.at("erin").at("outcome") == "no server.cpp");
    CHECK(rows.at("mallory").at("outcome") == "bad archive");
    for (const char* student : {"dave", "erin", "mallory"}) {
        CHECK(rows.at(student).at("score") == "0");
        CHECK(rows.at(student).at("echo").empty());  // not run, not failed
    }
    CHECK(read_text(out / "reports/dave.md").find("not_declared_anywhere") != std::string::npos);
    CHECK(read_text(out / "reports/mallory.md").find("..") != std::string::npos);
    CHECK(fs::exists(out / "reports/alice.json"));
    CHECK(read_text(out / "reports/erin.json").find("\"outcome\": \"no server.cpp\"") !=
          std::string::npos);

    // The summary counts, over the 8 graded students, who did not pass each check
    // (failed or skipped): concurrent, bob (iterative) and gina (whose server never
    // listened); zombie-burst, carol, ivan, bob and gina.
    std::string summary = read_text(out / "summary.md");
    INFO(summary);
    CHECK(summary.find("11 submissions, 8 graded") != std::string::npos);
    CHECK(summary.find("| concurrent | 5 | 2 of 8 |") != std::string::npos);
    CHECK(summary.find("| zombie-burst | 15 | 4 of 8 |") != std::string::npos);
    CHECK(summary.find("| mallory | bad archive:") != std::string::npos);

    if (geteuid() == 0) CHECK(processes_of_grader_users().empty());
}

TEST_CASE("grade: a missing folder or an unknown check in --spec is refused with exit 2") {
    TempDir scratch;
    {
        LabcheckProcess labcheck({"grade", "04", (scratch.path() / "nowhere").string()}, {});
        auto status = labcheck.wait_exit(Deadline::after(20s));
        REQUIRE(status.has_value());
        CHECK(WEXITSTATUS(*status) == 2);
        CHECK(labcheck.output().find("is not a folder") != std::string::npos);
    }
    put(scratch.path() / "subs/alice/server.cpp", "int main() {}\n");
    std::string spec = read_text(kit / "labs/04-reaping-zombies/lab.toml");
    spec.replace(spec.find("id = \"echo\""), 11, "id = \"ipv6\"");
    put(scratch.path() / "mine.toml", spec);
    LabcheckProcess labcheck({"grade", "04", (scratch.path() / "subs").string(), "--spec",
                              (scratch.path() / "mine.toml").string()},
                             {});
    auto status = labcheck.wait_exit(Deadline::after(20s));
    REQUIRE(status.has_value());
    INFO(labcheck.output());
    CHECK(WEXITSTATUS(*status) == 2);
    CHECK(labcheck.output().find("mine.toml") != std::string::npos);
}

TEST_CASE("grade: --spec grades only the instructor's checks, with the instructor's points") {
    TempDir scratch;
    put(scratch.path() / "subs/alice/server.cpp", single_file("sigign"));
    put(scratch.path() / "subs/bob/server.cpp", single_file("no-reaping"));
    // Lab 04's lab.toml with two checks kept, echo worth 40 and no-zombies worth 60.
    std::string lab = read_text(kit / "labs/04-reaping-zombies/lab.toml");
    std::string spec = lab.substr(0, lab.find("[[check]]"));
    for (auto [id, points] : std::map<std::string, int>{{"echo", 40}, {"no-zombies", 60}}) {
        auto start = lab.find("[[check]]\nid = \"" + id + "\"");
        REQUIRE(start != std::string::npos);
        std::string block = lab.substr(start, lab.find("[[check]]", start + 1) - start);
        auto at = block.find("points = ");
        block.replace(at, block.find('\n', at) - at, "points = " + std::to_string(points));
        spec += block;
    }
    put(scratch.path() / "mine.toml", spec);

    fs::path out = scratch.path() / "out";
    LabcheckProcess labcheck({"grade", "04", (scratch.path() / "subs").string(), "--spec",
                              (scratch.path() / "mine.toml").string(), "--out", out.string()},
                             {});
    auto status = labcheck.wait_exit(Deadline::after(120s));
    REQUIRE(status.has_value());
    INFO(labcheck.output());
    CHECK(WEXITSTATUS(*status) == 0);
    std::string csv = read_text(out / "grades.csv");
    INFO(csv);
    CHECK(csv.starts_with("student,score,max,outcome,echo,no-zombies\r\n"));
    CHECK(csv.find("alice,100,100,graded,40,60\r\n") != std::string::npos);
    CHECK(csv.find("bob,40,100,graded,40,0\r\n") != std::string::npos);
}
