#include "report/check_story.hpp"

namespace labcheck {

std::string check_story(const CheckResult& check) {
    std::string story = check.message;
    auto add = [&](const std::string& part) {
        if (part.empty()) return;
        if (!story.empty()) story += '\n';
        story += part;
    };
    if (check.status != Status::pass && !check.hint.empty()) add("hint: " + check.hint);
    if (!check.log_tail.empty()) {
        std::string tail = check.log_tail;
        if (tail.ends_with('\n')) tail.pop_back();
        add("server log (last lines):\n" + tail);
    }
    return story;
}

}  // namespace labcheck
