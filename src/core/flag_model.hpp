// The compiled form of a PostHog flag definition: parsed and checked once, evaluated many times.
#pragma once
#include "no_postgres.hpp"
#include "bucketing.hpp"
#include "operators.hpp"
#include "request_scope.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flag_eval {

enum class FilterType { Person, Group, Cohort, Flag };

struct PropertyFilter {
    std::string key;
    FilterType type = FilterType::Person;
    Operator op = Operator::Exact;
    bool negation = false;                // inverts the filter's result, inside a cohort only
    int group_type_index = -1;            // Group filters
    std::optional<ValueMatcher> matcher;  // Person and Group filters
    std::int64_t cohort_id = 0;           // Cohort filters
    // Flag filters: true = the flag is on, false = off, a string = that variant.
    std::optional<bool> flag_value_bool;
    std::string flag_value_variant;
};

struct Condition {
    std::vector<PropertyFilter> filters;       // ANDed
    std::optional<double> rollout_percentage;  // nullopt means 100
    int variant_override = -1;  // index into Flag::variants; -1 when none is declared
    // Mixed targeting: a condition set may aggregate by its own group type (or, with null, by
    // the person) instead of the flag's. Without the field it uses the flag's.
    bool has_own_aggregation = false;
    std::optional<int> own_aggregation_group_type_index;  // nullopt: the person
};

// What buckets a person: the distinct id (or a continuity key), or the request's device id.
enum class BucketingIdentifier { DistinctId, DeviceId };

struct Variant {
    std::string key;
    double rollout_percentage = 0.0;
};

struct Holdout {
    double exclusion_percentage = 0.0;
    std::string variant;  // "holdout-<id>"
};

struct Flag {
    std::int64_t id = 0;
    std::string key;
    std::string hash_prefix;  // "<key>.", computed once
    bool active = true;
    bool deleted = false;
    std::int64_t version = 0;
    std::optional<std::string> description;  // answered in metadata, as PostHog does
    bool has_experiment = false;             // answered in metadata: SDKs slim their events on it
    bool ensure_experience_continuity = false;
    Bucketing bucketing = Bucketing::Xxh3;
    BucketingIdentifier bucketing_identifier = BucketingIdentifier::DistinctId;
    EvaluationRuntime evaluation_runtime = EvaluationRuntime::All;
    std::vector<std::string> evaluation_contexts;  // empty: every context
    std::vector<Condition> conditions;
    std::vector<Variant> variants;
    std::optional<int> aggregation_group_type_index;
    std::optional<Condition> super_condition;  // early-access enrollment gate
    std::optional<Holdout> holdout;
    bool early_exit = false;
    std::map<std::string, std::string, std::less<>> payloads;  // "true" or variant key -> JSON text
    std::vector<std::string> dependencies;                     // keys named by flag filters
    std::vector<std::int64_t> cohort_ids;                      // ids named by cohort filters
    // The parts of the flag's member of a /flags v2 answer that only its definition decides,
    // written once (flags_v2_writer.hpp, prepare_v2_parts) rather than in every answer.
    std::string v2_head, v2_metadata;

    // The group type a condition set aggregates by; nullopt: the person.
    std::optional<int> aggregation_of(const Condition& condition) const {
        return condition.has_own_aggregation ? condition.own_aggregation_group_type_index
                                             : aggregation_group_type_index;
    }
};

}  // namespace flag_eval
