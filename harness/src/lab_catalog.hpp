#pragma once
// Where the kit is (its labs/ and build/ folders), which labs exist, and how a
// student's "3", "03", "03-fork-per-client" or a folder path names one of them.

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace labcheck {

// A mistake in how labcheck was called: exit status 2, message shown as is.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct Kit {
    std::filesystem::path root;  // holds labs/ and solutions/
    std::filesystem::path
        build;  // holds the built servers (labs/NN-x/server, solutions/NN-x/server)

    // --kit, else $LABCHECK_KIT, else the source tree labcheck was built from.
    static Kit locate(const std::optional<std::filesystem::path>& override_root);

    std::vector<std::filesystem::path> lab_folders() const;            // labs/NN-*, sorted
    std::filesystem::path resolve_lab(const std::string& name) const;  // throws UsageError

    // The built server of a lab (the student's, or the reference solution).
    std::filesystem::path server_binary(const std::filesystem::path& lab_folder,
                                        bool solution) const;
    std::filesystem::path server_source(const std::filesystem::path& lab_folder,
                                        bool solution) const;
};

}  // namespace labcheck
