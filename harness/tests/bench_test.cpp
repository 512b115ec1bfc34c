// labcheck bench: its statistics and its verifier as units, then the command end to
// end through the labcheck binary against the corpus' correct fork server.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/fastest_server.hpp"
#include "bench/latency_histogram.hpp"
#include "bench/payload_pattern.hpp"
#include "bench/reply_verifier.hpp"
#include "labcheck_process.hpp"
#include "os/unique_fd.hpp"
#include "temp_dir.hpp"

namespace {

using labcheck::Protocol;
using labcheck::bench::LatencyHistogram;
using labcheck::bench::PayloadPattern;
using labcheck::bench::ReplyVerifier;
using std::chrono::microseconds;

double us(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1000.0;
}

struct Finished {
    int status = -1;  // exit status, or -1 when it did not exit normally
    std::string output;
};

// `labcheck ARGS...`, to its end. The deadline only keeps a hung run from hanging the
// suite; nothing asserts how long a run took.
Finished run_labcheck(const std::vector<std::string>& arguments) {
    LabcheckProcess labcheck(arguments, {});
    auto status = labcheck.wait_exit(labcheck::Deadline::after(labcheck::Millis(60000)));
    REQUIRE_MESSAGE(status.has_value(), "labcheck did not end: " << labcheck.output());
    Finished finished;
    finished.output = labcheck.output();
    if (WIFEXITED(*status)) finished.status = WEXITSTATUS(*status);
    return finished;
}

nlohmann::json parse_report(const Finished& finished) {
    INFO("labcheck's output: " << finished.output);
    nlohmann::json report;
    REQUIRE_NOTHROW(report = nlohmann::json::parse(finished.output));
    return report;
}

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

TEST_CASE("bench: percentiles of a uniform distribution are within the histogram's precision") {
    LatencyHistogram histogram;
    for (int i = 1; i <= 10000; ++i) histogram.record(microseconds(i));  // 1 µs .. 10 ms
    CHECK(histogram.count() == 10000);
    // Nearest rank: p50 is the 5000th value, p99 the 9900th; buckets are 1/128 wide.
    CHECK(us(histogram.percentile(50)) == doctest::Approx(5000).epsilon(0.005));
    CHECK(us(histogram.percentile(99)) == doctest::Approx(9900).epsilon(0.005));
    CHECK(us(histogram.percentile(100)) == doctest::Approx(10000).epsilon(0.005));
    CHECK(us(histogram.max()) == 10000);  // exact
    CHECK(us(histogram.percentile(0.01)) == doctest::Approx(1).epsilon(0.005));
}

TEST_CASE("bench: a percentile is the nearest rank, so a rare slow tail shows only above it") {
    LatencyHistogram histogram;
    for (int i = 0; i < 990; ++i) histogram.record(std::chrono::milliseconds(1));
    for (int i = 0; i < 10; ++i) histogram.record(std::chrono::seconds(1));
    // The 990th of 1000 is the last fast one; the 991st the first slow one.
    CHECK(us(histogram.percentile(99)) == doctest::Approx(1000).epsilon(0.005));
    CHECK(us(histogram.percentile(99.1)) == doctest::Approx(1e6).epsilon(0.005));
    // 99.05% of 1000 is 990.5 values: the rank rounds up, to the 991st.
    CHECK(us(histogram.percentile(99.05)) == doctest::Approx(1e6).epsilon(0.005));
    CHECK(us(histogram.percentile(50)) == doctest::Approx(1000).epsilon(0.005));
    CHECK(us(histogram.max()) == 1e6);
}

TEST_CASE("bench: merged histograms give the percentiles of all their values") {
    LatencyHistogram low, high, empty;
    for (int i = 1; i <= 500; ++i) low.record(microseconds(i));
    for (int i = 501; i <= 1000; ++i) high.record(microseconds(i));
    CHECK(empty.percentile(50).count() == 0);
    low.merge(high);
    low.merge(empty);
    CHECK(low.count() == 1000);
    CHECK(us(low.percentile(50)) == doctest::Approx(500).epsilon(0.005));
    CHECK(us(low.percentile(90)) == doctest::Approx(900).epsilon(0.005));
    CHECK(us(low.max()) == 1000);
}

TEST_CASE("bench: the pattern repeats with its period and its expected reply is the transform") {
    PayloadPattern swapcase(Protocol::swapcase);
    PayloadPattern plain(Protocol::plain);
    const std::string_view sent = swapcase.sent(10, 5000);
    CHECK(sent == swapcase.sent(10 + PayloadPattern::kPeriod, 5000));
    CHECK(swapcase.expected(10, 5000) == labcheck::expected_reply(Protocol::swapcase, sent));
    CHECK(plain.expected(10, 5000) == sent);
    // Every byte value is sent, letters among them: a transform is exercised.
    std::string all(swapcase.sent(0, PayloadPattern::kPeriod));
    std::sort(all.begin(), all.end());
    CHECK(std::unique(all.begin(), all.end()) - all.begin() == 256);
}

TEST_CASE("bench: the verifier names the offset of a wrong byte, however the reply is cut") {
    PayloadPattern pattern(Protocol::swapcase);
    const std::uint64_t start = 100;
    const std::size_t length = 4096;
    std::string reply(pattern.expected(start, length));

    SUBCASE("a right reply, in pieces") {
        ReplyVerifier verifier;
        verifier.expect(start, length);
        for (std::size_t at = 0; at < length; at += 1000)
            CHECK_FALSE(verifier.accept(pattern, std::string_view(reply).substr(at, 1000)));
        CHECK(verifier.complete());
    }
    SUBCASE("a wrong byte at offset 1234, in the second piece") {
        reply[1234] = static_cast<char>(reply[1234] ^ 0x01);
        ReplyVerifier verifier;
        verifier.expect(start, length);
        CHECK_FALSE(verifier.accept(pattern, std::string_view(reply).substr(0, 1000)));
        auto error = verifier.accept(pattern, std::string_view(reply).substr(1000, 1000));
        REQUIRE(error);
        CHECK(error->find("wrong byte at offset 1234 of the 4096-byte reply") != std::string::npos);
        CHECK(verifier.received() == 1234);  // what came before it was right
        CHECK_FALSE(verifier.complete());
    }
    SUBCASE("more bytes than were sent") {
        ReplyVerifier verifier;
        verifier.expect(start, length);
        auto error = verifier.accept(pattern, reply + "xy");
        REQUIRE(error);
        CHECK(error->find("longer than the 4096 bytes sent: 2 more") != std::string::npos);
    }
    SUBCASE("a reply cut short") {
        ReplyVerifier verifier;
        verifier.expect(start, length);
        CHECK_FALSE(verifier.accept(pattern, std::string_view(reply).substr(0, 10)));
        CHECK(verifier.closed_early() ==
              "the server closed the connection after 10 of the 4096 reply bytes");
    }
}

TEST_CASE("bench: --ceiling's server is the built solution of 10-compare, else 08-poll") {
    TempDir root;
    labcheck::Kit kit{root.path(), root.path() / "build"};
    auto build = [&](const std::string& folder) {
        std::filesystem::create_directories(kit.build / "solutions" / folder);
        std::ofstream(kit.build / "solutions" / folder / "server") << "";
    };
    CHECK_THROWS_AS(labcheck::bench::find_fastest_server(kit, {}), labcheck::UsageError);
    build("08-poll");
    CHECK(labcheck::bench::find_fastest_server(kit, {}).folder == "08-poll");
    build("10-compare");
    auto fastest = labcheck::bench::find_fastest_server(kit, {});
    CHECK(fastest.folder == "10-compare");
    CHECK(fastest.options.server == (kit.build / "solutions" / "10-compare" / "server").string());
}

TEST_CASE("bench: conn mode against a correct server verifies every round trip, exit 0") {
    Finished run = run_labcheck({"bench", "--server", CORRECT_SERVER, "--seconds", "0.3",
                                 "--clients", "4", "--format", "json"});
    CHECK(run.status == 0);
    nlohmann::json report = parse_report(run);
    CHECK(report["mode"] == "conn");
    CHECK(report["protocol"] == "swapcase");
    CHECK(report["round_trips"].get<std::uint64_t>() > 0);
    CHECK(report["errors"] == 0);
    CHECK(report["error_samples"].empty());
    CHECK(report["bytes_verified"] == 64 * report["round_trips"].get<std::uint64_t>());
    CHECK(report["latency_us"]["p50"].get<double>() > 0);
    CHECK(report["latency_us"]["max"].get<double>() >= report["latency_us"]["p99"].get<double>());
    CHECK_FALSE(report.contains("hold"));
}

TEST_CASE("bench: stream mode through -- CMD gets back exactly the MiB it sent, verified") {
    Finished run = run_labcheck({"bench", "--mode", "stream", "--mib", "1", "--connections", "2",
                                 "--format", "json", "--", CORRECT_SERVER, "{port}"});
    CHECK(run.status == 0);
    nlohmann::json report = parse_report(run);
    // bytes_verified counts reply bytes compared with what must come back: 1 MiB a connection.
    CHECK(report["bytes_verified"] == 2 * 1024 * 1024);
    CHECK(report["round_trips"] == 2);
    CHECK(report["connections_made"] == 2);
    CHECK(report["errors"] == 0);
}

TEST_CASE("bench: hold mode serves all of its connections while all are open") {
    Finished run = run_labcheck({"bench", "--server", CORRECT_SERVER, "--mode", "hold", "--hold",
                                 "50", "--threads", "2", "--format", "json"});
    CHECK(run.status == 0);
    nlohmann::json report = parse_report(run);
    CHECK(report["hold"]["requested"] == 50);
    CHECK(report["hold"]["served"] == 50);
    CHECK(report["connections_made"] == 50);
    CHECK(report["bytes_verified"] == 50 * 64);
    CHECK(report["errors"] == 0);
}

TEST_CASE("bench: a server that answers wrongly exits 1 with the offset of the first wrong byte") {
    // The correct swapcase server, measured as if it echoed plainly: every letter comes
    // back flipped. One client, one thread: its first reply fails first.
    Finished run =
        run_labcheck({"bench", "--server", CORRECT_SERVER, "--protocol", "plain", "--seconds",
                      "0.1", "--clients", "1", "--threads", "1", "--format", "json"});
    CHECK(run.status == 1);
    nlohmann::json report = parse_report(run);
    CHECK(report["round_trips"] == 0);
    CHECK(report["errors"].get<std::uint64_t>() > 0);
    REQUIRE_FALSE(report["error_samples"].empty());
    // The first letter of the first 64 bytes sent is where the reply first differs.
    PayloadPattern pattern(Protocol::plain);
    const std::string_view sent = pattern.sent(0, 64);
    const auto first_letter = std::find_if(sent.begin(), sent.end(), is_letter) - sent.begin();
    const std::string sample = report["error_samples"][0];
    CHECK_MESSAGE(sample.starts_with("client 0, connection 1: wrong byte at offset " +
                                     std::to_string(first_letter) + " of the 64-byte reply"),
                  sample);
}

TEST_CASE(
    "bench: a missing server, one that never listens, or nothing at --attach: exit 2, one line") {
    Finished missing = run_labcheck({"bench", "--server", "/nonexistent/server"});
    CHECK(missing.status == 2);
    CHECK(missing.output.starts_with("labcheck: "));
    CHECK(std::count(missing.output.begin(), missing.output.end(), '\n') == 1);

    Finished exits = run_labcheck({"bench", "--", "/bin/false", "{port}"});
    CHECK(exits.status == 2);
    CHECK(exits.output.find("before listening") != std::string::npos);
    CHECK_MESSAGE(std::count(exits.output.begin(), exits.output.end(), '\n') == 1, exits.output);

    // A port that is bound but not listening, held for the test: connecting is refused.
    labcheck::UniqueFd bound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    REQUIRE(::bind(bound.get(), reinterpret_cast<sockaddr*>(&address), size) == 0);
    REQUIRE(::getsockname(bound.get(), reinterpret_cast<sockaddr*>(&address), &size) == 0);
    Finished nobody =
        run_labcheck({"bench", "--attach", "127.0.0.1:" + std::to_string(ntohs(address.sin_port))});
    CHECK(nobody.status == 2);
    CHECK(nobody.output.find("nothing accepts connections at 127.0.0.1:") != std::string::npos);
    CHECK_MESSAGE(std::count(nobody.output.begin(), nobody.output.end(), '\n') == 1, nobody.output);
}
