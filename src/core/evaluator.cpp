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
        if (!resolve_identifier()) return make_result(Reason::NoGroupType, 0);
        if (flag_.super_condition && has_super_condition_properties())
            return super_condition_result();
        if (flag_.holdout && in_holdout()) {
            FlagResult r = make_result(Reason::HoldoutConditionValue, std::nullopt);
            r.enabled = true;
            r.variant = &flag_.holdout->variant;
            r.payload = payload_for(r.variant);
            return r;
        }
        return condition_sets_result();
    }

private:
    // The identifier that buckets this subject: the group key for group flags, the recorded
    // experience-continuity key when there is one, else the distinct id.
    bool resolve_identifier() {
        const EvaluationContext& ctx = env_.context;
        if (flag_.aggregation_group_type_index) {
            const GroupContext* group =
                ctx.group_by_type_index(*flag_.aggregation_group_type_index);
            if (!group) return false;
            identifier_ = group->key;
            return true;
        }
        identifier_ = ctx.distinct_id;
        if (flag_.ensure_experience_continuity && ctx.hash_key_overrides)
            if (auto key = ctx.hash_key_overrides->for_flag(flag_.key)) identifier_ = *key;
        return true;
    }

    // An empty identifier hashes as 0.0 for rollout and variant (the reference's rule).
    double flag_hash(std::string_view salt) const {
        if (identifier_.empty()) return 0.0;
        return hash01(flag_.bucketing, flag_.hash_prefix, identifier_, salt);
    }

    bool in_rollout(const Condition& condition) const {
        const double pct = condition.rollout_percentage.value_or(100.0);
        if (pct >= 100.0) return true;
        return flag_hash("") <= pct / 100.0;
    }

    bool in_holdout() const {
        return hash01(flag_.bucketing, "holdout-", identifier_, "") <=
               flag_.holdout->exclusion_percentage / 100.0;
    }

    const std::string* hashed_variant() const {
        if (flag_.variants.empty()) return nullptr;
        const double h = flag_hash("variant");
        double cumulative = 0.0;
        for (const auto& v : flag_.variants) {
            cumulative += v.rollout_percentage / 100.0;
            if (h < cumulative) return &v.key;
        }
        return nullptr;
    }

    const std::string* variant_for(const Condition& condition) const {
        if (condition.variant_override >= 0) return &flag_.variants[condition.variant_override].key;
        return hashed_variant();
    }

    const std::string* payload_for(const std::string* variant) const {
        auto it = flag_.payloads.find(variant ? *variant : kTrueKey);
        return it == flag_.payloads.end() ? nullptr : &it->second;
    }

    FlagResult matched(const Condition& condition, Reason reason, int index) const {
        FlagResult r = make_result(reason, index);
        r.enabled = true;
        r.variant = variant_for(condition);
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

    FlagResult super_condition_result() const {
        const Condition& condition = *flag_.super_condition;
        if (filters_match(condition.filters, env_) && in_rollout(condition))
            return matched(condition, Reason::SuperConditionValue, 0);
        return make_result(Reason::SuperConditionValue, 0);
    }

    FlagResult condition_sets_result() const {
        Reason best = Reason::NoConditionMatch;
        std::optional<int> best_index;
        if (!flag_.conditions.empty()) best_index = 0;
        for (std::size_t i = 0; i < flag_.conditions.size(); ++i) {
            const Condition& condition = flag_.conditions[i];
            const int index = static_cast<int>(i);
            if (!filters_match(condition.filters, env_)) continue;
            if (in_rollout(condition)) return matched(condition, Reason::ConditionMatch, index);
            if (flag_.early_exit) return make_result(Reason::OutOfRolloutBound, index);
            if (priority(Reason::OutOfRolloutBound) > priority(best)) {
                best = Reason::OutOfRolloutBound;
                best_index = index;
            }
        }
        return make_result(best, best_index);
    }

    const Flag& flag_;
    const MatchEnvironment& env_;
    std::string_view identifier_;
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
