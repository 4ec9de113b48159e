#include "evaluator.hpp"

#include "filter_matching.hpp"

#include <string>

namespace flag_eval {
namespace {

const std::string kTrueKey = "true";

// Lower is more informative: the reference reports the highest-priority reason it saw.
int priority(Reason r) { return -static_cast<int>(r); }

FlagResult make_result(Reason reason, std::optional<int> condition_index) {
    FlagResult r;
    r.reason = reason;
    r.condition_index = condition_index;
    return r;
}

class FlagEvaluation {
public:
    FlagEvaluation(const Flag& flag, const MatchEnvironment& env) : flag_(flag), env_(env) {}

    FlagResult run() {
        if (!flag_.active || flag_.deleted) return make_result(Reason::FlagDisabled, std::nullopt);
        for (const auto& dependency : flag_.dependencies) {
            if (!env_.dependencies || !env_.dependencies->find(dependency)) {
                FlagResult r = make_result(Reason::MissingDependency, std::nullopt);
                r.description = "flag dependency \"" + dependency + "\" does not exist";
                return r;
            }
        }
        // Super condition and holdout bucket with the flag's own identifier.
        flag_identifier_ = identifier_for(flag_.aggregation_group_type_index);
        if (!flag_identifier_ && flag_.aggregation_group_type_index && !has_mixed_conditions())
            return make_result(Reason::NoGroupType, 0);
        if (flag_.super_condition && has_super_condition_properties())
            return super_condition_result();
        if (flag_.holdout && flag_identifier_ && in_holdout(*flag_identifier_)) {
            FlagResult r = make_result(Reason::HoldoutConditionValue, std::nullopt);
            r.enabled = true;
            r.variant = &flag_.holdout->variant;
            r.payload = payload_for(r.variant);
            return r;
        }
        return condition_sets_result();
    }

private:
    bool has_mixed_conditions() const {
        for (const auto& c : flag_.conditions)
            if (c.has_own_aggregation) return true;
        return false;
    }

    // The identifier that buckets a condition set aggregating by `aggregation`: the group key
    // for a group (none when the subject is not in a group of that type); for the person, the
    // device id for a device-bucketed flag (none without one: it never falls back), else the
    // recorded experience-continuity key when there is one, else the distinct id.
    std::optional<std::string_view> identifier_for(std::optional<int> aggregation) const {
        if (!aggregation && flag_.bucketing_identifier == BucketingIdentifier::DistinctId &&
            !flag_.ensure_experience_continuity)
            return env_.context.distinct_id;  // the usual case, kept short enough to inline
        return other_identifier_for(aggregation);
    }

    std::optional<std::string_view> other_identifier_for(std::optional<int> aggregation) const {
        const EvaluationContext& ctx = env_.context;
        if (aggregation) {
            const GroupContext* group = ctx.group_by_type_index(*aggregation);
            if (!group) return std::nullopt;
            return std::string_view(group->key);
        }
        if (flag_.bucketing_identifier == BucketingIdentifier::DeviceId) {
            if (!ctx.device_id.empty()) return ctx.device_id;
            const PropertyValue device = ctx.person_properties->get("$device_id");
            if (device.kind == ValueKind::String && !device.text.empty()) return device.text;
            return std::nullopt;
        }
        if (flag_.ensure_experience_continuity && ctx.hash_key_overrides)
            if (auto key = ctx.hash_key_overrides->for_flag(flag_.key)) return *key;
        return ctx.distinct_id;
    }

    // An empty identifier hashes as 0.0 for rollout and variant (the reference's rule).
    double flag_hash(std::string_view identifier, std::string_view salt) const {
        if (identifier.empty()) return 0.0;
        return hash01(flag_.bucketing, flag_.hash_prefix, identifier, salt);
    }

    bool in_rollout(const Condition& condition, std::string_view identifier) const {
        const double pct = condition.rollout_percentage.value_or(100.0);
        if (pct >= 100.0) return true;
        return flag_hash(identifier, "") <= pct / 100.0;
    }

    bool in_holdout(std::string_view identifier) const {
        return hash01(flag_.bucketing, "holdout-", identifier, "") <=
               flag_.holdout->exclusion_percentage / 100.0;
    }

    const std::string* hashed_variant(std::string_view identifier) const {
        if (flag_.variants.empty()) return nullptr;
        const double h = flag_hash(identifier, "variant");
        double cumulative = 0.0;
        for (const auto& v : flag_.variants) {
            cumulative += v.rollout_percentage / 100.0;
            if (h < cumulative) return &v.key;
        }
        return nullptr;
    }

    const std::string* variant_for(const Condition& condition, std::string_view identifier) const {
        if (condition.variant_override >= 0) return &flag_.variants[condition.variant_override].key;
        return hashed_variant(identifier);
    }

    const std::string* payload_for(const std::string* variant) const {
        return payload_of(flag_,
                          variant ? std::optional<std::string_view>(*variant) : std::nullopt);
    }

