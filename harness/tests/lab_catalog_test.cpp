#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "lab_catalog.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace labcheck;

namespace {

const fs::path kit_dir = KIT_DIR;

// Unsets an environment variable for the test, and puts it back after.
class UnsetEnv {
  public:
    explicit UnsetEnv(const char* name) : name_(name) {
        if (const char* value = std::getenv(name)) saved_ = value;
        unsetenv(name);
    }
    UnsetEnv(const UnsetEnv&) = delete;
    UnsetEnv& operator=(const UnsetEnv&) = delete;
    ~UnsetEnv() {
        if (saved_) setenv(name_, saved_->c_str(), 1);
    }

  private:
    const char* name_;
    std::optional<std::string> saved_;
};

std::vector<std::string> names_of(const std::vector<fs::path>& folders) {
    std::vector<std::string> names;
    for (const auto& folder : folders) names.push_back(folder.filename().string());
    return names;
}

}  // namespace

TEST_CASE("lab_catalog: Kit::locate with an explicit root") {
    UnsetEnv no_build("LABCHECK_BUILD");
    Kit kit = Kit::locate(kit_dir);
    CHECK(kit.root == kit_dir);
    CHECK(kit.build == kit_dir / "build");
}

TEST_CASE("lab_catalog: $LABCHECK_BUILD names the build folder") {
    UnsetEnv restore("LABCHECK_BUILD");
    setenv("LABCHECK_BUILD", "/somewhere/else", 1);
    Kit kit = Kit::locate(kit_dir);
    unsetenv("LABCHECK_BUILD");
    CHECK(kit.build == fs::path("/somewhere/else"));
}

TEST_CASE("lab_catalog: a root without labs/ is a usage error") {
    TempDir temp;
    CHECK_THROWS_WITH_AS(Kit::locate(temp.path()), doctest::Contains("no labs/ folder"),
                         UsageError);
}

TEST_CASE("lab_catalog: lab_folders lists the numbered folders, sorted") {
    Kit kit = Kit::locate(kit_dir);
    auto names = names_of(kit.lab_folders());
    REQUIRE(names.size() >= 5);
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(names[0] == "01-iterative-echo");
    CHECK(names[2] == "03-fork-per-client");
    for (const auto& folder : kit.lab_folders()) CHECK(folder.parent_path() == kit_dir / "labs");

    SUBCASE("only NN-name folders count") {
        TempDir temp;
        for (const char* name : {"02-second", "01-first", "notes", "1-short", "10-ten", "03-UPPER"})
            fs::create_directories(temp.path() / "labs" / name);
        std::ofstream(temp.path() / "labs" / "04-a-file") << "not a folder\n";
        Kit scratch = Kit::locate(temp.path());
        CHECK(names_of(scratch.lab_folders()) ==
              std::vector<std::string>{"01-first", "02-second", "10-ten"});
    }
}

TEST_CASE("lab_catalog: resolve_lab accepts a number, a padded number, a name or a folder") {
    Kit kit = Kit::locate(kit_dir);
    const fs::path expected = kit_dir / "labs" / "03-fork-per-client";
    CHECK(kit.resolve_lab("3") == expected);
    CHECK(kit.resolve_lab("03") == expected);
    CHECK(kit.resolve_lab("03-fork-per-client") == expected);
    CHECK(kit.resolve_lab(expected.string()) == expected);
    CHECK(kit.resolve_lab("1") == kit_dir / "labs" / "01-iterative-echo");
    CHECK(kit.resolve_lab("5") == kit_dir / "labs" / "05-robust-server");
}

TEST_CASE("lab_catalog: an unknown lab is a usage error that lists the labs") {
    Kit kit = Kit::locate(kit_dir);
    for (const char* name : {"99", "0", "fork", "03-fork", ""}) {
        CAPTURE(name);
        CHECK_THROWS_AS(kit.resolve_lab(name), UsageError);
    }
    try {
        kit.resolve_lab("99");
        FAIL("resolve_lab(\"99\") did not throw");
    } catch (const UsageError& error) {
        std::string message = error.what();
        CHECK(message.find("unknown lab '99'") != std::string::npos);
        for (const auto& name : names_of(kit.lab_folders())) {
            CAPTURE(name);
            CHECK(message.find(name) != std::string::npos);
        }
    }
}

TEST_CASE("lab_catalog: a path that is not a folder is a usage error") {
    Kit kit = Kit::locate(kit_dir);
    CHECK_THROWS_WITH_AS(kit.resolve_lab((kit_dir / "labs" / "no-such-lab").string()),
                         doctest::Contains("is not a folder"), UsageError);
}

TEST_CASE("lab_catalog: a huge lab number is a usage error like any unknown lab") {
    Kit kit = Kit::locate(kit_dir);
    CHECK_THROWS_WITH_AS(kit.resolve_lab("99999999999"), doctest::Contains("unknown lab"),
                         UsageError);
}

TEST_CASE("lab_catalog: where a lab's server and its source are") {
    UnsetEnv no_build("LABCHECK_BUILD");
    Kit kit = Kit::locate(kit_dir);
    const fs::path folder = kit.resolve_lab("03");
    CHECK(kit.server_binary(folder, false) ==
          kit_dir / "build" / "labs" / "03-fork-per-client" / "server");
    CHECK(kit.server_binary(folder, true) ==
          kit_dir / "build" / "solutions" / "03-fork-per-client" / "server");
    CHECK(kit.server_source(folder, false) == folder / "server.cpp");
    CHECK(kit.server_source(folder, true) ==
          kit_dir / "solutions" / "03-fork-per-client" / "server.cpp");
}
