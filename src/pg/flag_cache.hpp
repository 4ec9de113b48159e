// Compiled definitions cached per call site. A flag argument that is a constant (or repeats
// from row to row) is compiled once: the compiled form is kept in flinfo->fn_extra, allocated in
// fn_mcxt with a reset callback that deletes it, and keyed by the jsonb's bytes, so a changing
// argument is recompiled only when it changes (a constant one is not compared again).
#pragma once
#include "core/flag_model.hpp"
#include "core/flag_set.hpp"
#include "pg/team_cache.hpp"

#include <memory>

#include "pg/pg_headers.hpp"  // PostgreSQL headers come after every core header

namespace flag_eval::pg {

// The compiled flag for `flag` (flags without a "bucketing" field bucket with xxh3).
// Without an flinfo to cache in, compiles into `uncached`. Throws InvalidDefinition.
const Flag& compiled_flag(FunctionCallInfo fcinfo, Jsonb* flag, std::unique_ptr<Flag>& uncached);

// The same for a definitions document (a flags array or a local-evaluation feed).
const FlagSet& compiled_flag_set(FunctionCallInfo fcinfo, Jsonb* definitions,
                                 std::unique_ptr<FlagSet>& uncached);

// The same for a team document shaped as _team_document()'s (compile_team_document).
const TeamDefinitions& compiled_team_document(FunctionCallInfo fcinfo, Jsonb* document,
                                              std::unique_ptr<TeamDefinitions>& uncached);

}  // namespace flag_eval::pg
