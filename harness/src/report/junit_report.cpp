// JUnit XML, as CI servers and GitHub Classroom read it: <testsuites> holding one
// <testsuite> per run, one <testcase> per check with its time in seconds, and a
// <failure>, <error> or <skipped> child when it did not pass. A check shown but not
// graded at this stage is <skipped> when it fails, so that it does not turn a build
// red. Score and server are <property> elements of the suite.

#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "report/check_story.hpp"
#include "report/report.hpp"

namespace labcheck {
namespace {

// XML 1.0 allows only some characters, and the text must be UTF-8: a server's log or
// a quoted reply can hold any bytes. Each byte that is not part of valid UTF-8, and
// each character XML forbids, becomes U+FFFD.
std::string xml_text(std::string_view text) {
    constexpr std::string_view replacement = "\xEF\xBF\xBD";
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        auto byte = static_cast<unsigned char>(text[i]);
        std::size_t length = byte < 0x80           ? 1
                             : (byte >> 5) == 0x6  ? 2
                             : (byte >> 4) == 0xE  ? 3
                             : (byte >> 3) == 0x1E ? 4
                                                   : 0;
        char32_t code = length == 1   ? byte
                        : length == 2 ? byte & 0x1Fu
                        : length == 3 ? byte & 0x0Fu
                                      : byte & 0x07u;
        bool valid = length != 0 && i + length <= text.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            valid = (next >> 6) == 0x2;
            code = (code << 6) | (next & 0x3Fu);
        }
        // Overlong forms, surrogates and what lies past U+10FFFF are not UTF-8 either.
        static constexpr char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        valid = valid && code >= smallest[length] && code <= 0x10FFFF &&
                !(code >= 0xD800 && code <= 0xDFFF);
        bool allowed = valid && (code == 0x9 || code == 0xA || code == 0xD ||
                                 (code >= 0x20 && code != 0xFFFE && code != 0xFFFF));
        if (allowed) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out.append(replacement);
            i += valid ? length : 1;
        }
    }
    return out;
}

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

std::string seconds(std::chrono::milliseconds duration) {
    return fmt::format("{:.3f}", static_cast<double>(duration.count()) / 1000.0);
}

}  // namespace

std::string render_junit(const RunReport& report) {
    int failures = 0, errors = 0, skipped = 0;
    for (const CheckResult& check : report.checks) {
        if (check.status == Status::pass) continue;
        if (check.expected_to_fail || check.status == Status::skip)
            ++skipped;
        else if (check.status == Status::fail)
            ++failures;
        else
            ++errors;
    }
    auto count = [&](pugi::xml_node node) {
        node.append_attribute("tests") = static_cast<int>(report.checks.size());
        node.append_attribute("failures") = failures;
        node.append_attribute("errors") = errors;
        node.append_attribute("skipped") = skipped;
        node.append_attribute("time") = seconds(report.duration).c_str();
    };

    pugi::xml_document document;
    auto suites = document.append_child("testsuites");
    suites.append_attribute("name") = "labcheck";
    count(suites);
    auto suite = suites.append_child("testsuite");
    suite.append_attribute("name") = xml_text(report.lab).c_str();
    count(suite);
    auto properties = suite.append_child("properties");
    auto property = [&](const char* name, const std::string& value) {
        auto node = properties.append_child("property");
        node.append_attribute("name") = name;
        node.append_attribute("value") = xml_text(value).c_str();
    };
    property("server", report.server);
    property("protocol", report.protocol);
    property("score", std::to_string(report.score()));
    property("max_score", std::to_string(report.max_score()));

    const std::string classname = xml_text("labcheck." + report.lab);
    for (const CheckResult& check : report.checks) {
        auto testcase = suite.append_child("testcase");
        testcase.append_attribute("name") =
            xml_text(fmt::format("{}: {}", check.id, check.title)).c_str();
        testcase.append_attribute("classname") = classname.c_str();
        testcase.append_attribute("time") = seconds(check.duration).c_str();
        if (check.status == Status::pass) continue;
        const char* kind = check.expected_to_fail || check.status == Status::skip ? "skipped"
                           : check.status == Status::fail                         ? "failure"
                                                                                  : "error";
        auto outcome = testcase.append_child(kind);
        std::string message = first_line(check.message);
        if (check.expected_to_fail) message = "expected to fail at this stage: " + message;
        outcome.append_attribute("message") = xml_text(message).c_str();
        if (std::string_view(kind) != "skipped") {
            outcome.append_attribute("type") = std::string(to_string(check.status)).c_str();
            outcome.text() = xml_text(check_story(check)).c_str();
        }
    }
    std::ostringstream out;
    document.save(out, "  ", pugi::format_default | pugi::format_no_declaration,
                  pugi::encoding_utf8);
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + out.str();
}

}  // namespace labcheck
