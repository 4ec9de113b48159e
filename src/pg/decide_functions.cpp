// The table-backed side of the SQL interface (docs/reference.md, SQL interface):
// flag_eval.decide(), decide_outcomes() (the same evaluation, for the decide service) and the
// trigger that drops cached team definitions when the definitions tables change.
//
// decide() is one C function: it reads the subject's stored rows by index lookups
// (stored_subject.cpp), evaluates the team's cached flags (team_cache.cpp) and writes the answer
// as JSON text (flags_v2_text.cpp); decide_outcomes() writes only the outcomes
// (core/outcome_lines.hpp). No SQL statement is planned and no jsonb is built per call:
// a statement's set-up, a jsonb context and a jsonb answer cost 3x the bare person lookup, where
// this stays within 2x (bench/RESULTS.md, section 2).
#include "core/evaluator.hpp"
#include "core/outcome_lines.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pg/error_report.hpp"
#include "pg/flags_v2_text.hpp"
#include "pg/jsonb_properties.hpp"
#include "pg/pg_guard.hpp"
#include "pg/stored_subject.hpp"
#include "pg/team_cache.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "utils/array.h"
#include "utils/inval.h"
}

namespace {

using namespace flag_eval;
using namespace flag_eval::pg;

// Experience continuity as PostHog reads it, once either person is known: every continuity flag
// is bucketed with anon_distinct_id (the key record_hash_key_overrides() writes for it, so the
// answer does not depend on whether that write has reached this server yet) unless a stored row
// says otherwise; the person's own rows win over the anonymous person's.
class ContinuityHashKeys final : public HashKeyOverrides {
public:
    ContinuityHashKeys(const TeamDefinitions& team, text* anon_distinct_id,
                       const StoredSubject& stored) {
        if (anon_distinct_id != nullptr)
            for (const auto& flag : team.flags.flags())
                if (flag->ensure_experience_continuity && !flag->deleted)
                    keys_.insert_or_assign(flag->key, view_of(anon_distinct_id));
        for (int i = 0; i < stored.hash_key_count; ++i)  // in order: a later row wins
            keys_.insert_or_assign(view_of(stored.hash_keys[i].flag_key),
                                   view_of(stored.hash_keys[i].hash_key));
    }
    std::optional<std::string_view> for_flag(std::string_view flag_key) const override {
        const auto it = keys_.find(flag_key);
        if (it == keys_.end()) return std::nullopt;
        return it->second;
    }

private:
    std::unordered_map<std::string_view, std::string_view> keys_;
};

[[noreturn]] void invalid_context(std::string_view path, std::string_view member,
                                  const char* message) {
    std::string m = "invalid context at ";
    m.append(path).append(".").append(member).append(": ").append(message);
    throw InvalidInput(m);
}

// An integer group key as its decimal string (numeric_out's text of a jsonb number): an int64,
// or a number with an integral value inside int64's range, as the engine's contexts read it.
bool integer_group_key(const char* text, std::size_t length, std::string& out) {
    std::int64_t i = 0;
    const auto [end, ec] = std::from_chars(text, text + length, i);
    if (ec == std::errc() && end == text + length) {
        out = std::to_string(i);
        return true;
    }
    if (std::memchr(text, '.', length) == nullptr) return false;  // an integer beyond int64
    const double d = std::strtod(text, nullptr);  // the backend keeps LC_NUMERIC at "C"
    if (d > -9.2e18 && d < 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d))) {
        out = std::to_string(static_cast<std::int64_t>(d));
        return true;
    }
    return false;
}

