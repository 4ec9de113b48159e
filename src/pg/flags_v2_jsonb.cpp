#include "pg/flags_v2_jsonb.hpp"

#include "core/result_json.hpp"

#include <string>
#include <vector>

#include "pg/pg_guard.hpp"

namespace flag_eval::pg {
namespace {

// One flag of the answer as plain data: what the builder reads while PostgreSQL may longjmp.
struct FlagRow {
    std::string_view key;
    bool enabled;
    const std::string* variant;
    std::string_view reason_code;
    int condition_index;  // -1: null
    std::string description;
    std::int64_t id;
    std::int64_t version;
    const std::string* payload;
    bool failed;
};

void push(JsonbParseState** state, JsonbIteratorToken token, JsonbValue* value) { pushJsonbValue(state, token, value); }

void push_key(JsonbParseState** state, std::string_view key) {
    JsonbValue v;
    v.type = jbvString;
    v.val.string.val = const_cast<char*>(key.data());
    v.val.string.len = static_cast<int>(key.size());
    push(state, WJB_KEY, &v);
}

void push_string(JsonbParseState** state, std::string_view s) {
    JsonbValue v;
    v.type = jbvString;
    v.val.string.val = const_cast<char*>(s.data());
    v.val.string.len = static_cast<int>(s.size());
    push(state, WJB_VALUE, &v);
}

void push_optional_string(JsonbParseState** state, const std::string* s) {
    if (s) return push_string(state, *s);
    JsonbValue v;
    v.type = jbvNull;
    push(state, WJB_VALUE, &v);
}

void push_bool(JsonbParseState** state, bool b) {
    JsonbValue v;
    v.type = jbvBool;
    v.val.boolean = b;
    push(state, WJB_VALUE, &v);
}

void push_integer(JsonbParseState** state, std::int64_t i) {
    JsonbValue v;
    v.type = jbvNumeric;
    v.val.numeric = int64_to_numeric(i);
    push(state, WJB_VALUE, &v);
}

void push_null(JsonbParseState** state) {
    JsonbValue v;
    v.type = jbvNull;
    push(state, WJB_VALUE, &v);
}

// Plain data and PostgreSQL calls only: runs under the guard.
Jsonb* build(const FlagRow* rows, std::size_t count, bool errors_while_computing) {
    JsonbParseState* state = nullptr;
    push(&state, WJB_BEGIN_OBJECT, nullptr);
    push_key(&state, "flags");
    push(&state, WJB_BEGIN_OBJECT, nullptr);
    for (std::size_t i = 0; i < count; ++i) {
        const FlagRow& row = rows[i];
        push_key(&state, row.key);
        push(&state, WJB_BEGIN_OBJECT, nullptr);
        push_key(&state, "key");
        push_string(&state, row.key);
        push_key(&state, "enabled");
        push_bool(&state, row.enabled);
        push_key(&state, "variant");
        push_optional_string(&state, row.variant);
        push_key(&state, "reason");
        push(&state, WJB_BEGIN_OBJECT, nullptr);
        push_key(&state, "code");
        push_string(&state, row.reason_code);
        push_key(&state, "condition_index");
        if (row.condition_index >= 0)
            push_integer(&state, row.condition_index);
        else
            push_null(&state);
        push_key(&state, "description");
        push_string(&state, row.description);
        push(&state, WJB_END_OBJECT, nullptr);
        push_key(&state, "metadata");
        push(&state, WJB_BEGIN_OBJECT, nullptr);
        push_key(&state, "id");
        push_integer(&state, row.id);
        push_key(&state, "version");
        push_integer(&state, row.version);
        push_key(&state, "payload");
        push_optional_string(&state, row.payload);
        push(&state, WJB_END_OBJECT, nullptr);
        push_key(&state, "failed");
        push_bool(&state, row.failed);
        push(&state, WJB_END_OBJECT, nullptr);
    }
    push(&state, WJB_END_OBJECT, nullptr);
    push_key(&state, "errorsWhileComputingFlags");
    push_bool(&state, errors_while_computing);
    JsonbValue* root = pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
    return JsonbValueToJsonb(root);
}

}  // namespace

Jsonb* flags_v2_jsonb(const EvaluationSummary& summary) {
    std::vector<FlagRow> rows;
    rows.reserve(summary.flags.size());
    for (const auto& [flag, result] : summary.flags)
        rows.push_back({flag->key, result.enabled, result.variant, reason_code(result.reason),
                        result.condition_index.value_or(-1), reason_description(result), flag->id, flag->version,
                        result.payload, result.failed});
    Jsonb* jsonb = nullptr;
    const FlagRow* data = rows.data();
    const std::size_t count = rows.size();
    const bool errors = summary.errors_while_computing;
    guarded([&] { jsonb = build(data, count, errors); });
    return jsonb;
}

}  // namespace flag_eval::pg
