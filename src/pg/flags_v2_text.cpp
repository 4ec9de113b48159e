#include "pg/flags_v2_text.hpp"

#include "core/flag_answer.hpp"
#include "core/flags_v2_writer.hpp"
#include "core/json_text_writer.hpp"
#include "core/result_json.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pg/pg_guard.hpp"

namespace flag_eval::pg {

text* flags_v2_text(const EvaluationSummary& summary) {
    ReasonDescriptions descriptions;
    std::vector<FlagAnswerView> flags;
    flags.reserve(summary.flags.size());
    for (const FlagOutcome& o : summary.flags)
        flags.push_back(flag_answer_view(*o.flag, o.result, descriptions.of(o.result)));

    const std::size_t bound = 2 + flags_v2_members_max_size(flags);
    auto* body = static_cast<text*>(palloc_or_throw(VARHDRSZ + bound));
    JsonTextWriter w(VARDATA(body));
    w.literal("{");
    write_flags_v2_members(w, flags, summary.errors_while_computing, V2Style::Jsonb);
    w.literal("}");
    const std::size_t length = static_cast<std::size_t>(w.end() - VARDATA(body));
    if (length > MaxAllocSize - VARHDRSZ)
        throw std::length_error("the answer is longer than a json value can be (1 GB)");
    SET_VARSIZE(body, VARHDRSZ + length);
    return body;
}

}  // namespace flag_eval::pg
