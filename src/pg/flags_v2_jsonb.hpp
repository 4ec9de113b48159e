// The /flags?v=2 body built directly as jsonb. decide() used to serialise Boost.JSON to text and
// parse it back with jsonb_in, which was 65 % of its server time (bench/DECIDE_PROFILE.md).
#pragma once
#include "core/flag_set.hpp"

#include "pg/pg_headers.hpp"  // PostgreSQL headers come after every core header

namespace flag_eval::pg {

// Same document as core flags_v2_json(), palloc'd in the current memory context.
// Throws PgError (out of memory) through the guard.
Jsonb* flags_v2_jsonb(const EvaluationSummary& summary);

}  // namespace flag_eval::pg
