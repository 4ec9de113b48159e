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

std::vector<std::string> rarest_key_each(
    const RequiredKeys& required, const std::function<double(std::string_view)>& share_having) {
    std::vector<std::string> chosen;
    for (const std::vector<std::string>& alternative : required.alternatives) {
        const std::string* rarest = &alternative.front();
        double rarest_share = share_having(*rarest);
        for (const std::string& key : alternative) {
            const double share = share_having(key);
            if (share < rarest_share) rarest = &key, rarest_share = share;
        }
        if (std::find(chosen.begin(), chosen.end(), *rarest) == chosen.end())
            chosen.push_back(*rarest);
    }
    return chosen;
}

}  // namespace flag_eval