// The evaluation context of a request: the request's person and group properties over the
// stored ones (a key the request gives wins, JSON null included, as jsonb's || merged them).
class RequestContext {
public:
    RequestContext(const StoredSubject& stored, text* distinct_id, Jsonb* person_properties,
                   Jsonb* group_properties) {
        // Two sources and an overlay at most for the person and for each group: reserved, so that
        // the pointers handed out stay valid.
        sources_.reserve(2 * (1 + static_cast<std::size_t>(stored.group_count)));
        overlays_.reserve(1 + static_cast<std::size_t>(stored.group_count));
        context_.groups.reserve(static_cast<std::size_t>(stored.group_count));
        context_.distinct_id = view_of(distinct_id);
        // The arguments are objects or null (check_object_argument).
        context_.person_properties =
            layered(object_root(person_properties), stored.person_properties);
        JsonbContainer* request_groups = object_root(group_properties);
        for (int i = 0; i < stored.group_count; ++i) {
            const StoredGroup& g = stored.groups[i];
            const std::string_view type(g.type, static_cast<std::size_t>(g.type_length));
            GroupContext group;
            group.type_name = std::string(type);
            if (g.key_kind == StoredGroup::KeyKind::String)
                group.key.assign(g.key, static_cast<std::size_t>(g.key_length));
            else if (g.key_kind != StoredGroup::KeyKind::Number ||
                     !integer_group_key(g.key, static_cast<std::size_t>(g.key_length), group.key))
                invalid_context("$.groups", type, "expected a group key string or integer");
            JsonbContainer* request = nullptr;
            if (request_groups != nullptr) {
                const MemberObject member = member_object(request_groups, type);
                if (member.found && member.object == nullptr)
                    invalid_context("$.group_properties", type, "expected an object");
                request = member.object;
            }
            group.properties = layered(request, g.properties);
            context_.groups.push_back(std::move(group));
        }
    }
    RequestContext(const RequestContext&) = delete;
    RequestContext& operator=(const RequestContext&) = delete;

    EvaluationContext& context() { return context_; }

private:
    const PropertySource* layered(JsonbContainer* request, Jsonb* stored) {
        if (request != nullptr && container_is_empty(request))
            request = nullptr;  // {} adds nothing
        const PropertySource* bottom =
            stored != nullptr ? &sources_.emplace_back(root_container(stored)) : nullptr;
        const PropertySource* top = request != nullptr ? &sources_.emplace_back(request) : nullptr;
        if (top && bottom) return &overlays_.emplace_back(*top, *bottom);
        if (top) return top;
        if (bottom) return bottom;
        return &empty_;
    }

    std::vector<JsonbPropertySource> sources_;
    std::vector<OverlayPropertySource> overlays_;
    EmptyPropertySource empty_;
    EvaluationContext context_;
};

// The array elements as plain data, read in the entry point's frame (deconstruct_array may raise).
struct Elements {
    Datum* values = nullptr;
    bool* nulls = nullptr;
    int count = 0;
};

Elements array_elements(ArrayType* array, Oid type, int16 length, bool by_value, char align) {
    Elements e;
    if (array != nullptr)
        deconstruct_array(array, type, length, by_value, align, &e.values, &e.nulls, &e.count);
    return e;
}

// A jsonb argument that must be an object when given; raises like the plpgsql checks did.
void check_object_argument(Jsonb* value, const char* message) {
    if (value == nullptr || object_root(value) != nullptr) return;
    const char* type = jsonb_type_name(value);
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s, not %s", message, type)));
}

// What of the team's definitions decides which stored rows are worth reading.
TeamShape shape_of(const TeamDefinitions& team) {
    TeamShape shape{};
    shape.has_static_cohorts = !team.static_cohort_ids.empty();
    for (const auto& flag : team.flags.flags())
        if (flag->ensure_experience_continuity && !flag->deleted) shape.has_continuity_flags = true;
    const GroupTypeMapping& mapping = team.flags.group_type_mapping();
    for (std::size_t i = 0; i < mapping.size(); ++i)
        if (mapping[i]) {
            shape.group_types[i] = mapping[i]->data();
            shape.group_type_lengths[i] = static_cast<int>(mapping[i]->size());
        }
    return shape;
}

