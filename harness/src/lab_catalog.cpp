#include "lab_catalog.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>

namespace labcheck {
namespace fs = std::filesystem;

#ifndef LABCHECK_KIT_DIR
#define LABCHECK_KIT_DIR "."
#endif
#ifndef LABCHECK_BUILD_DIR
#define LABCHECK_BUILD_DIR "./build"
#endif

Kit Kit::locate(const std::optional<fs::path>& override_root) {
    Kit kit;
    if (override_root) {
        kit.root = *override_root;
    } else if (const char* from_env = std::getenv("LABCHECK_KIT")) {
        kit.root = from_env;
    } else {
        kit.root = LABCHECK_KIT_DIR;
    }
    const char* build_env = std::getenv("LABCHECK_BUILD");
    kit.build = build_env       ? fs::path(build_env)
                : override_root ? kit.root / "build"
                                : fs::path(LABCHECK_BUILD_DIR);
    if (!fs::is_directory(kit.root / "labs"))
        throw UsageError(fmt::format("no labs/ folder in {}: pass --kit with the kit's folder",
                                     kit.root.string()));
    return kit;
}

std::vector<fs::path> Kit::lab_folders() const {
    static const std::regex numbered(R"(\d\d-[a-z0-9-]+)");
    std::vector<fs::path> folders;
    for (const auto& entry : fs::directory_iterator(root / "labs"))
        if (entry.is_directory() && std::regex_match(entry.path().filename().string(), numbered))
            folders.push_back(entry.path());
    std::sort(folders.begin(), folders.end());
    return folders;
}

fs::path Kit::resolve_lab(const std::string& name) const {
    if (name.find('/') != std::string::npos) {
        if (fs::is_directory(name)) return fs::path(name);
        throw UsageError(fmt::format(
            "{} is not a folder: name a lab folder, or a lab by number (labcheck list)", name));
    }
    auto folders = lab_folders();
    // "3" and "03" name lab 03; longer digit strings name nothing.
    bool numeric =
        !name.empty() && name.size() <= 2 &&
        std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); });
    for (const auto& folder : folders) {
        std::string folder_name = folder.filename().string();
        if (folder_name == name) return folder;
        if (numeric && std::stoi(folder_name.substr(0, 2)) == std::stoi(name)) return folder;
    }
    std::string known;
    for (const auto& folder : folders)
        known += (known.empty() ? "" : ", ") + folder.filename().string();
    throw UsageError(fmt::format("unknown lab '{}': the labs are {}", name, known));
}

fs::path Kit::server_binary(const fs::path& lab_folder, bool solution) const {
    return build / (solution ? "solutions" : "labs") / lab_folder.filename() / "server";
}

fs::path Kit::server_source(const fs::path& lab_folder, bool solution) const {
    return solution ? root / "solutions" / lab_folder.filename() / "server.cpp"
                    : lab_folder / "server.cpp";
}

}  // namespace labcheck
