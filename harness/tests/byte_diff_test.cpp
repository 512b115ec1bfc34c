#include <doctest/doctest.h>

#include <sstream>
#include <vector>

#include "byte_diff.hpp"

using namespace labcheck;

namespace {

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The column of the caret on the last line, and the text of the received line from there.
std::string at_caret(const std::string& description) {
    const std::vector<std::string> lines = split_lines(description);
    REQUIRE(lines.size() >= 3);
    const std::string& caret = lines.back();
    const std::size_t column = caret.find('^');
    REQUIRE(column != std::string::npos);
    const std::string& received = lines[lines.size() - 2];
    REQUIRE(column <= received.size());
    return received.substr(column);
}

}  // namespace

TEST_CASE("byte_diff: escape_bytes keeps printable ASCII and escapes the rest") {
    CHECK(escape_bytes("Hello, World!") == "Hello, World!");
    CHECK(escape_bytes("a\nb\rc\td") == "a\\nb\\rc\\td");
    CHECK(escape_bytes("say \"hi\" \\o/") == "say \\\"hi\\\" \\\\o/");
    CHECK(escape_bytes(std::string("\x00\x01\x7f\x80\xff", 5)) == "\\x00\\x01\\x7f\\x80\\xff");
    CHECK(escape_bytes("") == "");
}

TEST_CASE("byte_diff: quote_bytes quotes and cuts long data") {
    CHECK(quote_bytes("abc") == "\"abc\"");
    CHECK(quote_bytes("a\n") == "\"a\\n\"");
    CHECK(quote_bytes("abcdef", 6) == "\"abcdef\"");
    CHECK(quote_bytes("abcdefgh", 3) == "\"abc\"... (8 bytes)");
    CHECK(quote_bytes(std::string(1000, 'x')).size() < 80);
}

TEST_CASE("byte_diff: first_difference") {
    CHECK_FALSE(first_difference("", "").has_value());
    CHECK_FALSE(first_difference("same", "same").has_value());
    CHECK(first_difference("abc", "abd") == 2u);
    CHECK(first_difference("abc", "ab") == 2u);
    CHECK(first_difference("ab", "abc") == 2u);
    CHECK(first_difference("abc", "") == 0u);
    CHECK(first_difference(std::string("a\0b", 3), std::string("a\0c", 3)) == 2u);
}

TEST_CASE("byte_diff: describe_difference is empty for equal data") {
    CHECK(describe_difference("", "") == "");
    CHECK(describe_difference("hello\n", "hello\n") == "");
}

TEST_CASE("byte_diff: a short difference shows both whole and a caret under it") {
    const std::string text =
        describe_difference(std::string("abC\0de", 6), std::string("abc\0de", 6));
    CHECK(text ==
          "first difference at byte 3 of 6:\n"
          "  expected \"abC\\x00de\"\n"
          "  received \"abc\\x00de\"\n"
          "              ^");
    CHECK(at_caret(text).substr(0, 1) == "c");
}

TEST_CASE("byte_diff: the caret counts escaped bytes before the difference") {
    const std::string expected = std::string("\x01\x02\n\tX", 5);
    const std::string actual = std::string("\x01\x02\n\tY", 5);
    const std::string text = describe_difference(expected, actual);
    CHECK(at_caret(text).substr(0, 2) == "Y\"");
}

TEST_CASE("byte_diff: a long message is cut around the first difference") {
    std::string expected;
    for (int i = 0; i < 10; ++i) expected += "Hello, Socket World! 0123\n";
    std::string actual = expected;
    actual[5 * 26 + 14] = 'w';  // the W of World in the sixth line
    const std::string text = describe_difference(expected, actual);
    const std::vector<std::string> lines = split_lines(text);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "first difference at byte 145 of 260:");
    CHECK(lines[1].find("expected ...\"") != std::string::npos);
    CHECK(lines[1].substr(lines[1].size() - 4) == "\"...");
    CHECK(lines[2].find("received ...\"") != std::string::npos);
    CHECK(lines[1].find("World") != std::string::npos);
    CHECK(lines[2].find("world") != std::string::npos);
    CHECK(lines[1].size() < 100);
    CHECK(at_caret(text).substr(0, 5) == "world");
}

TEST_CASE("byte_diff: a reply that stops short says how much came") {
    const std::string expected = "Hello, Socket World! 0123\n";
    const std::string text = describe_difference(expected, expected.substr(0, 12));
    const std::vector<std::string> lines = split_lines(text);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "received 12 of 26 bytes; the rest never came:");
    CHECK(lines[2] == "  received \"Hello, Socke\"");
    CHECK(at_caret(text) == "\"");  // just past the last byte that came

    CHECK(describe_difference("abc", "").rfind("received nothing of the 3 bytes expected:", 0) ==
          0);
}

TEST_CASE("byte_diff: a reply that goes on says how much more came") {
    const std::string text = describe_difference("abc\n", "abc\nc\nc\nc\nc\n");
    const std::vector<std::string> lines = split_lines(text);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "received 8 bytes more than expected (12 instead of 4):");
    CHECK(at_caret(text).substr(0, 3) == "c\\n");
    CHECK(describe_difference("ab", "abc").rfind("received 1 byte more than expected", 0) == 0);
}

TEST_CASE("byte_diff: a difference with unequal sizes gives both sizes") {
    const std::string text = describe_difference("abcdef", "abXdefgh");
    CHECK(text.rfind("first difference at byte 3 of 6 (received 8 bytes):\n", 0) == 0);
}
