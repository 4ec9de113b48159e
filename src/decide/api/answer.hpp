// The answer to one decide request, whatever produced it: the in-process core, the database's
// flag_eval.decide(), or a failure. The HTTP layer turns it into a /flags body (answer_shapes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace flag_eval::decide {

struct FlagAnswer {
    std::string key;
    bool enabled = false;
    std::optional<std::string> variant;
    std::string reason_code;               // e.g. "condition_match", "database_error"
    std::optional<int> condition_index;
    std::string reason_description;        // e.g. "Matched condition set 1"
    std::int64_t id = 0, version = 0;
    std::optional<std::string> payload;    // JSON text, as stored
    bool failed = false;                   // could not be computed
};

struct Answer {
    std::vector<FlagAnswer> flags;         // in the order they are written out
    bool errors_while_computing = false;
};

}  // namespace flag_eval::decide