// The request's arguments, as the entry point read them.
struct Request {
    std::int64_t team_id;
    text* distinct_id;
    Jsonb* person_properties;
    Jsonb* groups;
    Jsonb* group_properties;
    text* anon_distinct_id;
    text* device_id;  // nullptr: none
    bool all_flags;
    Elements flag_keys;
    RequestRuntime runtime;        // All unless the caller narrowed it
    Elements evaluation_contexts;  // none: no narrowing
};

// Evaluates the request's flags, every flag or those of flag_keys, and returns what `write`
// makes of them while the team's definitions are in hand. The stored rows are read under the
// guard, with those definitions, so that only the rows its flags can use are read.
template <class Write>
text* evaluate_request(const Request& request, Write&& write) {
    const auto team = team_definitions(request.team_id);
    const TeamShape shape = shape_of(*team);
    StoredSubject stored;
    guarded([&] {
        read_stored_subject(request.team_id, shape, request.distinct_id, request.groups,
                            request.anon_distinct_id, &stored);
    });

    const TeamStaticCohorts static_cohorts(
        *team, std::vector<std::int64_t>(stored.static_cohort_ids,
                                         stored.static_cohort_ids + stored.static_cohort_count));
    std::optional<ContinuityHashKeys> hash_keys;  // only continuity flags read them
    if (shape.has_continuity_flags && (stored.person_found || stored.anon_person_found))
        hash_keys.emplace(*team, request.anon_distinct_id, stored);

    RequestContext context(stored, request.distinct_id, request.person_properties,
                           request.group_properties);
    EvaluationContext& ctx = context.context();
    if (request.device_id != nullptr) ctx.device_id = view_of(request.device_id);
    ctx.static_cohorts = &static_cohorts;
    ctx.hash_key_overrides = hash_keys ? &*hash_keys : nullptr;
    RequestScope scope;
    scope.runtime = request.runtime;
    for (int i = 0; i < request.evaluation_contexts.count; ++i)  // no NULL: checked on entry
        scope.contexts.emplace_back(view_of(DatumGetTextPP(request.evaluation_contexts.values[i])));
    ctx.scope = &scope;
    EvaluationSummary summary = team->flags.evaluate_all(ctx);

    if (!request.all_flags) {
        std::set<std::string_view> wanted;
        for (int i = 0; i < request.flag_keys.count; ++i)
            if (!request.flag_keys.nulls[i])
                wanted.insert(view_of(DatumGetTextPP(request.flag_keys.values[i])));
        std::erase_if(summary.flags,
                      [&](const FlagOutcome& o) { return !wanted.count(o.flag->key); });
        summary.errors_while_computing =
            std::any_of(summary.flags.begin(), summary.flags.end(),
                        [](const FlagOutcome& o) { return o.result.failed; });
    }
    return write(summary);
}

text* outcome_lines_text(const EvaluationSummary& summary) {
    std::string lines;
    lines.reserve(48 * summary.flags.size());
    for (const FlagOutcome& o : summary.flags) append_outcome_line(lines, *o.flag, o.result);
    auto* body = static_cast<text*>(palloc_or_throw(VARHDRSZ + lines.size()));
    std::memcpy(VARDATA(body), lines.data(), lines.size());
    SET_VARSIZE(body, VARHDRSZ + lines.size());
    return body;
}

