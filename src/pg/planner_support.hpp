// What flag_eval() tells PostgreSQL's planner (planner_support.cpp dispatches the requests of its
// support function): one file per request it answers. Each returns what the request's protocol
// expects, or nullptr to leave the planner's default; neither raises for a flag it cannot read
// (an estimate is not worth an error at plan time: the function reports a bad flag when it runs).
#pragma once
#include "pg/pg_headers.hpp"

extern "C" {
#include "nodes/supportnodes.h"
}

namespace flag_eval::pg {

// SupportRequestSelectivity (planner_selectivity.cpp): the share of rows that
// `flag_eval(<constant flag>, distinct_id, properties)` keeps. Returns the request, filled in.
Node* estimate_selectivity(SupportRequestSelectivity* request);

// SupportRequestIndexCondition (planner_index_condition.cpp): a lossy condition on a GIN
// (jsonb_ops) index of the properties column, from the keys the flag requires. Returns a List
// of index clauses.
Node* index_condition(SupportRequestIndexCondition* request);

}  // namespace flag_eval::pg
