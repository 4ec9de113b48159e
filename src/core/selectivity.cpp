#include "selectivity.hpp"

#include "filter_matching.hpp"

#include <algorithm>

namespace flag_eval {
namespace {

// The largest of rollout x match_share(set) over the flag's person condition sets (a group's set
// needs the group, which flag_eval() never has); 0 for an inactive flag.
template <class MatchShare>
double largest_rollout_matched(const Flag& flag, MatchShare&& match_share) {
    if (!flag.active || flag.deleted) return 0.0;
    double share = 0.0;
    for (const Condition& condition : flag.conditions) {
        if (flag.aggregation_of(condition)) continue;
        const double rollout = condition.rollout_percentage.value_or(100.0) / 100.0;
        if (rollout <= share) continue;  // cannot raise it: spare the matching
        share = std::max(share, rollout * match_share(condition));
    }
    return std::clamp(share, 0.0, 1.0);
}

}  // namespace

bool reads_properties(const Flag& flag) {
    return std::any_of(flag.conditions.begin(), flag.conditions.end(),
                       [](const Condition& c) { return !c.filters.empty(); });
}

double enabled_share_for(const Flag& flag, const PropertySource& properties) {
    EvaluationContext context;
    context.person_properties = &properties;
    const MatchEnvironment env{context, nullptr, nullptr};
    return largest_rollout_matched(flag, [&](const Condition& condition) {
        try {
            return filters_match(condition.filters, env) ? 1.0 : 0.0;
        } catch (const EvaluationError&) {
            return 0.0;  // as flag_eval() answers it: not enabled
        }
    });
}

double enabled_share_assumed(const Flag& flag, double property_match_share) {
    return largest_rollout_matched(flag, [&](const Condition& condition) {
        return condition.filters.empty() ? 1.0 : property_match_share;
    });
}

}  // namespace flag_eval
