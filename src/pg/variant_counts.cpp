// The flag_variant_counts(flag, distinct_id, properties) aggregate (docs/reference.md, Pure
// functions): how many rows get each outcome of a flag, as a jsonb object. An aggregate without
// GROUP BY, so that PostgreSQL plans it in parallel (partial states per worker, combined, sent
// between processes as bytea), which `GROUP BY flag_variant(...)` is not: the planner expects a
// group per distinct id there.
//
// The state is plain palloc'd data in the aggregate's memory context (PostgreSQL frees it, no
// destructor runs): the outcomes seen, each with its count, and those the flag declares (at 0
// until seen). Outcomes are named as preview() names them: a variant's key, "true" for a flag
// without variants, "false" when not enabled. The answer is a jsonb object, in jsonb's key order.
#include "core/evaluator.hpp"
#include "core/flag_model.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "pg/error_report.hpp"
#include "pg/flag_cache.hpp"
#include "pg/person_flag.hpp"
#include "pg/pg_guard.hpp"

extern "C" {
#include "libpq/pqformat.h"
#include "utils/json.h"
}

namespace {

using namespace flag_eval;
using namespace flag_eval::pg;

struct Outcome {
    char* name;  // NUL-terminated, in the aggregate's memory context
    std::uint32_t length;
    std::int64_t count;
};

struct CountsState {
    Outcome* outcomes;
    int size;
    int capacity;
    bool declared_added;  // the outcomes the flag declares are listed (at 0 until counted)
};

// Switches CurrentMemoryContext for a scope; restores it however the scope ends.
class InContext {
public:
    explicit InContext(MemoryContext context) : previous_(MemoryContextSwitchTo(context)) {}
    ~InContext() { MemoryContextSwitchTo(previous_); }
    InContext(const InContext&) = delete;
    InContext& operator=(const InContext&) = delete;

private:
    MemoryContext previous_;
};

// The count of `name`, added (at 0) when not seen yet; allocates in CurrentMemoryContext.
std::int64_t& count_of(CountsState& state, std::string_view name) {
    for (int i = 0; i < state.size; ++i)
        if (state.outcomes[i].length == name.size() &&
            std::memcmp(state.outcomes[i].name, name.data(), name.size()) == 0)
            return state.outcomes[i].count;
    if (state.size == state.capacity) {
        const int capacity = state.capacity ? state.capacity * 2 : 8;
        auto* grown = static_cast<Outcome*>(palloc_or_throw(sizeof(Outcome) * capacity));
        if (state.size) std::memcpy(grown, state.outcomes, sizeof(Outcome) * state.size);
        state.outcomes = grown;
        state.capacity = capacity;
    }
    Outcome& added = state.outcomes[state.size++];
    added = {pstrdup_or_throw(name), static_cast<std::uint32_t>(name.size()), 0};
    return added.count;
}

// The outcomes a flag can give: its variants, or "true"; and "false".
void add_declared(CountsState& state, const Flag& flag) {
    for (const Variant& variant : flag.variants) count_of(state, variant.key);
    if (flag.variants.empty()) count_of(state, "true");
    count_of(state, "false");
    state.declared_added = true;
}

MemoryContext aggregate_context(FunctionCallInfo fcinfo, const char* function) {
    MemoryContext context = nullptr;
    if (!AggCheckCallContext(fcinfo, &context))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("%s is part of the flag_variant_counts aggregate", function),
                        errhint("Call flag_eval.flag_variant_counts(flag, distinct_id, "
                                "properties) instead.")));
    return context;
}

CountsState* new_state() { return static_cast<CountsState*>(palloc0(sizeof(CountsState))); }

}  // namespace

extern "C" {

FLAG_EVAL_SQL_FUNCTION(flag_eval_variant_counts_step);
FLAG_EVAL_SQL_FUNCTION(flag_eval_variant_counts_combine);
FLAG_EVAL_SQL_FUNCTION(flag_eval_variant_counts_serialize);
FLAG_EVAL_SQL_FUNCTION(flag_eval_variant_counts_deserialize);
FLAG_EVAL_SQL_FUNCTION(flag_eval_variant_counts_final);

// _variant_counts_step(state internal, flag jsonb, distinct_id text, properties jsonb): a row
// with a NULL argument is not counted, as aggregates skip NULLs.
Datum flag_eval_variant_counts_step(PG_FUNCTION_ARGS) {
    MemoryContext context = aggregate_context(fcinfo, "_variant_counts_step");
    CountsState* state = PG_ARGISNULL(0) ? nullptr : (CountsState*)PG_GETARG_POINTER(0);
    if (state == nullptr) {
        const MemoryContext previous = MemoryContextSwitchTo(context);
        state = new_state();
        MemoryContextSwitchTo(previous);
    }
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3)) PG_RETURN_POINTER(state);
    Jsonb* flag = PG_GETARG_JSONB_P(1);
    text* distinct_id = PG_GETARG_TEXT_PP(2);
    Jsonb* properties = PG_GETARG_JSONB_P(3);
    ErrorReport error;
    if (!run_cpp(error, "flag definition", [&] {
            std::unique_ptr<Flag> uncached;
            const FlagResult result =
                evaluate_for_person(fcinfo, flag, distinct_id, properties, uncached);
            const InContext in_aggregate(context);
            ++count_of(*state, outcome_name(result));  // before anything may recompile the flag
            if (!state->declared_added) add_declared(*state, compiled_flag(fcinfo, flag, uncached));
        }))
        raise_error(error);
    PG_RETURN_POINTER(state);
}

