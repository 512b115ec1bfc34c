// Reads a lab's spec, lab.toml, from its folder.
//
// The format (every key below is checked; any other key is an error, so a typo such as
// `pionts` is reported rather than silently ignored):
//
//   title = "An iterative echo server"   # required: the lab's name as students see it
//   protocol = "plain"                   # required: "plain" or "swapcase"
//   text = "README.md"                   # optional: the lab text, relative to the folder
//   starter_fingerprint = "fnv1a64:0123456789abcdef"   # optional: the FNV-1a 64 of the
//                                        #   pristine starter server.cpp (labcheck progress
//                                        #   calls a lab whose server.cpp matches "not
//                                        #   started"; `ctest -R starter_fingerprint`
//                                        #   prints the value to paste)
//
//   [[check]]                            # one table per check, in the order they run
//   id = "listens"                       # required: a check id of DESIGN.md (checks/registry)
//   points = 10                          # required for a graded check: a whole number >= 0
//   step = "Step 1: Create a socket, bind and listen"   # required: the step's heading
//   anchor = "step-1-create-a-socket-bind-and-listen"   # required: that heading's anchor,
//                                        #   as GitHub makes it (lowercase, hyphens)
//   hints = ["a nudge", "a stronger hint", "nearly the answer"]   # required: at least one
//
//   [[check]]
//   id = "concurrent"
//   expected_to_fail = true              # optional, default false: shown, not graded at this
//                                        #   stage; points must then be absent or 0
//   step = "..."
//   anchor = "..."
//   hints = ["..."]
//
// The lab's id and number come from its folder's name, NN-name ("01-iterative-echo" is
// lab 1). Every error is a SpecError of one line: "file:line: what is wrong and the fix".

#include "lab_spec.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>

#include <toml++/toml.h>

#include "fingerprint.hpp"

