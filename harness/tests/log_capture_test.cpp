#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "log_capture.hpp"
#include "os/unique_fd.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace labcheck;

namespace {

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A LogCapture reading a pipe the test writes into (less than a pipe's capacity
// between two drains, so no write ever blocks).
struct Fixture {
    explicit Fixture(std::size_t cap = 1024 * 1024) {
        int ends[2];
        REQUIRE(pipe2(ends, O_CLOEXEC) == 0);
        writer = UniqueFd(ends[1]);
        log = std::make_unique<LogCapture>(UniqueFd(ends[0]), temp.path() / "server.log", cap);
    }
    void write(std::string_view text) {
        while (!text.empty()) {
            ssize_t n = ::write(writer.get(), text.data(), text.size());
            REQUIRE(n > 0);
            text.remove_prefix(static_cast<std::size_t>(n));
        }
        log->drain();
    }

    TempDir temp;
    UniqueFd writer;
    std::unique_ptr<LogCapture> log;
};

}  // namespace

TEST_CASE("log_capture: tail(n) returns the last n lines") {
    Fixture fixture;
    CHECK(fixture.log->tail(3).empty());
    fixture.write("one\ntwo\nthree\n");
    fixture.write("four\nfive\n");
    CHECK(fixture.log->tail(1) == "five");
    CHECK(fixture.log->tail(2) == "four\nfive");
    CHECK(fixture.log->tail(5) == "one\ntwo\nthree\nfour\nfive");
    CHECK(fixture.log->tail(50) == "one\ntwo\nthree\nfour\nfive");
    CHECK(fixture.log->total_bytes() == 24);
    CHECK(read_text(fixture.log->path()) == "one\ntwo\nthree\nfour\nfive\n");
}

TEST_CASE("log_capture: a last line without a trailing newline") {
    Fixture fixture;
    fixture.write("first\nsecond\nno newline");
    CHECK(fixture.log->tail(1) == "no newline");
    CHECK(fixture.log->tail(2) == "second\nno newline");
    CHECK(fixture.log->tail(10) == "first\nsecond\nno newline");

    SUBCASE("a line completed by a later write") {
        fixture.write(" after all\n");
        CHECK(fixture.log->tail(1) == "no newline after all");
    }
    SUBCASE("blank lines at the end are not counted") {
        fixture.write("\n\n\n");
        CHECK(fixture.log->tail(1) == "no newline");
    }
}

TEST_CASE("log_capture: a line split across drains stays whole") {
    Fixture fixture;
    fixture.write("hel");
    fixture.write("lo\nwor");
    fixture.write("ld\n");
    CHECK(fixture.log->tail(2) == "hello\nworld");
}

TEST_CASE("log_capture: the tail stays short for a very long line") {
    Fixture fixture;
    fixture.write(std::string(10000, 'a') + "\n");
    auto tail = fixture.log->tail(1);
    CHECK(tail.size() <= 4096);
    CHECK(tail.size() > 0);
    CHECK(tail.find_first_not_of('a') == std::string::npos);
}

TEST_CASE("log_capture: the log file stops at the cap and the tail says so") {
    Fixture fixture(10);
    fixture.write("0123456789abcde\n");  // 16 bytes
    fixture.write("more\n");             // 21 in all
    CHECK(fixture.log->total_bytes() == 21);

    std::string file = read_text(fixture.log->path());
    CHECK(file.rfind("0123456789", 0) == 0);
    CHECK(file.find("abcde") == std::string::npos);
    CHECK(file.find("more") == std::string::npos);
    CHECK(file.find("log capped here") != std::string::npos);

    // The tail still shows the newest output, then the note.
    CHECK(fixture.log->tail(1) == "more\n[21 bytes of output in all; the log keeps the first 10]");
}

TEST_CASE("log_capture: no cap note while the output fits") {
    Fixture fixture(10);
    fixture.write("short\n");
    CHECK(fixture.log->tail(5) == "short");
    CHECK(read_text(fixture.log->path()) == "short\n");
}

TEST_CASE("log_capture: the pipe closes at EOF") {
    Fixture fixture;
    fixture.write("bye\n");
    CHECK(fixture.log->open());
    fixture.writer.reset();
    fixture.log->drain();
    CHECK_FALSE(fixture.log->open());
    CHECK(fixture.log->tail(1) == "bye");
    fixture.log->drain();  // harmless once closed
    CHECK(fixture.log->total_bytes() == 4);
}

TEST_CASE("log_capture: drain does not block on an empty pipe") {
    Fixture fixture;
    fixture.log->drain();
    fixture.log->drain();
    CHECK(fixture.log->open());
    CHECK(fixture.log->total_bytes() == 0);
}
