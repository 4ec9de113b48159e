// How many subjects a flag selects, for PostgreSQL's planner (src/pg/planner_support.cpp): the
// share of persons for which flag_eval() is true. Rollouts are exact up to hashing; property
// filters are judged on sample person documents (the column's statistics) by the same matching
// as evaluation.
#pragma once
#include "no_postgres.hpp"
#include "flag_model.hpp"
#include "property_value.hpp"

namespace flag_eval {

// Whether any condition set of `flag` has a property filter, so that its share depends on the
// person's properties (otherwise enabled_share_for() is the same for everyone).
bool reads_properties(const Flag& flag);

// The share of distinct ids for which flag_eval(flag, id, properties) is true for a person with
// these properties: the largest rollout fraction of the condition sets they match (the sets
// bucket with one hash of the flag and the id, so a larger one contains the smaller), 0 when none
// matches or the flag is inactive. Not counted: early-access enrollment (a super condition)
// and holdouts, which move a few per cent at most. Condition sets of a group and filters
// flag_eval() cannot compute (it refuses cohorts and flag dependencies) count as not matching.
double enabled_share_for(const Flag& flag, const PropertySource& properties);

// The same when nothing is known of the person's properties: a condition set's property filters
// are taken to match `property_match_share` of persons.
double enabled_share_assumed(const Flag& flag, double property_match_share);

}  // namespace flag_eval
