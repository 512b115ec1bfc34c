// One corpus server against labcheck: runs `labcheck check 05 --server SERVER
// --format json`, compares every check's status with expectations.toml (the
// listed checks must fail or skip, all others must pass) and the exit status,
// then makes sure no process of the server is left on the machine.
//
// usage: corpus_verdict LABCHECK SERVER EXPECTATIONS.toml NAME [--attach | --fixed-port]
//
// With --attach, the server is started here (as a student would in another
// terminal) and labcheck attaches to it: the checks that must start or stop the
// server are then expected to skip, the others to keep their verdicts. With
// --fixed-port, labcheck runs the server as one that hard-codes its port
// (`--port P -- SERVER P`): every verdict must stay the same.

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "hand_started_server.hpp"
#include "os/deadline.hpp"
#include "ports.hpp"
#include "procfs/process_table.hpp"
#include "procfs/tcp_table.hpp"
#include "verdict_support.hpp"

namespace fs = std::filesystem;

namespace {

std::set<std::string> string_set(const toml::table& table, const char* key) {
    std::set<std::string> result;
    if (const auto* array = table[key].as_array())
        for (const auto& item : *array)
            if (auto text = item.value<std::string>()) result.insert(*text);
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc == 6 ? argv[5] : "";
    bool attach = mode == "--attach";
    if (argc < 5 || argc > 6 || !(mode.empty() || attach || mode == "--fixed-port")) {
        std::cerr << "usage: corpus_verdict LABCHECK SERVER EXPECTATIONS.toml NAME [--attach | "
                     "--fixed-port]\n";
        return 2;
    }
    const fs::path labcheck = argv[1];
    // A private copy under a name of its own: tests running side by side (and the
    // copies labcheck stages) never share a binary path, so the leftover search below
    // finds only this run's processes. Its folder is private too (0700), as a clone in
    // root's home would be: labcheck must stage it for the unprivileged user.
    verdict::PrivateCopy copy(fs::absolute(argv[2]),
                              fmt::format("{}{}-{}", argv[4], argc == 6 ? argv[5] : "", getpid()));
    const fs::path& server = copy.path();
    const std::string name = argv[4];
    toml::table expectations;
    try {
        expectations = toml::parse_file(argv[3]);
    } catch (const std::exception& error) {
        std::cerr << fmt::format("cannot read {}: {}\n", argv[3], error.what());
        return 1;
    }
    const auto* mine = expectations[name].as_table();
    if (!mine) {
        std::cerr << fmt::format("{} has no [{}] table: add the server's expected verdicts\n",
                                 argv[3], name);
        return 1;
    }
    // The lab whose checks judge the server: lab 05 for the main corpus, a later lab's
    // for the corpus of a design beyond the fork (corpus/NN-name/).
    const std::string lab = expectations["lab"].value_or(std::string("05-robust-server"));
    auto must_fail = string_set(*mine, "fail");
    auto must_skip = string_set(*mine, "skip");
    // [name.messages]: check id -> words its message must contain (what teaches the fix).
    std::map<std::string, std::string> must_say;
    if (const auto* messages = (*mine)["messages"].as_table())
        for (const auto& [id, words] : *messages)
            if (auto text = words.value<std::string>()) must_say[std::string(id.str())] = *text;

    std::unique_ptr<labcheck::testing::HandStartedServer> by_hand;
    std::string target = fmt::format("--server '{}'", server.string());
    if (attach) {
        // Checks that start or stop the server cannot run attached.
        for (const char* id : {"restart", "shutdown"}) {
            must_fail.erase(id);
            must_skip.insert(id);
        }
        try {
            by_hand = std::make_unique<labcheck::testing::HandStartedServer>(
                server, labcheck::Millis(10000));
        } catch (const std::runtime_error& error) {
            std::cerr << error.what() << '\n';
            return 1;
        }
        target = fmt::format("--attach 127.0.0.1:{}", by_hand->port());
    } else if (mode == "--fixed-port") {
        std::uint16_t port = labcheck::pick_free_port();
        target = fmt::format("--port {} -- '{}' {}", port, server.string(), port);
    }
    auto [status, output] =
        verdict::run(fmt::format("'{}' check {} --format json {} {}", labcheck.string(), lab,
                                 verdict::own_user_option(), target));
    nlohmann::json report;
    try {
        report = nlohmann::json::parse(output);
    } catch (const std::exception& error) {
        std::cerr << fmt::format("labcheck exited {} without a JSON report ({}):\n{}\n", status,
                                 error.what(), output);
        return 1;
    }

    int wrong = 0;
    for (const auto& check : report["checks"]) {
        std::string id = check["id"], actual = check["status"];
        std::string expected = must_fail.count(id) ? "fail" : must_skip.count(id) ? "skip" : "pass";
        bool ok = actual == expected;
        if (auto words = must_say.find(id);
            ok && words != must_say.end() && !attach &&
            std::string(check["message"]).find(words->second) == std::string::npos) {
            ok = false;
            actual += ", message without \"" + words->second + "\"";
        }
        std::cout << fmt::format("{} {:<20} expected {:<4} got {:<5} {}\n", ok ? "  " : "XX", id,
                                 expected, actual, ok ? "" : std::string(check["message"]));
        wrong += ok ? 0 : 1;
    }
    int expected_status = must_fail.empty() ? 0 : 1;
    if (status != expected_status) {
        std::cout << fmt::format("XX labcheck exited {}, expected {}\n", status, expected_status);
        ++wrong;
    }
    by_hand.reset();
    // labcheck reaps everything it started before it exits: nothing may be left at
    // once. A server we started by hand (--attach) was just killed here: its
    // processes may take a moment to die.
    std::vector<pid_t> left;
    labcheck::poll_until(labcheck::Deadline::after(labcheck::Millis(attach ? 5000 : 0)),
                         [&] { return (left = verdict::leftovers(server)).empty(); });
    if (!left.empty()) {
        std::cout << fmt::format("XX {} process(es) of the server outlived labcheck, e.g. pid {}\n",
                                 left.size(), left.front());
        ++wrong;
    }
    std::cout << fmt::format("{}: {}\n", name,
                             wrong ? "WRONG VERDICTS" : "every verdict as expected");
    return wrong ? 1 : 0;
}
