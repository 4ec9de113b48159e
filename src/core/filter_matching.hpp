// Whether one property filter, or all filters of one condition set, hold for a subject:
// person and group properties, cohorts (dynamic in memory, static through the host) and
// flag dependencies.
#pragma once
#include "no_postgres.hpp"
#include "cohorts.hpp"
#include "evaluation_context.hpp"
#include "evaluator.hpp"
#include "flag_model.hpp"

#include <stdexcept>

namespace flag_eval {

// A flag that cannot be computed for this subject (an unknown cohort, a failed dependency).
class EvaluationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct MatchEnvironment {
    const EvaluationContext& context;
    const CohortSet* cohorts;               // may be null
    const DependencyResults* dependencies;  // may be null
};

bool filter_matches(const PropertyFilter& filter, const MatchEnvironment& env);

// All filters of a condition set, cheapest first: flag results, then properties, then cohorts.
bool filters_match(const std::vector<PropertyFilter>& filters, const MatchEnvironment& env);

}  // namespace flag_eval
