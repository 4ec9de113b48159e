// One flag of the /flags v2 answer (docs/reference.md, Decide protocol): the one definition of
// its fields, whichever host writes it. The service keeps answers (FlagAnswer, owning its
// strings); decide() writes views of the evaluated flags (FlagAnswerView), without copying them.
#pragma once
#include "no_postgres.hpp"
#include "evaluator.hpp"
#include "flag_model.hpp"

#include <cstdint>
#include <forward_list>
#include <optional>
#include <string>
#include <string_view>

namespace flag_eval {

template <class String>
struct BasicFlagAnswer {
    String key;
    bool enabled = false;
    std::optional<String> variant;
    String reason_code;  // e.g. "condition_match", "database_error"
    std::optional<int> condition_index;
    String reason_description;  // e.g. "Matched condition set 1"
    std::int64_t id = 0, version = 0;
    std::optional<String> payload;      // JSON text, as stored
    bool failed = false;                // could not be computed
    std::optional<String> description;  // the flag's (metadata)
    bool has_experiment = false;
    // The flag's prepared parts (Flag::v2_head, v2_metadata), written as they are in their
    // places; empty: written from the fields above.
    String v2_head{}, v2_metadata{};
};

using FlagAnswer = BasicFlagAnswer<std::string>;
using FlagAnswerView = BasicFlagAnswer<std::string_view>;

// A flag as the core evaluated it, described by reason_description().
FlagAnswer flag_answer(const Flag& flag, const FlagResult& result);

// The same without copying: views into `flag`, `result` and `description`, which must outlive it.
FlagAnswerView flag_answer_view(const Flag& flag, const FlagResult& result,
                                std::string_view description);

FlagAnswerView view_of(const FlagAnswer& answer);

// reason_description() of the flags of an answer without making it for each flag: the common
// descriptions (every reason's, "Matched condition set N" for the first 64 sets) are made once per
// process, the others once per distinct (reason, condition set, own description) of the answer.
// The views handed out live as long as this object (moving it keeps them valid).
class ReasonDescriptions {
public:
    std::string_view of(const FlagResult& result);

private:
    struct Known {
        Reason reason;
        std::optional<int> condition_index;
        std::string own;  // the result's own description (an error), or empty
        std::string text;
    };
    std::forward_list<Known> known_;  // nodes: the views handed out stay valid as it grows
};

}  // namespace flag_eval
