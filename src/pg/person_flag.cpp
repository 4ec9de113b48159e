#include "pg/person_flag.hpp"

#include "pg/error_report.hpp"
#include "pg/flag_cache.hpp"
#include "pg/jsonb_properties.hpp"

namespace flag_eval::pg {

FlagResult evaluate_for_person(FunctionCallInfo fcinfo, Jsonb* flag_jsonb, text* distinct_id,
                               Jsonb* properties, std::unique_ptr<Flag>& uncached) {
    const Flag& flag = compiled_flag(fcinfo, flag_jsonb, uncached);
    JsonbPropertySource person(properties_object(properties));
    // One context per backend, reused: zero-filling a fresh one (~440 bytes, groups and group type
    // mapping included) cost 7 % of a population scan. Only these two fields ever change, and
    // evaluation never re-enters this function.
    static EvaluationContext context;
    context.distinct_id = view_of(distinct_id);
    context.person_properties = &person;
    FlagResult result = evaluate_flag(flag, context, nullptr, nullptr);
    context.person_properties = nullptr;
    // A boolean or a variant cannot say "could not be computed": raise rather than answer false.
    if (result.failed)
        throw InvalidInput(
            "flag \"" + flag.key + "\" cannot be evaluated: " + result.description,
            "Cohorts and flag dependencies are evaluated by flag_evaluate_all, from a definitions "
            "document that carries them.");
    return result;
}

}  // namespace flag_eval::pg
