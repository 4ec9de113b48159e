#include "required_keys.hpp"

#include <algorithm>

namespace flag_eval {
namespace {

bool only_person_filters(const Condition& condition) {
    return std::all_of(condition.filters.begin(), condition.filters.end(),
                       [](const PropertyFilter& f) { return f.type == FilterType::Person; });
}

// The keys without which this filter fails: its own, unless a missing key satisfies it.
bool fails_without_key(const PropertyFilter& filter) {
    return filter.matcher && filter.key != "distinct_id" &&
           !filter.matcher->matches(PropertyValue::make_missing());
}

}  // namespace

std::optional<RequiredKeys> required_keys(const Flag& flag) {
    if (!flag.active || flag.deleted || flag.holdout || flag.aggregation_group_type_index ||
        !flag.dependencies.empty() || !flag.cohort_ids.empty())
        return std::nullopt;
    RequiredKeys required;
    // Early-access enrollment decides alone for a person who has any of its keys (the
    // evaluator's has_super_condition_properties), so each of them is a way in.
    if (flag.super_condition) {
        if (!only_person_filters(*flag.super_condition)) return std::nullopt;
        for (const PropertyFilter& filter : flag.super_condition->filters)
            required.alternatives.push_back({filter.key});
    }
    for (const Condition& condition : flag.conditions) {
        if (condition.has_own_aggregation || !only_person_filters(condition)) return std::nullopt;
        std::vector<std::string> keys;
        for (const PropertyFilter& filter : condition.filters)
            if (fails_without_key(filter) &&
                std::find(keys.begin(), keys.end(), filter.key) == keys.end())
                keys.push_back(filter.key);
        if (keys.empty()) return std::nullopt;  // this set can hold for a person with no keys
        required.alternatives.push_back(std::move(keys));
    }
    if (required.alternatives.empty()) return std::nullopt;
    return required;
}

}  // namespace flag_eval
