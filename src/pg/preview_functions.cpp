// The per-subject work of flag_eval.preview() (docs/reference.md, SQL interface). preview() is
// set-based SQL: it finds the team's subjects with their stored properties, static cohort
// memberships and continuity keys, and calls one of these functions per subject, with the team's
// definitions (the previewed flag first) as a constant argument compiled once per query
// (flag_cache.hpp). The flag is evaluated by the engine as decide() evaluates it: static cohorts
// through TeamStaticCohorts, continuity keys through HashKeyOverrides, and only the flags it
// depends on beside it (FlagSet::evaluate_one).
//
//   _preview_value(definitions, subject_key, properties, member_of, hash_keys) returns text
//       the subject's outcome: its variant, 'true' or 'false'; NULL when it cannot be computed
//   _preview_failure(...) returns text
//       why it cannot be computed; NULL when it can (called only to explain a failure)
//   _preview_stored_reads(definitions) returns text[]
//       which stored rows can change the flag's answers: 'static_cohorts' when it or a flag it
//       depends on names a static cohort (directly or through dynamic cohorts),
//       'continuity_keys' when one of them asks for experience continuity
//
// subject_key is the distinct id that buckets a person, or the group key of a group flag's
// group; properties the person's or group's stored properties; member_of the person's static
// cohorts; hash_keys the person's recorded continuity keys as {flag key: hash key}.
#include "core/evaluator.hpp"
#include "core/flag_set.hpp"
#include "core/result_json.hpp"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pg/error_report.hpp"
#include "pg/flag_cache.hpp"
#include "pg/jsonb_properties.hpp"
#include "pg/pg_guard.hpp"
#include "pg/team_cache.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

namespace {

using namespace flag_eval;
using namespace flag_eval::pg;

// The arguments, as the entry point read them (plain data).
struct Subject {
    Jsonb* definitions;
    text* key;
    Jsonb* properties;  // nullptr: none
    Datum* member_of;   // int8 datums
    bool* member_of_nulls;
    int member_of_count;
    Jsonb* hash_keys;  // nullptr: none
};

Subject read_subject(FunctionCallInfo fcinfo) {
    Subject s{};
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("definitions and subject_key must not be null")));
    s.definitions = PG_GETARG_JSONB_P(0);
    s.key = PG_GETARG_TEXT_PP(1);
    s.properties = PG_ARGISNULL(2) ? nullptr : PG_GETARG_JSONB_P(2);
    if (!PG_ARGISNULL(3))
        deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                          &s.member_of, &s.member_of_nulls, &s.member_of_count);
    s.hash_keys = PG_ARGISNULL(4) ? nullptr : PG_GETARG_JSONB_P(4);
    return s;
}

// The recorded continuity keys of a person, read from the {flag key: hash key} object.
class RecordedHashKeys final : public HashKeyOverrides {
public:
    explicit RecordedHashKeys(JsonbContainer* object) : keys_(object) {}
    std::optional<std::string_view> for_flag(std::string_view flag_key) const override {
        const PropertyValue key = keys_.get(flag_key);
        if (key.kind != ValueKind::String) return std::nullopt;
        return key.text;
    }

private:
    JsonbPropertySource keys_;
};

// The previewed flag's result for one subject.
FlagResult evaluate_subject(FunctionCallInfo fcinfo, const Subject& subject,
                            std::unique_ptr<TeamDefinitions>& uncached) {
    const TeamDefinitions& team = compiled_team_document(fcinfo, subject.definitions, uncached);
    if (team.flags.flags().empty())
        throw InvalidInput(
            "invalid preview definitions at $.flags: expected the previewed flag first");
    const Flag& flag = *team.flags.flags().front();

    EmptyPropertySource none;
    JsonbContainer* properties_root = object_root(subject.properties);
    std::optional<JsonbPropertySource> properties;
    if (properties_root != nullptr) properties.emplace(properties_root);
    const PropertySource* stored = &none;
    if (properties) stored = &*properties;

    EvaluationContext ctx;
    std::vector<std::int64_t> member_of;
    std::optional<TeamStaticCohorts> static_cohorts;
    std::optional<RecordedHashKeys> hash_keys;
    if (flag.aggregation_group_type_index) {
        const auto& type = team.flags.group_type_mapping()[*flag.aggregation_group_type_index];
        if (!type)
            throw InvalidInput("flag \"" + flag.key + "\" aggregates by group type " +
                               std::to_string(*flag.aggregation_group_type_index) +
                               ", which the team has not mapped");
        ctx.groups.push_back(GroupContext{*type, std::string(view_of(subject.key)), stored});
        ctx.person_properties = &none;
    } else {
        ctx.distinct_id = view_of(subject.key);
        ctx.person_properties = stored;
        for (int i = 0; i < subject.member_of_count; ++i)
            if (!subject.member_of_nulls[i])
                member_of.push_back(DatumGetInt64(subject.member_of[i]));
        static_cohorts.emplace(team, std::move(member_of));
        ctx.static_cohorts = &*static_cohorts;
        if (JsonbContainer* keys = object_root(subject.hash_keys)) {
            hash_keys.emplace(keys);
            ctx.hash_key_overrides = &*hash_keys;
        }
    }
    return *team.flags.evaluate_one(flag.key, ctx);  // the first flag is live: SQL saw to it
}

