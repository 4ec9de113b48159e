// PostHog flag JSON -> compiled Flag, with every problem located by JSON path.
#pragma once
#include "no_postgres.hpp"
#include "flag_model.hpp"
#include "problems.hpp"

#include <boost/json/value.hpp>

#include <memory>

namespace flag_eval {

// Compiles a flag object. `default_bucketing` applies when the flag has no "bucketing" field;
// `matching` is the team's property matching version.
// Throws InvalidDefinition (naming the JSON path) on the first structural problem.
std::unique_ptr<Flag> compile_flag(const boost::json::value& json, Bucketing default_bucketing,
                                   const std::string& path = "$",
                                   PropertyMatching matching = PropertyMatching::Legacy);

// Every problem of a flag object, structural and semantic, without throwing.
Problems validate_flag(const boost::json::value& json, const std::string& path = "$");

// Shared with the cohort parser: one property filter object.
PropertyFilter compile_property_filter(const boost::json::value& json, const std::string& path,
                                       Problems& problems,
                                       PropertyMatching matching = PropertyMatching::Legacy);

}  // namespace flag_eval
