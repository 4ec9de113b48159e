// One flag evaluated for a person given as SQL arguments (a distinct id and its properties, no
// groups): what flag_eval(), flag_variant() and the flag_variant_counts() aggregate compute.
#pragma once
#include "core/evaluator.hpp"
#include "core/flag_model.hpp"

#include <memory>

#include "pg/pg_headers.hpp"  // PostgreSQL headers come after every core header

namespace flag_eval::pg {

// The flag (compiled once per call site, flag_cache.hpp) for this person. Throws InvalidInput
// when properties is not an object or the result could not be computed (cohorts, dependencies).
// The result's variant points into the compiled flag: into `uncached` when there is no call site.
FlagResult evaluate_for_person(FunctionCallInfo fcinfo, Jsonb* flag_jsonb, text* distinct_id,
                               Jsonb* properties, std::unique_ptr<Flag>& uncached);

}  // namespace flag_eval::pg
