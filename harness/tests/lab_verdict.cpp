// One lab's starter or solution against labcheck, as ctest runs it.
//
// usage: lab_verdict LABCHECK SERVER LAB_FOLDER starter
//        lab_verdict LABCHECK SERVER LAB_FOLDER passes
//
// starter: SERVER is the lab's built starter. labcheck must exit 1, and the first
//   graded check that fails must send the student to a step of the lab text. When
//   LAB_FOLDER/server.cpp is no longer the pristine starter (a student's work in
//   progress), the test is skipped (exit 77): it says nothing about their code.
//   With LABKIT_STRICT_STARTERS set (the kit's CI), that is a failure instead.
// passes: SERVER (a reference solution) must pass every graded check of the lab,
//   and labcheck must exit 0.
// Either way, no process of the server may outlive labcheck.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checks/check.hpp"
#include "fingerprint.hpp"
#include "lab_spec.hpp"
#include "verdict_support.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int kSkipped = 77;  // ctest's SKIP_RETURN_CODE for these tests

bool is_graded(const nlohmann::json& check) {
    return !check["expected_to_fail"].get<bool>();
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc == 5 ? argv[4] : "";
    if (mode != "starter" && mode != "passes") {
        std::cerr << "usage: lab_verdict LABCHECK SERVER LAB_FOLDER (starter | passes)\n";
        return 2;
    }
    const fs::path labcheck = argv[1];
    const fs::path lab_folder = argv[3];
    labcheck::LabSpec spec = labcheck::load_lab_spec(lab_folder, labcheck::check_ids());

    if (mode == "starter") {
        fs::path source = lab_folder / "server.cpp";
        if (spec.starter_fingerprint &&
            labcheck::fingerprint_of_file(source) != *spec.starter_fingerprint) {
            // The kit's CI holds starters to their fingerprints: there a mismatch is a
            // starter changed without its lab.toml, not a student's work.
            if (std::getenv("LABKIT_STRICT_STARTERS")) {
                std::cout << fmt::format(
                    "XX {} differs from its lab.toml's starter_fingerprint: update the "
                    "fingerprint (the lab_spec test prints it)\n",
                    source.string());
                return 1;
            }
            std::cout << fmt::format(
                "skipped: {} holds your own work, not the starter, so the starter's test "
                "does not apply\n",
                source.string());
            return kSkipped;
        }
    }

    verdict::PrivateCopy copy(fs::absolute(argv[2]),
                              fmt::format("{}-{}-{}", spec.id, mode, getpid()));
    auto [status, output] = verdict::run(fmt::format(
        "'{}' check '{}' --format json {} --server '{}'", labcheck.string(),
        fs::absolute(lab_folder).string(), verdict::own_user_option(), copy.path().string()));
    nlohmann::json report;
    try {
        report = nlohmann::json::parse(output);
    } catch (const std::exception& error) {
        std::cerr << fmt::format("labcheck exited {} without a JSON report ({}):\n{}\n", status,
                                 error.what(), output);
        return 1;
    }

    int wrong = 0;
    const nlohmann::json* first_failure = nullptr;
    for (const auto& check : report["checks"]) {
        std::string id = check["id"], actual = check["status"];
        bool graded = is_graded(check);
        if (graded && actual != "pass" && !first_failure) first_failure = &check;
        bool ok = mode == "starter" || !graded || actual == "pass";
        std::cout << fmt::format("{} {:<20} {:<5} {}\n", ok ? "  " : "XX", id, actual,
                                 graded ? "" : "(expected to fail at this stage)");
        if (!ok) std::cout << "   " << std::string(check["message"]) << '\n';
        wrong += ok ? 0 : 1;
    }

    const int expected_status = mode == "starter" ? 1 : 0;
    if (status != expected_status) {
        std::cout << fmt::format("XX labcheck exited {}, expected {}\n", status, expected_status);
        ++wrong;
    }
    if (mode == "starter") {
        std::string hint = first_failure ? std::string((*first_failure)["hint"]) : "";
        if (hint.find("Step ") == std::string::npos) {
            std::cout << fmt::format(
                "XX the first failure's hint names no step of the lab text: "
                "\"{}\"\n",
                hint);
            ++wrong;
        } else {
            std::cout << fmt::format("first failure: {} -> {}\n",
                                     std::string((*first_failure)["id"]), hint);
        }
    }

    // labcheck reaps everything it started before it exits: nothing may be left.
    if (auto left = verdict::leftovers(copy.path()); !left.empty()) {
        std::cout << fmt::format("XX {} process(es) of the server outlived labcheck, e.g. pid {}\n",
                                 left.size(), left.front());
        ++wrong;
    }
    std::cout << fmt::format("{} {}: {}\n", spec.id, mode,
                             wrong ? "WRONG VERDICTS" : "as expected");
    return wrong ? 1 : 0;
}
