// The selectivity of `flag_eval(<constant flag>, distinct_id, properties)` as a condition, for
// the planner support function (planner_support.hpp): the share of rows the flag selects instead
// of PostgreSQL's flat third: rollouts from the flag itself, property filters from the properties
// column's statistics, whose most common values and histogram bounds are whole person documents,
// a sample the flag is matched against as evaluation would (core/selectivity.hpp). Anything it
// cannot read (a flag that is not a constant, an invalid flag, no statistics for a flag that reads
// properties) leaves the estimate to PostgreSQL, or to kPropertyMatchShare.
//
// The PostgreSQL calls (statistics lookups, property_samples.hpp) run first, from this frame; the
// C++ work runs inside run_cpp() and never raises: an estimate is not worth an error at plan time
// (the function itself reports a bad flag when it runs).
#include "core/flag_parser.hpp"
#include "core/selectivity.hpp"
#include "pg/planner_support.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <memory>

#include "pg/error_report.hpp"
#include "pg/jsonb_properties.hpp"
#include "pg/pg_guard.hpp"
#include "pg/property_samples.hpp"

namespace {

using namespace flag_eval;
using namespace flag_eval::pg;

// The share of persons assumed to match a flag's property filters when the column has no
// statistics (never analysed, or the argument is an expression): PostgreSQL's own default for
// a range condition.
constexpr double kPropertyMatchShare = 1.0 / 3.0;

// The selectivity of the flag over the samples (weights summing to the non-null share of rows),
// or of one document; kPropertyMatchShare when a flag reading properties has neither.
double flag_selectivity(Jsonb* flag_jsonb, const Sample* samples, int sample_sets,
                        Jsonb* constant_properties) {
    const std::unique_ptr<Flag> flag = compile_flag(jsonb_to_json(flag_jsonb), Bucketing::Xxh3);
    EmptyPropertySource none;
    if (!reads_properties(*flag)) return enabled_share_for(*flag, none);
    if (constant_properties) {
        const JsonbPropertySource person(properties_object(constant_properties));
        return enabled_share_for(*flag, person);
    }
    double selectivity = 0.0, weight = 0.0;
    for (int s = 0; s < sample_sets; ++s) {
        for (int i = 0; i < samples[s].count; ++i) {
            Jsonb* document = samples[s].document(i);
            if (!JB_ROOT_IS_OBJECT(document)) continue;  // flag_eval() would refuse the row
            const JsonbPropertySource person(&document->root);
            selectivity += samples[s].weight(i) * enabled_share_for(*flag, person);
            weight += samples[s].weight(i);
        }
    }
    if (weight <= 0.0) return enabled_share_assumed(*flag, kPropertyMatchShare);
    return selectivity / weight;  // over the rows sampled; the caller scales by the non-null share
}

}  // namespace

namespace flag_eval::pg {

Node* estimate_selectivity(SupportRequestSelectivity* request) {
    if (list_length(request->args) != 3) return nullptr;
    Node* flag_arg = static_cast<Node*>(linitial(request->args));
    Node* properties_arg = static_cast<Node*>(lthird(request->args));
    if (!IsA(flag_arg, Const) || reinterpret_cast<Const*>(flag_arg)->constisnull) return nullptr;
    Jsonb* flag_jsonb = DatumGetJsonbP(reinterpret_cast<Const*>(flag_arg)->constvalue);

    Jsonb* constant_properties = nullptr;
    if (IsA(properties_arg, Const)) {
        if (reinterpret_cast<Const*>(properties_arg)->constisnull) {
            request->selectivity = 0.0;  // STRICT: NULL, never true
            return reinterpret_cast<Node*>(request);
        }
        constant_properties = DatumGetJsonbP(reinterpret_cast<Const*>(properties_arg)->constvalue);
    }

    PropertySamples samples;
    if (!constant_properties && !request->is_join)
        read_property_samples(request->root, properties_arg, request->varRelid, samples);

    double selectivity = -1.0;
    ErrorReport ignored;
    run_cpp(ignored, "flag definition", [&] {
        selectivity =
            flag_selectivity(flag_jsonb, samples.sets, samples.set_count, constant_properties);
    });
    release_property_samples(samples);

    if (selectivity < 0.0) return nullptr;  // the flag could not be read
    if (samples.set_count > 0) selectivity *= 1.0 - samples.null_share;  // NULL: never true
    CLAMP_PROBABILITY(selectivity);
    request->selectivity = selectivity;
    return reinterpret_cast<Node*>(request);
}

}  // namespace flag_eval::pg
