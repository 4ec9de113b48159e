// A set of definitions evaluated together: a flags array or a local-evaluation feed document
// ({flags, group_type_mapping, cohorts}). Dependencies between flags are resolved in
// topological order; a cycle is an error of the flags on it only.
#pragma once
#include "no_postgres.hpp"
#include "cohorts.hpp"
#include "evaluator.hpp"
#include "flag_model.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flag_eval {

struct FlagOutcome {
    const Flag* flag;
    FlagResult result;
};

struct EvaluationSummary {
    std::vector<FlagOutcome> flags;  // stored order; inactive and deleted flags omitted
    bool errors_while_computing = false;
};

// Watches evaluate_all() flag by flag, in evaluation order (dependencies first). The decide
// service uses it to learn which answers depended on data the request did not carry.
class EvaluationObserver {
public:
    virtual ~EvaluationObserver() = default;
    virtual void before_flag(const Flag& flag) = 0;
    virtual void after_flag(const Flag& flag, const FlagResult& result) = 0;
};

class FlagSet {
public:
    // Throws InvalidDefinition naming the JSON path of the first structural problem.
    static FlagSet parse(const boost::json::value& definitions, Bucketing default_bucketing);

    EvaluationSummary evaluate_all(const EvaluationContext& context,
                                   EvaluationObserver* observer = nullptr) const;

    // The live flag `key` alone, after the flags it depends on (directly or not) and nothing
    // else: what evaluate_all() would answer for it. nullopt when no live flag has that key.
    std::optional<FlagResult> evaluate_one(std::string_view key,
                                           const EvaluationContext& context) const;

    // The live flag `key` and the live flags it depends on, directly or not (empty when no live
    // flag has that key).
    std::vector<const Flag*> with_dependencies(std::string_view key) const;

    const std::vector<std::unique_ptr<Flag>>& flags() const { return flags_; }
    // No two live flags share a key (then neither do the flags of an evaluation's summary).
    bool keys_unique() const { return keys_unique_; }
    const GroupTypeMapping& group_type_mapping() const { return group_type_mapping_; }
    const CohortSet& cohorts() const { return cohorts_; }

private:
    void order_by_dependencies();
    std::vector<bool> needed_by(std::size_t index) const;
    EvaluationContext with_group_type_mapping(const EvaluationContext& context) const;
    FlagResult evaluate_in_order(std::size_t index, const EvaluationContext& context,
                                 const DependencyResults& results) const;

    std::vector<std::unique_ptr<Flag>> flags_;                       // stored order
    std::unordered_map<std::string_view, std::size_t> live_by_key_;  // keys owned by flags_
    // live_by_key_ of each live flag's key, by position: evaluating a request hashes no key.
    std::vector<std::size_t> slot_of_flag_;
    std::vector<std::size_t> evaluation_order_;  // indexes into flags_, dependencies first
    std::vector<std::string> cycle_errors_;      // per flag: non-empty when on a cycle
    bool keys_unique_ = true;
    GroupTypeMapping group_type_mapping_;
    CohortSet cohorts_;
};

}  // namespace flag_eval
