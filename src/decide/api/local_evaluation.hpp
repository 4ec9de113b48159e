// In-process evaluation of a team's flags from what the request carries, and which of those
// answers are exact. An answer is exact when evaluating it consulted nothing the database could
// change: every property it read was in the request (the database merges stored properties
// *under* the request's, so they cannot differ), no static cohort, no experience-continuity key,
// and every flag it depends on was exact too. The others must come from flag_eval.decide().
#pragma once
#include "core/flag_set.hpp"

#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

// What one request says about its subject (the fields of a /flags body).
struct Subject {
    std::string_view distinct_id;
    std::string_view device_id;                              // empty: none
    const boost::json::object* person_properties = nullptr;  // null: none
    const boost::json::object* groups = nullptr;             // {group type: key as a string}
    const boost::json::object* group_properties = nullptr;   // {group type: {properties}}
    const RequestScope* scope = nullptr;                     // null: every flag
};

struct LocalEvaluation {
    EvaluationSummary summary;         // every active flag in scope, stored order
    std::vector<bool> needs_database;  // parallel to summary.flags
};

// `flags` must outlive the result (results point into its flags).
LocalEvaluation evaluate_locally(const FlagSet& flags, const Subject& subject);

}  // namespace flag_eval::decide
