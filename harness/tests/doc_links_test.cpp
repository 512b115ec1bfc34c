#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "text_file.hpp"

// The kit's texts point at each other and at the diagrams with relative links.
// A link to a file that is not there is a broken promise to a student.

namespace fs = std::filesystem;

namespace {

const fs::path kit = KIT_DIR;

std::vector<fs::path> texts() {
    std::vector<fs::path> found{kit / "README.md", kit / "labs" / "README.md"};
    for (const auto& entry : fs::directory_iterator(kit / "labs"))
        if (entry.is_directory() && fs::exists(entry.path() / "README.md"))
            found.push_back(entry.path() / "README.md");
    return found;
}

// The relative targets of the Markdown links and images in `text`: `](target)`,
// the target ending at `)` or `#`. Web links and in-page anchors are not files.
std::vector<std::string> relative_links(const std::string& text) {
    std::vector<std::string> links;
    std::regex link(R"(\]\(([^)#\s]+)(#[^)]*)?\))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link);
         it != std::sregex_iterator(); ++it) {
        std::string target = (*it)[1].str();
        if (target.find("://") == std::string::npos && !target.starts_with("mailto:"))
            links.push_back(target);
    }
    return links;
}

}  // namespace

TEST_CASE("docs: every relative link in the README and the lab texts names a file that exists") {
    for (const auto& text : texts()) {
        for (const auto& target : relative_links(read_text(text))) {
            INFO(text.string() << " links to " << target);
            CHECK(fs::exists(text.parent_path() / target));
        }
    }
}

TEST_CASE("docs: every concept diagram is shown in at least one lab text") {
    std::set<std::string> shown;
    for (const auto& text : texts())
        for (const auto& target : relative_links(read_text(text)))
            shown.insert(fs::path(target).filename().string());
    for (const auto& entry : fs::directory_iterator(kit / "diagrams")) {
        if (entry.path().extension() != ".svg") continue;
        INFO(entry.path().filename().string() << " is in no lab text and not in the README");
        CHECK(shown.contains(entry.path().filename().string()));
    }
}
