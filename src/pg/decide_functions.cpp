// The table-backed side of SPEC section 4: flag_eval._decide_team(), the evaluation core of
// flag_eval.decide() (which looks the subject up in SQL), and the trigger that drops cached
// team definitions when the definitions tables change.
#include "core/evaluator.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pg/error_report.hpp"
#include "pg/flags_v2_jsonb.hpp"
#include "pg/jsonb_properties.hpp"
#include "pg/pg_guard.hpp"
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

// The person's static cohorts, answered for the team's static cohorts only; dynamic cohorts are
// evaluated from their definitions.
class PersonStaticCohorts final : public StaticCohortMembership {
public:
    PersonStaticCohorts(const TeamDefinitions& team, std::vector<std::int64_t> member_of)
        : team_(team), member_of_(std::move(member_of)) {
        std::sort(member_of_.begin(), member_of_.end());
    }
    std::optional<bool> is_member(std::int64_t cohort_id) const override {
        if (!team_.static_cohort_ids.count(cohort_id)) return std::nullopt;
        return std::binary_search(member_of_.begin(), member_of_.end(), cohort_id);
    }

private:
    const TeamDefinitions& team_;
    std::vector<std::int64_t> member_of_;
};

// {flag_key: hash_key} read in place.
class StoredHashKeys final : public HashKeyOverrides {
public:
    explicit StoredHashKeys(JsonbContainer* object) : keys_(object) {}
    std::optional<std::string_view> for_flag(std::string_view flag_key) const override {
        const PropertyValue v = keys_.get(flag_key);
        if (v.kind != ValueKind::String) return std::nullopt;
        return v.text;
    }

private:
    JsonbPropertySource keys_;
};

// The array elements as plain data, read in the entry point's frame (deconstruct_array may raise).
struct Elements {
    Datum* values = nullptr;
    bool* nulls = nullptr;
    int count = 0;
};

Elements array_elements(ArrayType* array, Oid type, int16 length, bool by_value, char align) {
    Elements e;
    if (array != nullptr) deconstruct_array(array, type, length, by_value, align, &e.values, &e.nulls, &e.count);
    return e;
}

}  // namespace

extern "C" {

PGDLLEXPORT Datum flag_eval_decide_team(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(flag_eval_decide_team);
PGDLLEXPORT Datum flag_eval_definitions_changed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(flag_eval_definitions_changed);

// _decide_team(team_id bigint, context jsonb, static_cohort_ids bigint[], hash_key_overrides jsonb,
//              flag_keys text[]) returns jsonb: the /flags?v=2 body. NULL arrays and overrides
// mean none; NULL flag_keys means every flag.
Datum flag_eval_decide_team(PG_FUNCTION_ARGS) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
    const int64 team_id = PG_GETARG_INT64(0);
    Jsonb* context = PG_GETARG_JSONB_P(1);
    const Elements cohorts = array_elements(PG_ARGISNULL(2) ? nullptr : PG_GETARG_ARRAYTYPE_P(2), INT8OID, 8,
                                            FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    Jsonb* overrides = PG_ARGISNULL(3) ? nullptr : PG_GETARG_JSONB_P(3);
    const bool all_flags = PG_ARGISNULL(4);
    const Elements keys =
        array_elements(all_flags ? nullptr : PG_GETARG_ARRAYTYPE_P(4), TEXTOID, -1, false, TYPALIGN_INT);
    Jsonb* body = nullptr;
    ErrorReport error;
    if (!run_cpp(error, "stored flag definition", [&] {
            const auto team = team_definitions(team_id);
            std::vector<std::int64_t> member_of;
            for (int i = 0; i < cohorts.count; ++i)
                if (!cohorts.nulls[i]) member_of.push_back(DatumGetInt64(cohorts.values[i]));
            const PersonStaticCohorts static_cohorts(*team, std::move(member_of));
            std::optional<StoredHashKeys> hash_keys;
            if (overrides && JB_ROOT_IS_OBJECT(overrides)) hash_keys.emplace(&overrides->root);

            const JsonbContext subject(context);
            EvaluationContext ctx = subject.context();
            ctx.static_cohorts = &static_cohorts;
            ctx.hash_key_overrides = hash_keys ? &*hash_keys : nullptr;
            EvaluationSummary summary = team->flags.evaluate_all(ctx);

            if (!all_flags) {
                std::set<std::string_view> wanted;
                for (int i = 0; i < keys.count; ++i)
                    if (!keys.nulls[i]) {
                        text* t = DatumGetTextPP(keys.values[i]);
                        wanted.emplace(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
                    }
                std::erase_if(summary.flags, [&](const FlagOutcome& o) { return !wanted.count(o.flag->key); });
                summary.errors_while_computing = std::any_of(summary.flags.begin(), summary.flags.end(),
                                                             [](const FlagOutcome& o) { return o.result.failed; });
            }
            body = flags_v2_jsonb(summary);
        }))
        raise_error(error);
    PG_RETURN_JSONB_P(body);
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