    // The variant is bucketed with the identifier of the condition set that matched.
    FlagResult matched(const Condition& condition, Reason reason, int index,
                       std::string_view identifier) const {
        FlagResult r = make_result(reason, index);
        r.enabled = true;
        r.variant = variant_for(condition, identifier);
        r.payload = payload_for(r.variant);
        return r;
    }

    // Early-access enrollment decides alone, but only for people who have answered it.
    bool has_super_condition_properties() const {
        for (const auto& f : flag_.super_condition->filters)
            if (f.type == FilterType::Person &&
                !env_.context.person_properties->get(f.key).missing())
                return true;
        return false;
    }

    // Without an identifier (a device-bucketed flag and no device id) only a 100 % rollout holds.
    bool in_rollout_if_identified(const Condition& condition) const {
        if (flag_identifier_) return in_rollout(condition, *flag_identifier_);
        return condition.rollout_percentage.value_or(100.0) >= 100.0;
    }

    FlagResult super_condition_result() const {
        const Condition& condition = *flag_.super_condition;
        if (filters_match(condition.filters, env_) && in_rollout_if_identified(condition))
            return matched(condition, Reason::SuperConditionValue, 0,
                           flag_identifier_.value_or(std::string_view()));
        return make_result(Reason::SuperConditionValue, 0);
    }

    // Condition sets in order; the first that matches and holds the subject in its rollout
    // decides. A set that cannot bucket the subject is skipped: a group set when the subject is
    // not in that group, a device-bucketed person set without a device id (out of rollout).
    FlagResult condition_sets_result() const {
        Reason best = Reason::NoConditionMatch;
        std::optional<int> best_index;
        if (!flag_.conditions.empty()) best_index = 0;
        bool any_evaluated = false;
        std::optional<int> last_skipped_group;
        for (std::size_t i = 0; i < flag_.conditions.size(); ++i) {
            const Condition& condition = flag_.conditions[i];
            const int index = static_cast<int>(i);
            const std::optional<int> aggregation = flag_.aggregation_of(condition);
            const std::optional<std::string_view> identifier =
                aggregation == flag_.aggregation_group_type_index ? flag_identifier_
                                                                  : identifier_for(aggregation);
            if (!identifier && aggregation) {
                last_skipped_group = index;
                continue;
            }
            any_evaluated = true;
            if (identifier && !filters_match(condition.filters, env_)) continue;
            if (identifier && in_rollout(condition, *identifier))
                return matched(condition, Reason::ConditionMatch, index, *identifier);
            if (flag_.early_exit && identifier)
                return make_result(Reason::OutOfRolloutBound, index);
            if (priority(Reason::OutOfRolloutBound) > priority(best)) {
                best = Reason::OutOfRolloutBound;
                best_index = index;
            }
        }
        if (!any_evaluated && last_skipped_group)
            return make_result(Reason::NoGroupType, *last_skipped_group);
        FlagResult r = make_result(best, best_index);
        if (best == Reason::NoConditionMatch && last_skipped_group)
            r.description =
                "No matching condition set (group conditions were not evaluated because no group "
                "type was provided)";
        return r;
    }

    const Flag& flag_;
    const MatchEnvironment& env_;
    std::optional<std::string_view> flag_identifier_;
};

}  // namespace

std::string_view reason_code(Reason r) {
    switch (r) {
        case Reason::SuperConditionValue: return "super_condition_value";
        case Reason::HoldoutConditionValue: return "holdout_condition_value";
        case Reason::ConditionMatch: return "condition_match";
        case Reason::NoGroupType: return "no_group_type";
        case Reason::OutOfRolloutBound: return "out_of_rollout_bound";
        case Reason::NoConditionMatch: return "no_condition_match";
        case Reason::FlagDisabled: return "flag_disabled";
        case Reason::MissingDependency: return "missing_dependency";
    }
    return "unknown";
}

const std::string* payload_of(const Flag& flag, std::optional<std::string_view> variant) {
    auto it = flag.payloads.find(variant.value_or(kTrueKey));
    return it == flag.payloads.end() ? nullptr : &it->second;
}

std::string_view outcome_name(const FlagResult& result) {
    if (result.enabled && result.variant) return *result.variant;
    return result.enabled ? "true" : "false";
}

std::optional<Reason> reason_from_code(std::string_view code) {
    for (const Reason r :
         {Reason::SuperConditionValue, Reason::HoldoutConditionValue, Reason::ConditionMatch,
          Reason::NoGroupType, Reason::OutOfRolloutBound, Reason::NoConditionMatch,
          Reason::FlagDisabled, Reason::MissingDependency})
        if (reason_code(r) == code) return r;
    return std::nullopt;
}

FlagResult evaluate_flag(const Flag& flag, const EvaluationContext& context,
                         const CohortSet* cohorts, const DependencyResults* dependencies) {
    const MatchEnvironment env{context, cohorts, dependencies};
    try {
        return FlagEvaluation(flag, env).run();
    } catch (const EvaluationError& e) {
        FlagResult r;
        r.failed = true;
        r.description = e.what();
        return r;
    }
}

}  // namespace flag_eval
