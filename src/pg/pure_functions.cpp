// The pure SQL functions (docs/reference.md, SQL interface), IMMUTABLE PARALLEL SAFE: flag_eval,
// flag_variant, flag_evaluate, flag_evaluate_all, flag_bucket, flag_validate.
//
// Each entry point reads its arguments (detoasting may raise: no C++ object is alive yet), runs
// its C++ work inside run_cpp(), which catches every exception, and raises only after that
// frame is gone. The entry points' own frames hold plain data only.
#include "core/bucketing.hpp"
#include "core/evaluator.hpp"
#include "core/flag_parser.hpp"
#include "core/flag_set.hpp"
#include "core/result_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "pg/error_report.hpp"
#include "pg/flag_cache.hpp"
#include "pg/jsonb_properties.hpp"
#include "pg/person_flag.hpp"
#include "pg/pg_guard.hpp"

namespace {

using namespace flag_eval;
using namespace flag_eval::pg;

const char* problem_severity(Problem::Severity s) {
    return s == Problem::Severity::Invalid ? "invalid" : "warning";
}

}  // namespace

extern "C" {

FLAG_EVAL_SQL_FUNCTION(flag_eval_enabled);
FLAG_EVAL_SQL_FUNCTION(flag_eval_variant);
FLAG_EVAL_SQL_FUNCTION(flag_eval_evaluate);
FLAG_EVAL_SQL_FUNCTION(flag_eval_evaluate_all);
FLAG_EVAL_SQL_FUNCTION(flag_eval_bucket);
FLAG_EVAL_SQL_FUNCTION(flag_eval_validate);

// flag_eval(flag jsonb, distinct_id text, properties jsonb) returns boolean
Datum flag_eval_enabled(PG_FUNCTION_ARGS) {
    Jsonb* flag = PG_GETARG_JSONB_P(0);
    text* distinct_id = PG_GETARG_TEXT_PP(1);
    Jsonb* properties = PG_GETARG_JSONB_P(2);
    bool enabled = false;
    ErrorReport error;
    if (!run_cpp(error, "flag definition", [&] {
            std::unique_ptr<Flag> uncached;
            enabled = evaluate_for_person(fcinfo, flag, distinct_id, properties, uncached).enabled;
        }))
        raise_error(error);
    PG_RETURN_BOOL(enabled);
}

// flag_variant(flag jsonb, distinct_id text, properties jsonb) returns text
Datum flag_eval_variant(PG_FUNCTION_ARGS) {
    Jsonb* flag = PG_GETARG_JSONB_P(0);
    text* distinct_id = PG_GETARG_TEXT_PP(1);
    Jsonb* properties = PG_GETARG_JSONB_P(2);
    text* variant = nullptr;
    ErrorReport error;
    if (!run_cpp(error, "flag definition", [&] {
            std::unique_ptr<Flag> uncached;
            const FlagResult r =
                evaluate_for_person(fcinfo, flag, distinct_id, properties, uncached);
            if (r.enabled && r.variant) variant = text_or_throw(*r.variant);
        }))
        raise_error(error);
    if (variant == nullptr) PG_RETURN_NULL();
    PG_RETURN_TEXT_P(variant);
}

// flag_evaluate(flag jsonb, context jsonb) returns jsonb
Datum flag_eval_evaluate(PG_FUNCTION_ARGS) {
    Jsonb* flag = PG_GETARG_JSONB_P(0);
    Jsonb* context = PG_GETARG_JSONB_P(1);
    const char* json = nullptr;
    ErrorReport error;
    if (!run_cpp(error, "flag definition", [&] {
            std::unique_ptr<Flag> uncached;
            const Flag& compiled = compiled_flag(fcinfo, flag, uncached);
            const JsonbContext subject(context);
            const FlagResult r = evaluate_flag(compiled, subject.context(), nullptr, nullptr);
            json = pstrdup_or_throw(boost::json::serialize(result_detail_json(compiled, r)));
        }))
        raise_error(error);
    PG_RETURN_DATUM(jsonb_from_text(json));
}

// flag_evaluate_all(definitions jsonb, context jsonb) returns jsonb
Datum flag_eval_evaluate_all(PG_FUNCTION_ARGS) {
    Jsonb* definitions = PG_GETARG_JSONB_P(0);
    Jsonb* context = PG_GETARG_JSONB_P(1);
    const char* json = nullptr;
    ErrorReport error;
    if (!run_cpp(error, "flag definitions", [&] {
            std::unique_ptr<FlagSet> uncached;
            const FlagSet& set = compiled_flag_set(fcinfo, definitions, uncached);
            const JsonbContext subject(context);
            // evaluate_all lets the definitions' group_type_mapping win over the context's.
            const EvaluationSummary summary = set.evaluate_all(subject.context());
            json = pstrdup_or_throw(boost::json::serialize(summary_json(summary)));
        }))
        raise_error(error);
    PG_RETURN_DATUM(jsonb_from_text(json));
}

// flag_bucket(key text, identifier text, salt text, bucketing text) returns float8:
// hash01 of key || '.' || identifier || salt, the raw hash (no empty-identifier rule).
Datum flag_eval_bucket(PG_FUNCTION_ARGS) {
    text* key = PG_GETARG_TEXT_PP(0);
    text* identifier = PG_GETARG_TEXT_PP(1);
    text* salt = PG_GETARG_TEXT_PP(2);
    text* bucketing = PG_GETARG_TEXT_PP(3);
    double hash = 0.0;
    ErrorReport error;
    if (!run_cpp(error, "flag definition", [&] {
            const std::string_view name = view_of(bucketing);
            const std::optional<Bucketing> b = bucketing_from_name(name);
            if (!b)
                throw InvalidInput("unknown bucketing \"" + std::string(name) + "\"",
                                   "Bucketing is \"xxh3\" or \"sha1\".");
            std::string prefix(view_of(key));
            prefix += '.';
            hash = hash01(*b, prefix, view_of(identifier), view_of(salt));
        }))
        raise_error(error);
    PG_RETURN_FLOAT8(hash);
}

// flag_validate(flag jsonb) returns jsonb: [{path, message, severity}], [] when valid.
// Bad flag content is reported, never raised.
Datum flag_eval_validate(PG_FUNCTION_ARGS) {
    Jsonb* flag = PG_GETARG_JSONB_P(0);
    const char* json = nullptr;
    ErrorReport error;
    if (!run_cpp(error, "flag definition", [&] {
            boost::json::array out;
            auto add = [&](Problem::Severity severity, const std::string& path,
                           const std::string& message) {
                out.push_back(boost::json::object{{"path", path},
                                                  {"message", message},
                                                  {"severity", problem_severity(severity)}});
            };
            try {
                const Problems problems = validate_flag(jsonb_to_json(flag));
                for (const Problem& p : problems.items()) add(p.severity, p.path, p.message);
            } catch (const InvalidDefinition& e) {  // a document Boost.JSON cannot hold
                add(Problem::Severity::Invalid, e.path(), e.detail());
            }
            json = pstrdup_or_throw(boost::json::serialize(out));
        }))
        raise_error(error);
    PG_RETURN_DATUM(jsonb_from_text(json));
}

}  // extern "C"
