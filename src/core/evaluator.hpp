// Evaluation of one compiled flag for one subject: super condition, holdout, condition sets,
// rollout and variant, with the reference's reasons and their priority.
#pragma once
#include "no_postgres.hpp"
#include "cohorts.hpp"
#include "evaluation_context.hpp"
#include "flag_model.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace flag_eval {

// In the reference's priority order, highest first.
enum class Reason {
    SuperConditionValue,
    HoldoutConditionValue,
    ConditionMatch,
    NoGroupType,
    OutOfRolloutBound,
    NoConditionMatch,
    FlagDisabled,
    MissingDependency,
};

std::string_view reason_code(Reason r);
// The Reason whose reason_code() is `code`; nullopt for any other text.
std::optional<Reason> reason_from_code(std::string_view code);

struct FlagResult {
    bool enabled = false;
    const std::string* variant = nullptr;  // points into the Flag
    Reason reason = Reason::NoConditionMatch;
    std::optional<int> condition_index;
    const std::string* payload = nullptr;  // JSON text, points into the Flag
    std::string description;               // for errors and missing dependencies
    bool failed = false;                   // could not be computed (errorsWhileComputingFlags)
};

// The payload an enabled flag answers with (JSON text, in the Flag), for its variant or, without
// one, for "true"; null when there is none.
const std::string* payload_of(const Flag& flag, std::optional<std::string_view> variant);

// The outcome a result stands for, as preview() and flag_variant_counts() name it: its variant
// when enabled with one, else "true" or "false".
std::string_view outcome_name(const FlagResult& result);

// Results of flags already evaluated, for flag dependencies.
class DependencyResults {
public:
    virtual ~DependencyResults() = default;
    virtual const FlagResult* find(std::string_view flag_key) const = 0;
};

// Evaluates `flag`. `cohorts` and `dependencies` may be null (nothing defined).
FlagResult evaluate_flag(const Flag& flag, const EvaluationContext& context,
                         const CohortSet* cohorts, const DependencyResults* dependencies);

}  // namespace flag_eval
