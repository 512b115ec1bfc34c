#pragma once
// A class's submissions: a folder holding one entry per student, each a folder or an
// archive (.zip, .tar.gz), named after the student. Inside, the student's server.cpp
// is at the top, or in a copy of the kit's labs/ tree, or the only one there is.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace labcheck {

struct Submission {
    std::string student;  // the entry's name, without .zip / .tar.gz / .tgz
    std::filesystem::path entry;
    bool archive = false;
};

// Every submission in `folder`, sorted by student. Files that are neither a folder
// nor an archive are not submissions and are left out (a README, a .DS_Store).
// Throws UsageError when `folder` is not a folder.
std::vector<Submission> find_submissions(const std::filesystem::path& folder);

// The server.cpp of lab `lab_number` in an unpacked submission, or nullopt.
std::optional<std::filesystem::path> find_server_source(const std::filesystem::path& root,
                                                        int lab_number);

}  // namespace labcheck
