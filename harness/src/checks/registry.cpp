#include <algorithm>

#include "checks/check.hpp"

namespace labcheck {

bool CheckContext::in_baseline(pid_t pid) const {
    return std::find(baseline.begin(), baseline.end(), pid) != baseline.end();
}

std::span<const CheckDefinition> all_checks() {
    // In the order of the design's table, which is also the order students meet them.
    static const std::vector<CheckDefinition> checks = [] {
        std::vector<CheckDefinition> all;
        for (auto family : {data_checks, concurrency_checks, reaping_checks, robustness_checks,
                            tcp_state_checks, thread_checks, fairness_checks, pool_checks})
            for (auto& check : family()) all.push_back(std::move(check));
        return all;
    }();
    return checks;
}

const CheckDefinition* find_check(std::string_view id) {
    for (const auto& check : all_checks())
        if (check.id == id) return &check;
    return nullptr;
}

std::span<const std::string_view> check_ids() {
    static const std::vector<std::string_view> ids = [] {
        std::vector<std::string_view> all;
        for (const auto& check : all_checks()) all.push_back(check.id);
        return all;
    }();
    return ids;
}

}  // namespace labcheck
