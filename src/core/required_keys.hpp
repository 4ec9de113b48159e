// Which property keys a person must have for flag_eval() to be true, for an index pre-filter
// (src/pg/planner_support.cpp): a GIN index on the properties column can then skip the persons
// that lack them, and flag_eval() still decides every row it keeps.
#pragma once
#include "no_postgres.hpp"
#include "flag_model.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval {

// flag_eval(flag, id, properties) is true only if, for at least one alternative, every key of
// that alternative is a top-level key of properties. Never empty, nor is any alternative.
struct RequiredKeys {
    std::vector<std::vector<std::string>> alternatives;
};

// The keys, or nullopt when some way to true needs no key (a set without a property filter that
// a missing key fails, a holdout, which enables by hash alone), or when the flag holds anything
// this analysis does not prove (cohorts, flag dependencies, groups), or when it is never true.
// A filter fails on a missing key exactly when its compiled matcher says so, the evaluator's own
// rule: positive operators fail, negative ones and is_not_set hold. The key "distinct_id" is
// never required: the distinct id stands in for it when the person has none.
std::optional<RequiredKeys> required_keys(const Flag& flag);

// One key of each alternative, for a condition "has any of these keys": the one the fewest persons
// have by `share_having` (the first on a tie), each key once.
std::vector<std::string> rarest_key_each(
    const RequiredKeys& required, const std::function<double(std::string_view)>& share_having);

}  // namespace flag_eval
