#include "selectivity.hpp"

#include "filter_matching.hpp"

#include <algorithm>

namespace flag_eval {

bool reads_properties(const Flag& flag) {
    return std::any_of(flag.conditions.begin(), flag.conditions.end(),
                       [](const Condition& c) { return !c.filters.empty(); });
}

double enabled_share_for(const Flag& flag, const PropertySource& properties) {
    if (!flag.active || flag.deleted) return 0.0;
    EvaluationContext context;
    context.person_properties = &properties;
    const MatchEnvironment env{context, nullptr, nullptr};
    double share = 0.0;
    for (const Condition& condition : flag.conditions) {
        // A group's condition set needs the group, which flag_eval() never has.
        if (flag.aggregation_of(condition)) continue;
        const double rollout = condition.rollout_percentage.value_or(100.0) / 100.0;
        if (rollout <= share) continue;
        bool matches = false;
        try {
            matches = filters_match(condition.filters, env);
        } catch (const EvaluationError&) {
            matches = false;  // as flag_eval() answers it: not enabled
        }
        if (matches) share = rollout;
    }
    return std::clamp(share, 0.0, 1.0);
}

double enabled_share_assumed(const Flag& flag, double property_match_share) {
    if (!flag.active || flag.deleted) return 0.0;
    double share = 0.0;
    for (const Condition& condition : flag.conditions) {
        if (flag.aggregation_of(condition)) continue;
        const double rollout = condition.rollout_percentage.value_or(100.0) / 100.0;
        share = std::max(share, rollout * (condition.filters.empty() ? 1.0 : property_match_share));
    }
    return std::clamp(share, 0.0, 1.0);
}

}  // namespace flag_eval