// Whether the cohort `id`, or a cohort its definition names (at any depth), is static.
bool reaches_static_cohort(const TeamDefinitions& team, std::int64_t id,
                           std::set<std::int64_t>& visited) {
    if (!visited.insert(id).second) return false;
    if (team.static_cohort_ids.count(id)) return true;
    const CohortNode* root = team.flags.cohorts().find(id);
    std::vector<const CohortNode*> pending;
    if (root) pending.push_back(root);
    while (!pending.empty()) {
        const CohortNode* node = pending.back();
        pending.pop_back();
        for (const CohortNode& child : node->children) pending.push_back(&child);
        if (node->filter && node->filter->type == FilterType::Cohort &&
            reaches_static_cohort(team, node->filter->cohort_id, visited))
            return true;
    }
    return false;
}

// The text `pick` makes of the subject's result (palloc'd, inside the C++ frame), or SQL NULL
// when it makes none.
template <class Pick>
Datum preview_text(FunctionCallInfo fcinfo, Pick pick) {
    const Subject subject = read_subject(fcinfo);
    text* out = nullptr;
    ErrorReport error;
    if (!run_cpp(error, "preview definitions", [&] {
            std::unique_ptr<TeamDefinitions> uncached;
            out = pick(evaluate_subject(fcinfo, subject, uncached));
        }))
        raise_error(error);
    if (out == nullptr) PG_RETURN_NULL();
    PG_RETURN_TEXT_P(out);
}

}  // namespace

extern "C" {

FLAG_EVAL_SQL_FUNCTION(flag_eval_preview_value);
FLAG_EVAL_SQL_FUNCTION(flag_eval_preview_failure);
FLAG_EVAL_SQL_FUNCTION(flag_eval_preview_stored_reads);

Datum flag_eval_preview_value(PG_FUNCTION_ARGS) {
    return preview_text(fcinfo, [](const FlagResult& r) -> text* {
        return r.failed ? nullptr : text_or_throw(outcome_name(r));
    });
}

Datum flag_eval_preview_failure(PG_FUNCTION_ARGS) {
    return preview_text(fcinfo, [](const FlagResult& r) -> text* {
        return r.failed ? text_or_throw(reason_description(r)) : nullptr;
    });
}

Datum flag_eval_preview_stored_reads(PG_FUNCTION_ARGS) {
    Jsonb* definitions = PG_GETARG_JSONB_P(0);
    bool static_cohorts = false, continuity_keys = false;
    ErrorReport error;
    if (!run_cpp(error, "preview definitions", [&] {
            std::unique_ptr<TeamDefinitions> uncached;
            const TeamDefinitions& team = compiled_team_document(fcinfo, definitions, uncached);
            if (team.flags.flags().empty()) return;
            std::set<std::int64_t> visited;
            for (const Flag* flag : team.flags.with_dependencies(team.flags.flags().front()->key)) {
                continuity_keys |= flag->ensure_experience_continuity;
                for (std::int64_t id : flag->cohort_ids)
                    static_cohorts |= reaches_static_cohort(team, id, visited);
            }
        }))
        raise_error(error);
    Datum names[2];
    int count = 0;
    if (static_cohorts) names[count++] = CStringGetTextDatum("static_cohorts");
    if (continuity_keys) names[count++] = CStringGetTextDatum("continuity_keys");
    PG_RETURN_ARRAYTYPE_P(construct_array(names, count, TEXTOID, -1, false, TYPALIGN_INT));
}

}  // extern "C"
