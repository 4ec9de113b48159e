// The /flags v2 answer (docs/reference.md, Decide protocol) as JSON text: the one writer of it.
// decide() returns it as `json` whose text is what jsonb_out would print for the same document
// (V2Style::Jsonb); the service sends it compact, fields in the order of the reference
// (V2Style::Document), and adds its own members (requestId, evaluatedAt).
#pragma once
#include "no_postgres.hpp"
#include "flag_answer.hpp"
#include "json_text_writer.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace flag_eval {

enum class V2Style {
    // jsonb's key order (shorter keys first, then bytewise) and spacing (`{"a": 1, "b": 2}`); of
    // flags with equal keys the last one, as jsonb keeps.
    Jsonb,
    // Fields in the order of the reference, no spaces (`{"a":1,"b":2}`), flags in the order given;
    // of flags with equal keys the last one at the place of the first, as boost::json::object
    // keeps.
    Document,
};

// Whether the flags given to the writer can share a key. A team's flags are stored with unique
// keys but for a flag stored twice; a host that knows the keys are unique (FlagSet::keys_unique)
// spares the writer sorting them to look for repeats.
enum class FlagKeys { MayRepeat, Unique };

// The text of a flag's member in V2Style::Document that only its definition decides: `head` is
// `"key":{"key":"key","enabled":`, `metadata` is `},"metadata":{"id":..,"version":..,
// "description":..,"payload":`. A view carrying them (FlagAnswerView::v2_head, v2_metadata) has
// them written as they are; they must be made from the same key, id, version and description.
struct PreparedV2Parts {
    std::string head, metadata;
};
PreparedV2Parts prepare_v2_parts(std::string_view key, std::int64_t id, std::int64_t version,
                                 const std::optional<std::string_view>& description);

// The most write_flags_v2_members() writes for these flags.
std::size_t flags_v2_members_max_size(std::span<const FlagAnswerView> flags);

// `"flags": {key: {key, enabled, variant, reason: {code, condition_index, description},
// metadata: {id, version, payload}, failed}}, "errorsWhileComputingFlags": b`: the members of the
// answer without its braces, so that a host can add its own. `w` must have room for
// flags_v2_members_max_size(flags) bytes. Allocates only to order the flags (never for
// V2Style::Document with FlagKeys::Unique).
void write_flags_v2_members(JsonTextWriter& w, std::span<const FlagAnswerView> flags,
                            bool errors_while_computing, V2Style style,
                            FlagKeys keys = FlagKeys::MayRepeat);

}  // namespace flag_eval
