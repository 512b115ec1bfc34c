#pragma once
// Describing data a student's server got wrong: printable escapes and a short
// excerpt around the first difference, so a message can say what was expected
// and what came back without dumping a megabyte.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace labcheck {

// "Hi\n\x00\xff" style: printable ASCII as is, \n \r \t \\ \" escaped, other bytes \xNN.
std::string escape_bytes(std::string_view bytes);

// Quoted escape of at most `limit` bytes, with "... (N bytes)" when cut.
std::string quote_bytes(std::string_view bytes, std::size_t limit = 48);

// Index of the first differing byte, or of the end of the shorter one when one is a
// prefix of the other; nullopt when equal.
std::optional<std::size_t> first_difference(std::string_view expected, std::string_view actual);

// A multi-line explanation, e.g.
//   first difference at byte 3 of 6:
//     expected "abC\x00de"
//     received "abc\x00de"
//                 ^
// For a received text that stops short: says how many bytes came of how many.
// Empty when equal.
std::string describe_difference(std::string_view expected, std::string_view actual);

}  // namespace labcheck
