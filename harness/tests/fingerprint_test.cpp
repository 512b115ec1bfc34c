#include "fingerprint.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <system_error>

#include "temp_dir.hpp"

using namespace labcheck;
using namespace std::string_view_literals;

// The published FNV-1a 64-bit test vectors (Fowler, Noll, Vo).
TEST_CASE("fingerprint: FNV-1a 64 of known vectors") {
    CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
    CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
    CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
    CHECK(fnv1a64("\0"sv) == 0xaf63bd4c8601b7dfULL);  // a NUL byte is hashed like any other
}

TEST_CASE("fingerprint: the written form") {
    CHECK(fingerprint_of("") == "fnv1a64:cbf29ce484222325");
    CHECK(fingerprint_of("a") == "fnv1a64:af63dc4c8601ec8c");
    CHECK(is_fingerprint(fingerprint_of("anything")));
    CHECK_FALSE(is_fingerprint("cbf29ce484222325"));           // no prefix
    CHECK_FALSE(is_fingerprint("fnv1a64:cbf29ce48422232"));    // 15 digits
    CHECK_FALSE(is_fingerprint("fnv1a64:cbf29ce4842223250"));  // 17 digits
    CHECK_FALSE(is_fingerprint("fnv1a64:CBF29CE484222325"));   // upper case
    CHECK_FALSE(is_fingerprint("fnv1a64:cbf29ce48422232g"));
    CHECK_FALSE(is_fingerprint("sha1:cbf29ce484222325"));
}

TEST_CASE("fingerprint: of a file, larger than one read") {
    TempDir temp;
    std::string bytes;
    for (int round = 0; round < 300; ++round)
        for (int byte = 0; byte < 256; ++byte) bytes += static_cast<char>(byte);
    std::ofstream(temp.path() / "big", std::ios::binary) << bytes;
    std::ofstream(temp.path() / "empty", std::ios::binary);
    CHECK(fingerprint_of_file(temp.path() / "big") == "fnv1a64:9a27aaa0adbc6725");
    CHECK(fingerprint_of_file(temp.path() / "big") == fingerprint_of(bytes));
    CHECK(fingerprint_of_file(temp.path() / "empty") == "fnv1a64:cbf29ce484222325");
    CHECK_THROWS_AS(fingerprint_of_file(temp.path() / "missing"), std::system_error);
}
