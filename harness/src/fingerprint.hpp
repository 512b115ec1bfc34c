#pragma once
// A starter file's fingerprint, so `labcheck progress` can tell a lab the student
// has not touched yet: FNV-1a 64-bit over the file's bytes, written
// "fnv1a64:<16 lowercase hex digits>" (the form lab.toml's starter_fingerprint holds).
// Not a security hash: it only has to notice that a file changed.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace labcheck {

// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
std::uint64_t fnv1a64(std::string_view bytes);

// "fnv1a64:" followed by fnv1a64(bytes) as 16 lowercase hex digits.
std::string fingerprint_of(std::string_view bytes);

// The fingerprint of a file's bytes. Throws std::system_error when it cannot be read.
std::string fingerprint_of_file(const std::filesystem::path& path);

// True for text of the form fingerprint_of() writes.
bool is_fingerprint(std::string_view text);

}  // namespace labcheck
