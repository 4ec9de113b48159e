#include "filter_matching.hpp"

#include <string>

namespace flag_eval {
namespace {

constexpr int kMaxCohortDepth = 64;  // deeper references can only be a cycle

bool cohort_node_matches(const CohortNode& node, const MatchEnvironment& env, int depth);

bool property_matches(const PropertyFilter& filter, const MatchEnvironment& env) {
    const EvaluationContext& ctx = env.context;
    PropertyValue value;
    if (filter.type == FilterType::Group) {
        const GroupContext* group = ctx.group_by_type_index(filter.group_type_index);
        if (!group) return false;  // the subject is not in a group of this type
        value = group->properties->get(filter.key);
        if (value.missing() && filter.key == "$group_key")
            value = PropertyValue::make_string(group->key);
    } else {
        value = ctx.person_properties->get(filter.key);
        if (value.missing() && filter.key == "distinct_id")
            value = PropertyValue::make_string(ctx.distinct_id);
    }
    return filter.matcher && filter.matcher->matches(value);
}

bool cohort_member(std::int64_t cohort_id, const MatchEnvironment& env, int depth) {
    if (depth > kMaxCohortDepth)
        throw EvaluationError("cohort " + std::to_string(cohort_id) +
                              " refers to itself through other cohorts");
    if (env.cohorts)
        if (const CohortNode* node = env.cohorts->find(cohort_id))
            return cohort_node_matches(*node, env, depth + 1);
    if (env.context.static_cohorts)
        if (auto member = env.context.static_cohorts->is_member(cohort_id)) return *member;
    throw EvaluationError("cohort " + std::to_string(cohort_id) +
                          " is not available for evaluation");
}

bool flag_dependency_matches(const PropertyFilter& filter, const MatchEnvironment& env) {
    const FlagResult* target = env.dependencies ? env.dependencies->find(filter.key) : nullptr;
    if (!target) throw EvaluationError("flag dependency \"" + filter.key + "\" was not evaluated");
    if (target->failed)
        throw EvaluationError("flag dependency \"" + filter.key + "\" could not be computed");
    if (filter.flag_value_bool) return target->enabled == *filter.flag_value_bool;
    return target->enabled && target->variant && *target->variant == filter.flag_value_variant;
}

bool filter_matches_at(const PropertyFilter& filter, const MatchEnvironment& env, int depth) {
    bool result = false;
    switch (filter.type) {
        case FilterType::Person:
        case FilterType::Group: result = property_matches(filter, env); break;
        case FilterType::Cohort: {
            const bool member = cohort_member(filter.cohort_id, env, depth);
            result = filter.op == Operator::NotIn ? !member : member;
            break;
        }
        case FilterType::Flag: result = flag_dependency_matches(filter, env); break;
    }
    return result;
}

bool cohort_node_matches(const CohortNode& node, const MatchEnvironment& env, int depth) {
    switch (node.kind) {
        case CohortNode::Kind::Filter:
            // Only a cohort's filters are negated: PostHog's server reads `negation` nowhere else
            // (a flag's condition sets say not_icontains, is_not, not_in instead).
            return node.filter &&
                   filter_matches_at(*node.filter, env, depth) != node.filter->negation;
        case CohortNode::Kind::And:
            for (const auto& child : node.children)
                if (!cohort_node_matches(child, env, depth)) return false;
            return true;
        case CohortNode::Kind::Or:
            for (const auto& child : node.children)
                if (cohort_node_matches(child, env, depth)) return true;
            return false;
    }
    return false;
}

int cost_rank(FilterType type) {
    switch (type) {
        case FilterType::Flag: return 0;
        case FilterType::Person:
        case FilterType::Group: return 1;
        case FilterType::Cohort: return 2;
    }
    return 2;
}

}  // namespace

bool filter_matches(const PropertyFilter& filter, const MatchEnvironment& env) {
    return filter_matches_at(filter, env, 0);
}

bool filters_match(const std::vector<PropertyFilter>& filters, const MatchEnvironment& env) {
    for (int rank = 0; rank <= 2; ++rank)
        for (const auto& filter : filters)
            if (cost_rank(filter.type) == rank && !filter_matches(filter, env)) return false;
    return true;
}

}  // namespace flag_eval
