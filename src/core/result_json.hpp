// Evaluation results as the JSON detail of the SQL functions (docs/reference.md, Flag format):
// {key, enabled, variant, value, reason{code, condition_index, description}, payload}. The
// /flags?v=2 body has its own writer, flags_v2_writer.
#pragma once
#include "no_postgres.hpp"
#include "evaluator.hpp"
#include "flag_set.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace flag_eval {

boost::json::object result_detail_json(const Flag& flag, const FlagResult& result);

// The reason's human-readable description ("Matched condition set 2").
std::string reason_description(const FlagResult& result);

// {flags: {key: detail}, errorsWhileComputingFlags}
boost::json::object summary_json(const EvaluationSummary& summary);

}  // namespace flag_eval
