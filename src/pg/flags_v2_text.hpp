// The /flags?v=2 body as JSON text, written directly: decide() returns it as `json`, so there is
// neither a jsonb to build nor a jsonb_out to print it (together ~100 µs of a 12.7 KB answer,
// bench/DECIDE_PROFILE.md). The text is byte for byte what jsonb_out printed for the same
// answer (keys in jsonb's order, jsonb's spacing and escapes), so `decide(...)::text` did not
// change and `decide(...)::jsonb` is the document decide() returned before. The writer is the
// core's (flags_v2_writer, V2Style::Jsonb); this file puts its text in a palloc'd datum.
#pragma once
#include "core/flag_set.hpp"

#include "pg/pg_headers.hpp"  // PostgreSQL headers come after every core header

namespace flag_eval::pg {

// {"flags": {key: {"key", "failed", "reason": {"code", "description", "condition_index"},
// "enabled", "variant", "metadata": {"id", "payload", "version"}}}, "errorsWhileComputingFlags"},
// as a text (json) datum palloc'd in the current memory context. Throws std::bad_alloc (never
// raises).
text* flags_v2_text(const EvaluationSummary& summary);

}  // namespace flag_eval::pg
