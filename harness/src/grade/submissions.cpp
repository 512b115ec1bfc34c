#include "grade/submissions.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "grade/archive.hpp"
#include "lab_catalog.hpp"

namespace labcheck {
namespace fs = std::filesystem;

namespace {

std::string without_archive_suffix(const fs::path& entry) {
    std::string name = entry.filename().string();
    for (std::string suffix : {".tar.gz", ".tgz", ".zip", ".TAR.GZ", ".TGZ", ".ZIP"})
        if (name.size() > suffix.size() && name.ends_with(suffix))
            return name.substr(0, name.size() - suffix.size());
    return name;
}

// A file of its own, not a symlink: a submission must not make the grader read
// (and print) a file elsewhere on the machine.
bool is_plain_file(const fs::path& path) {
    std::error_code error;
    return fs::is_regular_file(fs::symlink_status(path, error));
}

// labs/NN-*/server.cpp under `base`.
std::optional<fs::path> in_labs_tree(const fs::path& base, int lab_number) {
    fs::path labs = base / "labs";
    std::error_code error;
    if (!fs::is_directory(labs, error)) return std::nullopt;
    std::string prefix = fmt::format("{:02}-", lab_number);
    for (const auto& folder : fs::directory_iterator(labs, error))
        if (folder.path().filename().string().starts_with(prefix) &&
            is_plain_file(folder.path() / "server.cpp"))
            return folder.path() / "server.cpp";
    return std::nullopt;
}

}  // namespace

std::vector<Submission> find_submissions(const fs::path& folder) {
    std::error_code error;
    if (!fs::is_directory(folder, error))
        throw UsageError(fmt::format(
            "{} is not a folder: give the folder that holds one folder or archive per student",
            folder.string()));
    std::vector<Submission> found;
    for (const auto& entry : fs::directory_iterator(folder)) {
        if (entry.path().filename().string().starts_with(".")) continue;
        if (entry.is_directory())
            found.push_back({entry.path().filename().string(), entry.path(), false});
        else if (entry.is_regular_file() && is_archive(entry.path()))
            found.push_back({without_archive_suffix(entry.path()), entry.path(), true});
    }
    std::sort(found.begin(), found.end(),
              [](const Submission& a, const Submission& b) { return a.student < b.student; });
    return found;
}

std::optional<fs::path> find_server_source(const fs::path& root, int lab_number) {
    std::error_code error;
    if (is_plain_file(root / "server.cpp")) return root / "server.cpp";
    if (auto found = in_labs_tree(root, lab_number)) return found;
    // One folder level down: an archive of the kit's folder, or of the student's own.
    for (const auto& entry : fs::directory_iterator(root, error))
        if (entry.is_directory())
            if (auto found = in_labs_tree(entry.path(), lab_number)) return found;
    std::vector<fs::path> anywhere;
    for (auto it = fs::recursive_directory_iterator(
             root, fs::directory_options::skip_permission_denied, error);
         it != fs::recursive_directory_iterator() && anywhere.size() < 2; it.increment(error)) {
        if (error) break;
        if (it->path().filename() == "server.cpp" && is_plain_file(it->path()))
            anywhere.push_back(it->path());
    }
    if (anywhere.size() == 1) return anywhere.front();
    return std::nullopt;
}

}  // namespace labcheck
