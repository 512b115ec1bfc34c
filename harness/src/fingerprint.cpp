#include "fingerprint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "os/errors.hpp"
#include "os/unique_fd.hpp"

namespace labcheck {
namespace {

constexpr std::string_view kPrefix = "fnv1a64:";
constexpr std::uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kPrime = 0x100000001b3ULL;

std::uint64_t fold(std::uint64_t hash, std::string_view bytes) {
    for (char byte : bytes) {
        hash ^= static_cast<unsigned char>(byte);
        hash *= kPrime;
    }
    return hash;
}

std::string written(std::uint64_t hash) {
    return fmt::format("{}{:016x}", kPrefix, hash);
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes) {
    return fold(kOffsetBasis, bytes);
}

std::string fingerprint_of(std::string_view bytes) {
    return written(fnv1a64(bytes));
}

std::string fingerprint_of_file(const std::filesystem::path& path) {
    UniqueFd file(retry_on_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
    if (!file) throw_errno("open " + path.string());
    // Streamed, so a large file costs no more memory than a small one.
    std::uint64_t hash = kOffsetBasis;
    std::array<char, 65536> buffer;
    for (;;) {
        ssize_t n =
            retry_on_eintr([&] { return ::read(file.get(), buffer.data(), buffer.size()); });
        if (n < 0) throw_errno("read " + path.string());
        if (n == 0) break;
        hash = fold(hash, std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
    return written(hash);
}

bool is_fingerprint(std::string_view text) {
    if (!text.starts_with(kPrefix)) return false;
    std::string_view digits = text.substr(kPrefix.size());
    return digits.size() == 16 && std::all_of(digits.begin(), digits.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

}  // namespace labcheck
