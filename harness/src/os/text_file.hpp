#pragma once
// Writing a whole text file, with one clear line when it cannot be written.

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace labcheck {

// Replaces `path`'s contents with `text`. Throws std::runtime_error naming the file.
inline void write_text_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace labcheck
