// The outcomes of a team's flags for one subject as compact text: what
// flag_eval.decide_outcomes() returns to the decide service. The service holds the same
// definitions (ids, payloads, descriptions), so only what the evaluation decided crosses the wire
// (about 30 bytes a flag, where decide()'s JSON answer takes 300), and reading it back is a scan,
// not a JSON parse.
//
// One line per flag, '\n'-terminated, seven tab-separated fields:
//   key  version  state  reason_code  condition_index  variant  description
// state is 't' (enabled), 'f' (disabled) or 'e' (failed: could not be computed); condition_index
// is decimal or empty; variant is \N when there is none; description is empty unless the result
// carries its own (an error, a missing dependency). In key, variant and description a backslash,
// tab, newline and carriage return are written \\, \t, \n and \r.
#pragma once
#include "no_postgres.hpp"
#include "evaluator.hpp"
#include "flag_model.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace flag_eval {

// Appends `flag`'s line to `out`.
void append_outcome_line(std::string& out, const Flag& flag, const FlagResult& result);

// One line read back. The views point into the text read, or into `unescaped` storage owned by
// the OutcomeLines that holds it.
struct OutcomeLine {
    std::string_view key;
    std::int64_t version = 0;
    bool enabled = false;
    bool failed = false;
    std::string_view reason_code;
    std::optional<int> condition_index;
    std::optional<std::string_view> variant;
    std::string_view description;  // empty: the reason's own description
};

struct OutcomeLines {
    std::vector<OutcomeLine> lines;
    std::deque<std::string> unescaped;  // a deque: views into its strings stay valid as it grows
};

// Reads every line of `text`, which must outlive the result. Returns a message naming the line at
// fault when the text has another shape.
std::variant<OutcomeLines, std::string> read_outcome_lines(std::string_view text);

}  // namespace flag_eval
