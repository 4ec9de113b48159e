// Answers in and out: from the core's results, from the body flag_eval.decide() returns, and
// written as the /flags bodies SDKs read (docs/reference.md, Decide protocol: PostHog's shapes).
#pragma once
#include "decide/api/answer.hpp"

#include "core/evaluator.hpp"
#include "core/flag_model.hpp"
#include "core/outcome_lines.hpp"

#include <cstdint>
#include <optional>
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace flag_eval::decide {

// A flag that could not be computed, shaped like PostHog's errored flags: disabled, no variant,
// no payload, failed, reason {code, condition_index null, description}. `reason_code` follows
// PostHog's evaluation error codes: "database_error" (stored data unreadable), "timeout",
// "hash_key_override_error" (experience continuity could not be written). The view points into
// `flag`, `description` and `reason_code`.
FlagAnswerView failed_answer(const flag_eval::Flag& flag, std::string_view description,
                             std::string_view reason_code = "database_error");

// A flag whose evaluation flag_eval.decide_outcomes() sent: what the database decided, with the
// flag's id, version, description and payload from the service's own definitions, as the flags
// the service evaluates itself are answered. The view points into `flag` and `answer`.
// Definitions the service could not confirm for `age`: each flag's reason description says so
// (SDKs report it as $feature_flag_reason), its code and value stay as evaluated.
void note_stale_definitions(Answer& answer, std::chrono::seconds age);

FlagAnswerView stored_answer(const flag_eval::Flag& flag, const flag_eval::OutcomeLine& outcome,
                             Answer& answer);

// The /flags?v=2 body flag_eval.decide() returns, back into an Answer (flags in text order).
// Returns a message naming the JSON path when the body has another shape.
std::variant<Answer, std::string> parse_v2_body(std::string_view json_text);

// /flags?v=2 and /decide?v=4: {flags: {key: {key, enabled, variant, reason{code,
// condition_index, description}, metadata{id, version, description, payload, has_experiment},
// failed}}, errorsWhileComputingFlags, requestId[, evaluatedAt]}: the core's writer
// (flags_v2_writer, V2Style::Document) and the service's own members. "quotaLimited" is left out,
// as PostHog does unless a quota was hit.
std::string flags_v2_body(const Answer& answer, std::string_view request_id,
                          std::optional<std::int64_t> evaluated_at_ms = std::nullopt);

// /flags?v=1 and /decide?v=3: {featureFlags: {key: variant or enabled},
// featureFlagPayloads: {key: stored JSON text}, errorsWhileComputingFlags[, requestId]}.
// Failed flags are left out of both maps; payloads only for enabled flags.
std::string flags_v1_body(const Answer& answer, std::string_view request_id = {});

}  // namespace flag_eval::decide