// The arguments of decide() and decide_outcomes(), checked. Raises on bad input.
Request read_request(FunctionCallInfo fcinfo) {
    if (PG_ARGISNULL(1))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("distinct_id must not be null")));
    Request request;
    text* token = PG_ARGISNULL(0) ? nullptr : PG_GETARG_TEXT_PP(0);
    request.distinct_id = PG_GETARG_TEXT_PP(1);
    request.person_properties = PG_ARGISNULL(2) ? nullptr : PG_GETARG_JSONB_P(2);
    request.groups = PG_ARGISNULL(3) ? nullptr : PG_GETARG_JSONB_P(3);
    request.group_properties = PG_ARGISNULL(4) ? nullptr : PG_GETARG_JSONB_P(4);
    request.anon_distinct_id = PG_ARGISNULL(5) ? nullptr : PG_GETARG_TEXT_PP(5);
    request.all_flags = PG_ARGISNULL(6);
    request.device_id = PG_NARGS() > 7 && !PG_ARGISNULL(7) ? PG_GETARG_TEXT_PP(7) : nullptr;
    check_object_argument(request.person_properties, "person_properties must be a JSON object");
    check_object_argument(request.groups,
                          "groups must be a JSON object of group keys by group type");
    check_object_argument(request.group_properties,
                          "group_properties must be a JSON object of properties by group type");
    if (!find_team(token, &request.team_id))
        ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
                        errmsg("invalid API token"), errdetail("No team has this api_token."),
                        errhint("Pass the project's public token (teams.api_token, phc_...).")));
    request.flag_keys = array_elements(request.all_flags ? nullptr : PG_GETARG_ARRAYTYPE_P(6),
                                       TEXTOID, -1, false, TYPALIGN_INT);
    request.runtime = RequestRuntime::All;
    if (PG_NARGS() > 8 && !PG_ARGISNULL(8)) {
        const auto runtime = request_runtime_from_name(view_of(PG_GETARG_TEXT_PP(8)));
        if (!runtime)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("evaluation_runtime must be 'all', 'client', 'server' or "
                                   "'unknown'")));
        request.runtime = *runtime;
    }
    request.evaluation_contexts =
        array_elements(PG_NARGS() > 9 && !PG_ARGISNULL(9) ? PG_GETARG_ARRAYTYPE_P(9) : nullptr,
                       TEXTOID, -1, false, TYPALIGN_INT);
    for (int i = 0; i < request.evaluation_contexts.count; ++i)
        if (request.evaluation_contexts.nulls[i])
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                            errmsg("evaluation_contexts must not contain NULL")));
    return request;
}

// The request's flags evaluated and written by `write`: the body of both entry points. Raises on
// bad input and on errors of the evaluation (the ErrorReport holds plain buffers only).
text* evaluated(FunctionCallInfo fcinfo, text* (*write)(const EvaluationSummary&)) {
    const Request request = read_request(fcinfo);
    text* body = nullptr;
    ErrorReport error;
    if (!run_cpp(error, "stored flag definition", [&] { body = evaluate_request(request, write); }))
        raise_error(error);
    return body;
}

}  // namespace

extern "C" {

FLAG_EVAL_SQL_FUNCTION(flag_eval_decide);
FLAG_EVAL_SQL_FUNCTION(flag_eval_decide_outcomes);
FLAG_EVAL_SQL_FUNCTION(flag_eval_definitions_changed);

// decide(token text, distinct_id text, person_properties jsonb, groups jsonb,
//        group_properties jsonb, anon_distinct_id text, flag_keys text[], device_id text,
//        evaluation_runtime text, evaluation_contexts text[])
// returns json: the /flags?v=2 body. NULL JSON arguments mean none; NULL flag_keys means every
// flag; NULL evaluation_runtime means all. 0.1.0's decide() has only the first seven: the same
// symbol serves it until the extension is updated.
Datum flag_eval_decide(PG_FUNCTION_ARGS) { PG_RETURN_TEXT_P(evaluated(fcinfo, flags_v2_text)); }

// decide_outcomes(): decide()'s arguments; returns text, the outcomes as core/outcome_lines.hpp
// writes them, for the decide service, which holds the rest of each flag's answer itself.
Datum flag_eval_decide_outcomes(PG_FUNCTION_ARGS) {
    PG_RETURN_TEXT_P(evaluated(fcinfo, outcome_lines_text));
}

// AFTER ... FOR EACH STATEMENT on the definitions tables: invalidating the table's relcache entry
// reaches every backend of this server and, through the commit record, every standby.
Datum flag_eval_definitions_changed(PG_FUNCTION_ARGS) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("flag_eval._definitions_changed() must be called as a trigger")));
    auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
    CacheInvalidateRelcache(trigger->tg_relation);
    return PointerGetDatum(nullptr);
}

}  // extern "C"
