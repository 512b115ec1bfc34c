#pragma once
// A kit of a test's own, in a TempDir: labs/NN-name/{lab.toml, server.cpp} with
// small specs, and a build folder (build/) where the test puts the "built" servers
// labcheck then finds (as LABCHECK_BUILD, or build/ under --kit).

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.hpp"

class ScratchKit {
  public:
    const std::filesystem::path& root() const { return temp_.path(); }
    std::filesystem::path build() const { return root() / "build"; }
    std::filesystem::path lab(const std::string& name) const { return root() / "labs" / name; }
    std::filesystem::path source(const std::string& name) const { return lab(name) / "server.cpp"; }
    std::filesystem::path binary(const std::string& name) const {
        return build() / "labs" / name / "server";
    }

    // labs/<name>/lab.toml: the swapcase protocol (the corpus' correct server speaks
    // it), the graded checks listens and echo, and concurrent shown but not graded.
    // `extra` goes at the top (e.g. starter_fingerprint = "...").
    void add_lab(const std::string& name, const std::string& title, const std::string& extra = "") {
        std::filesystem::create_directories(lab(name));
        std::ofstream(lab(name) / "lab.toml", std::ios::binary)
            << "title = \"" << title << "\"\nprotocol = \"swapcase\"\n"
            << extra << "\n"
            << check("listens", "points = 40") << check("echo", "points = 60")
            << check("concurrent", "expected_to_fail = true");
    }

    // Writes labs/<name>/server.cpp.
    void write_source(const std::string& name, const std::string& text) const {
        std::ofstream(source(name), std::ios::binary) << text;
    }

    // Puts a copy of `program` where the lab's built server goes, dated `age` after
    // (or, negative, before) the lab's server.cpp: older than it means not built.
    void install_binary(const std::string& name, const std::filesystem::path& program,
                        std::chrono::seconds age = std::chrono::seconds(60)) const {
        std::filesystem::create_directories(binary(name).parent_path());
        std::filesystem::copy_file(program, binary(name),
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::permissions(binary(name), std::filesystem::perms::owner_all);
        std::filesystem::last_write_time(binary(name),
                                         std::filesystem::last_write_time(source(name)) + age);
    }

  private:
    static std::string check(const std::string& id, const std::string& grading) {
        return "[[check]]\nid = \"" + id + "\"\n" + grading +
               "\nstep = \"Step 1: Try\"\nanchor = \"step-1-try\"\nhints = [\"look\"]\n\n";
    }

    TempDir temp_;
};
