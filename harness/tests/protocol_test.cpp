#include <doctest/doctest.h>

#include "protocol.hpp"

using namespace labcheck;

TEST_CASE("protocol: names round-trip and unknown names are refused") {
    CHECK(to_string(Protocol::plain) == "plain");
    CHECK(to_string(Protocol::swapcase) == "swapcase");
    CHECK(parse_protocol("plain") == Protocol::plain);
    CHECK(parse_protocol("swapcase") == Protocol::swapcase);
    CHECK_FALSE(parse_protocol("Plain").has_value());
    CHECK_FALSE(parse_protocol("swap").has_value());
    CHECK_FALSE(parse_protocol("").has_value());
}

TEST_CASE("protocol: plain echoes every byte unchanged") {
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    CHECK(expected_reply(Protocol::plain, all) == all);
    CHECK(expected_reply(Protocol::plain, "") == "");
}

TEST_CASE("protocol: swapcase flips ASCII letters only") {
    CHECK(expected_reply(Protocol::swapcase, "Hello, Socket World! 0123\n") ==
          "hELLO, sOCKET wORLD! 0123\n");
    // The neighbours of the letter ranges stay: @ [ ` { and digits.
    CHECK(expected_reply(Protocol::swapcase, "@AZ[`az{09") == "@az[`AZ{09");
    CHECK(expected_reply(Protocol::swapcase, std::string("a\0b", 3)) == std::string("A\0B", 3));
}

TEST_CASE("protocol: swapcase leaves every non-letter byte value alone") {
    for (int b = 0; b < 256; ++b) {
        const std::string in(1, static_cast<char>(b));
        const bool letter = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
        const std::string out = expected_reply(Protocol::swapcase, in);
        REQUIRE(out.size() == 1);
        const int got = static_cast<unsigned char>(out[0]);
        CAPTURE(b);
        CHECK(got == (letter ? (b ^ 0x20) : b));
    }
}