namespace labcheck {
namespace {

constexpr std::array<std::string_view, 5> kTopKeys = {"title", "protocol", "text",
                                                      "starter_fingerprint", "check"};
constexpr std::array<std::string_view, 6> kCheckKeys = {"id",   "points", "expected_to_fail",
                                                        "step", "anchor", "hints"};

// Edit distance counting a swap of neighbours as one edit ("pionts" is 1 from "points").
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

template <typename Names>
std::string join(const Names& names) {
    std::string out;
    for (const auto& name : names) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

// `did you mean "points"? ` when one candidate is close to `word`, else "".
template <typename Names>
std::string suggestion(std::string_view word, const Names& candidates) {
    std::optional<std::string_view> best;
    std::size_t best_distance = 3;  // suggest only within two edits
    for (std::string_view candidate : candidates) {
        const std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    if (!best) return "";
    return "did you mean \"" + std::string(*best) + "\"? ";
}

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "a whole number";
        case toml::node_type::floating_point:
            return "a number with a fraction";
        case toml::node_type::boolean:
            return "true/false";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        default:
            return "a date or time";
    }
}

std::string one_line(std::string_view text) {
    std::string out(text);
    std::replace(out.begin(), out.end(), '\n', ' ');
    return out;
}

bool is_anchor(std::string_view anchor) {
    return !anchor.empty() && std::all_of(anchor.begin(), anchor.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

// "01-iterative-echo" -> 1; nullopt when the name is not NN-name.
std::optional<int> lab_number(std::string_view folder_name) {
    const std::size_t dash = folder_name.find('-');
    if (dash == std::string_view::npos || dash < 2 || dash > 4 || dash + 1 == folder_name.size()) {
        return std::nullopt;
    }
    int number = 0;
    for (std::size_t i = 0; i < dash; ++i) {
        const char c = folder_name[i];
        if (c < '0' || c > '9') return std::nullopt;
        number = number * 10 + (c - '0');
    }
    return number;
}

// The name of the folder a path names, even when written "labs/01-x/" or ".".
std::string folder_name(const std::filesystem::path& folder) {
    std::filesystem::path path = folder.lexically_normal();
    if (path.filename().empty()) path = path.parent_path();
    if (path.empty() || path.filename() == "." || path.filename() == "..") {
        std::error_code ignored;
        path = std::filesystem::weakly_canonical(std::filesystem::absolute(folder), ignored);
    }
    return path.filename().string();
}

class SpecReader {
  public:
    SpecReader(const std::string& origin, std::span<const std::string_view> known_ids)
        : origin_(origin), known_ids_(known_ids) {}

    LabSpec read(std::string_view toml_text) {
        toml::table root;
        try {
            root = toml::parse(toml_text, origin_);
        } catch (const toml::parse_error& error) {
            fail(error.source().begin.line,
                 "not valid TOML: " + one_line(error.description()) +
                     " (fix that line; the format is described atop harness/src/lab_spec.cpp)");
        }

        for (auto&& [key, node] : root) {
            if (std::find(kTopKeys.begin(), kTopKeys.end(), key.str()) == kTopKeys.end()) {
                fail(line_of(key), "unknown key \"" + std::string(key.str()) + "\" (" +
                                       suggestion(key.str(), kTopKeys) +
                                       "allowed here: " + join(kTopKeys) + ")");
            }
        }

        LabSpec spec;
        spec.title = required_string(root, "title",
                                     "the lab's name, e.g. title = \"An iterative echo server\"");
        const std::string protocol_name =
            required_string(root, "protocol", "protocol = \"plain\" or protocol = \"swapcase\"");
        const std::optional<Protocol> protocol = parse_protocol(protocol_name);
        if (!protocol) {
            fail(line_of(*root.get("protocol")),
                 "unknown protocol \"" + protocol_name + "\" (use \"plain\" or \"swapcase\")");
        }
        spec.protocol = *protocol;
        if (root.contains("text")) {
            spec.text =
                required_string(root, "text", "the lab text's file, e.g. text = \"README.md\"");
        }
        if (root.contains("starter_fingerprint")) {
            const std::string example =
                "starter_fingerprint = \"fnv1a64:<16 hex digits>\" (`ctest -R starter_fingerprint` "
                "prints the right value)";
            std::string fingerprint = required_string(root, "starter_fingerprint", example);
            if (!is_fingerprint(fingerprint)) {
                fail(line_of(*root.get("starter_fingerprint")),
                     "starter_fingerprint \"" + fingerprint +
                         "\" must be \"fnv1a64:\" and 16 lowercase hex digits; write " + example);
            }
            spec.starter_fingerprint = std::move(fingerprint);
        }

        const toml::node* checks = root.get("check");
        if (checks == nullptr) {
            fail(0,
                 "no checks; add at least one [[check]] table with id, points, step, anchor "
                 "and hints");
        }
        const toml::array* array = checks->as_array();
        if (array != nullptr && array->empty()) {
            fail(line_of(*checks), "no checks; add at least one [[check]] table");
        }
        if (array == nullptr || !array->is_array_of_tables()) {
            fail(line_of(*checks),
                 "check must be a list of tables: write [[check]] (double "
                 "brackets) above each check's keys");
        }

        std::size_t index = 0;
        for (const toml::node& node : *array) {
            ++index;
            spec.checks.push_back(read_check(*node.as_table(), index));
            check_lines_.push_back(line_of(node));
        }
        return spec;
    }

  private:
    template <typename Node>
    static std::uint32_t line_of(const Node& node) {
        return node.source().begin.line;
    }

    [[noreturn]] void fail(std::uint32_t line, const std::string& message) const {
        std::string where = origin_;
        if (line != 0) where += ":" + std::to_string(line);
        throw SpecError(where + ": " + message);
    }

    // A required string value; `example` says what to write.
    std::string required_string(const toml::table& table, std::string_view key,
                                const std::string& example, std::uint32_t table_line = 0,
                                const std::string& owner = "") const {
        const toml::node* node = table.get(key);
        const std::string in = owner.empty() ? "" : " in " + owner;
        if (node == nullptr) {
            fail(table_line, "missing " + std::string(key) + in + "; add " + example);
        }
        const toml::value<std::string>* value = node->as_string();
        if (value == nullptr) {
            fail(line_of(*node), std::string(key) + in + " must be a string in \"quotes\", not " +
                                     std::string(type_name(*node)) + "; e.g. " + example);
        }
        if (value->get().empty()) {
            fail(line_of(*node), std::string(key) + in + " is empty; write " + example);
        }
        return value->get();
    }

    bool is_known(std::string_view id) const {
        return std::find(known_ids_.begin(), known_ids_.end(), id) != known_ids_.end();
    }

    std::span<const std::string_view> known_ids() const { return known_ids_; }

    CheckSpec read_check(const toml::table& table, std::size_t index) {
        const std::uint32_t line = line_of(table);
        CheckSpec check;

        // Name the check by its id when it has one, so every message says which check.
        std::string name = "check #" + std::to_string(index);
        if (const toml::node* id = table.get("id"); id != nullptr && id->is_string()) {
            name = "check \"" + id->as_string()->get() + "\"";
        }

        for (auto&& [key, node] : table) {
            if (std::find(kCheckKeys.begin(), kCheckKeys.end(), key.str()) == kCheckKeys.end()) {
                fail(line_of(key), "unknown key \"" + std::string(key.str()) + "\" in " + name +
                                       " (" + suggestion(key.str(), kCheckKeys) +
                                       "allowed: " + join(kCheckKeys) + ")");
            }
        }

        check.id = required_string(table, "id", "id = \"echo\" (one of: " + join(known_ids()) + ")",
                                   line, name);
        if (!is_known(check.id)) {
            const auto known = known_ids();
            fail(line_of(*table.get("id")), "unknown check id \"" + check.id + "\" (" +
                                                suggestion(check.id, known) +
                                                "known: " + join(known) + ")");
        }
        for (std::size_t i = 0; i < ids_.size(); ++i) {
            if (ids_[i] == check.id) {
                const std::uint32_t first = check_lines_[i];
                fail(line, "check id \"" + check.id + "\" appears twice" +
                               (first != 0 ? " (first at line " + std::to_string(first) + ")"
                                           : std::string()) +
                               "; each check may be listed once, remove one");
            }
        }
        ids_.push_back(check.id);

        if (const toml::node* node = table.get("expected_to_fail")) {
            const toml::value<bool>* value = node->as_boolean();
            if (value == nullptr) {
                fail(line_of(*node), "expected_to_fail in " + name +
                                         " must be true or false, not " +
                                         std::string(type_name(*node)));
            }
            check.expected_to_fail = value->get();
        }

        if (const toml::node* node = table.get("points")) {
            const toml::value<std::int64_t>* value = node->as_integer();
            if (value == nullptr) {
                fail(line_of(*node), "points in " + name + " must be a whole number, not " +
                                         std::string(type_name(*node)) + "; e.g. points = 10");
            }
            const std::int64_t points = value->get();
            if (points < 0) {
                fail(line_of(*node), "points in " + name + " must not be negative (got " +
                                         std::to_string(points) + "); use 0 or more");
            }
            if (points > 1000) {
                fail(line_of(*node), "points in " + name + " is " + std::to_string(points) +
                                         "; a lab totals 100, use a smaller number");
            }
            if (check.expected_to_fail && points != 0) {
                fail(line_of(*node), name +
                                         " is expected_to_fail, so it is not graded: remove "
                                         "points = " +
                                         std::to_string(points) +
                                         " (or make it graded by removing expected_to_fail)");
            }
            check.points = static_cast<int>(points);
        } else if (!check.expected_to_fail) {
            fail(line, name +
                           " has no points; add points = N (or expected_to_fail = true if it "
                           "is shown but not graded at this stage)");
        }

        check.step = required_string(table, "step",
                                     "step = \"Step 3: Read until EOF\" (the heading in the lab "
                                     "text this check is about)",
                                     line, name);
        check.anchor = required_string(table, "anchor",
                                       "anchor = \"step-3-read-until-eof\" (the step heading's "
                                       "anchor, as GitHub makes it)",
                                       line, name);
        if (!is_anchor(check.anchor)) {
            fail(line_of(*table.get("anchor")),
                 "anchor \"" + check.anchor + "\" in " + name +
                     " is not a heading anchor; write it as GitHub does: lowercase letters, "
                     "digits and hyphens, no \"#\", e.g. \"step-3-read-until-eof\"");
        }

        const toml::node* hints = table.get("hints");
        const std::string hints_fix = "hints in " + name +
                                      " must be a non-empty array of strings, e.g. hints = "
                                      "[\"a nudge\", \"a stronger hint\", \"nearly the answer\"]";
        if (hints == nullptr) fail(line, "missing hints in " + name + "; " + hints_fix);
        const toml::array* hint_array = hints->as_array();
        if (hint_array == nullptr || hint_array->empty()) fail(line_of(*hints), hints_fix);
        for (const toml::node& hint : *hint_array) {
            const toml::value<std::string>* text = hint.as_string();
            if (text == nullptr || text->get().empty()) {
                fail(line_of(hint) != 0 ? line_of(hint) : line_of(*hints), hints_fix);
            }
            check.hints.push_back(text->get());
        }
        return check;
    }

    std::string origin_;
    std::span<const std::string_view> known_ids_;
    std::vector<std::string> ids_;            // of the checks read so far
    std::vector<std::uint32_t> check_lines_;  // where each of them starts
};

}  // namespace

const CheckSpec* LabSpec::find(std::string_view check_id) const {
    for (const CheckSpec& check : checks) {
        if (check.id == check_id) return &check;
    }
    return nullptr;
}

LabSpec parse_lab_spec(std::string_view toml_text, const std::string& origin,
                       std::span<const std::string_view> known_ids) {
    LabSpec spec = SpecReader(origin, known_ids).read(toml_text);
    // "labs/01-iterative-echo/lab.toml" names lab 1; other origins (tests) leave id and number.
    const std::filesystem::path path(origin);
    spec.folder = path.parent_path();
    const std::string name = path.parent_path().filename().string();
    if (const std::optional<int> number = lab_number(name)) {
        spec.id = name;
        spec.number = *number;
    }
    return spec;
}

LabSpec load_lab_spec(const std::filesystem::path& folder,
                      std::span<const std::string_view> known_ids) {
    const std::filesystem::path file = folder / "lab.toml";
    const std::string origin = file.string();
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::error_code ignored;
        if (!std::filesystem::is_directory(folder, ignored)) {
            throw SpecError(folder.string() + ": no such lab folder");
        }
        throw SpecError(origin +
                        ": missing; a lab folder holds lab.toml (its spec), README.md "
                        "and server.cpp");
    }
    std::ostringstream text;
    text << in.rdbuf();

    const std::string name = folder_name(folder);
    const std::optional<int> number = lab_number(name);
    if (!number) {
        throw SpecError(folder.string() +
                        ": a lab folder's name must be NN-name, e.g. "
                        "01-iterative-echo (got \"" +
                        name + "\")");
    }
    LabSpec spec = parse_lab_spec(text.str(), origin, known_ids);
    spec.id = name;
    spec.number = *number;
    spec.folder = folder;
    return spec;
}

}  // namespace labcheck