// _variant_counts_combine(a internal, b internal): b's counts added to a's (a parallel worker's
// partial state into the leader's).
Datum flag_eval_variant_counts_combine(PG_FUNCTION_ARGS) {
    MemoryContext context = aggregate_context(fcinfo, "_variant_counts_combine");
    CountsState* into = PG_ARGISNULL(0) ? nullptr : (CountsState*)PG_GETARG_POINTER(0);
    CountsState* from = PG_ARGISNULL(1) ? nullptr : (CountsState*)PG_GETARG_POINTER(1);
    if (from == nullptr) {
        if (into == nullptr) PG_RETURN_NULL();
        PG_RETURN_POINTER(into);
    }
    ErrorReport error;
    if (!run_cpp(error, "flag definition", [&] {
            const InContext in_aggregate(context);
            if (into == nullptr) {
                into = static_cast<CountsState*>(palloc_or_throw(sizeof(CountsState)));
                *into = {};
            }
            for (int i = 0; i < from->size; ++i)
                count_of(*into, {from->outcomes[i].name, from->outcomes[i].length}) +=
                    from->outcomes[i].count;
            into->declared_added = into->declared_added || from->declared_added;
        }))
        raise_error(error);
    PG_RETURN_POINTER(into);
}

// _variant_counts_serialize(state internal) returns bytea: per outcome, its name's length
// (int4), the name, and its count (int8).
Datum flag_eval_variant_counts_serialize(PG_FUNCTION_ARGS) {
    aggregate_context(fcinfo, "_variant_counts_serialize");
    const CountsState* state = (const CountsState*)PG_GETARG_POINTER(0);
    StringInfoData buffer;
    pq_begintypsend(&buffer);
    pq_sendbyte(&buffer, state->declared_added ? 1 : 0);
    pq_sendint32(&buffer, state->size);
    for (int i = 0; i < state->size; ++i) {
        pq_sendint32(&buffer, state->outcomes[i].length);
        pq_sendbytes(&buffer, state->outcomes[i].name, state->outcomes[i].length);
        pq_sendint64(&buffer, state->outcomes[i].count);
    }
    PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

// _variant_counts_deserialize(bytes bytea, internal) returns internal. pq_getmsg* raise a clean
// error on bytes that end early.
Datum flag_eval_variant_counts_deserialize(PG_FUNCTION_ARGS) {
    MemoryContext context = aggregate_context(fcinfo, "_variant_counts_deserialize");
    bytea* bytes = PG_GETARG_BYTEA_PP(0);
    StringInfoData message;
    initStringInfo(&message);
    appendBinaryStringInfo(&message, VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
    const MemoryContext previous = MemoryContextSwitchTo(context);
    CountsState* state = new_state();
    state->declared_added = pq_getmsgbyte(&message) != 0;
    const int size = static_cast<int>(pq_getmsgint(&message, 4));
    if (size < 0 || size > message.len)
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                        errmsg("invalid flag_variant_counts state")));
    state->outcomes = static_cast<Outcome*>(palloc(sizeof(Outcome) * (size ? size : 1)));
    state->capacity = size;
    for (int i = 0; i < size; ++i) {
        const int length = static_cast<int>(pq_getmsgint(&message, 4));
        if (length < 0 || length > message.len - message.cursor)
            ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                            errmsg("invalid flag_variant_counts state")));
        const char* name = pq_getmsgbytes(&message, length);
        state->outcomes[i] = {pnstrdup(name, length), static_cast<std::uint32_t>(length),
                              pq_getmsgint64(&message)};
        state->size = i + 1;
    }
    pq_getmsgend(&message);
    MemoryContextSwitchTo(previous);
    PG_RETURN_POINTER(state);
}

// _variant_counts_final(state internal) returns jsonb: {"<outcome>": count, ...}; NULL when no
// row was counted.
Datum flag_eval_variant_counts_final(PG_FUNCTION_ARGS) {
    aggregate_context(fcinfo, "_variant_counts_final");
    const CountsState* state = PG_ARGISNULL(0) ? nullptr : (const CountsState*)PG_GETARG_POINTER(0);
    if (state == nullptr || state->size == 0) PG_RETURN_NULL();
    StringInfoData json;
    initStringInfo(&json);
    appendStringInfoChar(&json, '{');
    for (int i = 0; i < state->size; ++i) {
        if (i) appendStringInfoString(&json, ", ");
        escape_json(&json, state->outcomes[i].name);
        appendStringInfo(&json, ": " INT64_FORMAT, state->outcomes[i].count);
    }
    appendStringInfoChar(&json, '}');
    PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data)));
}

}  // extern "C"
