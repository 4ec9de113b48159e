// An index pre-filter for `flag_eval(<constant flag>, distinct_id, properties)`, for the planner
// support function (planner_support.hpp). When every way the flag can be true needs some property
// key (core/required_keys.hpp), a GIN index on properties with the default jsonb_ops can find the
// persons that have them: `properties ?& '{the keys}'` for a flag with one way in, `properties ?|
// '{the rarest key of each way}'` for several (the column's statistics say which is rarest). The
// condition is lossy, so flag_eval() still decides every row the index keeps; it only skips
// persons for whom the flag cannot be true.
//
// jsonb_path_ops indexes answer no key-existence operator and are left alone, as is every other
// kind of index. The key lists are built inside run_cpp(), the PostgreSQL nodes from them outside.
#include "core/flag_parser.hpp"
#include "core/required_keys.hpp"
#include "pg/planner_support.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pg/error_report.hpp"
#include "pg/jsonb_properties.hpp"
#include "pg/pg_guard.hpp"
#include "pg/property_samples.hpp"

extern "C" {
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

namespace {

using namespace flag_eval;
using namespace flag_eval::pg;

// The index condition's keys as palloc'd text datums: all the keys of a single way in (each is
// needed), else the rarest key of each way by the column's statistics (one of them is needed).
// Empty when no key is needed.
struct KeyList {
    Datum* keys = nullptr;
    int count = 0;
    bool all_needed = false;
};

// The share of the sampled persons whose properties have `key` (0 without samples).
double share_having(const PropertySamples& samples, std::string_view key) {
    double having = 0.0, weight = 0.0;
    for (int s = 0; s < samples.set_count; ++s) {
        const Sample& set = samples.sets[s];
        for (int i = 0; i < set.count; ++i) {
            Jsonb* document = set.document(i);
            if (!JB_ROOT_IS_OBJECT(document)) continue;
            weight += set.weight(i);
            if (!JsonbPropertySource(&document->root).get(key).missing()) having += set.weight(i);
        }
    }
    return weight > 0.0 ? having / weight : 0.0;
}

KeyList keys_for(Jsonb* flag_jsonb, const PropertySamples& samples) {
    const std::unique_ptr<Flag> flag = compile_flag(jsonb_to_json(flag_jsonb), Bucketing::Xxh3);
    const std::optional<RequiredKeys> required = required_keys(*flag);
    if (!required) return {};
    const bool all_needed = required->alternatives.size() == 1;
    const std::vector<std::string> chosen =
        all_needed ? required->alternatives.front()
                   : rarest_key_each(*required, [&](std::string_view key) {
                         return share_having(samples, key);
                     });
    KeyList list;
    list.all_needed = all_needed;
    list.keys = static_cast<Datum*>(palloc_or_throw(sizeof(Datum) * chosen.size()));
    for (const std::string& key : chosen)
        list.keys[list.count++] = PointerGetDatum(text_or_throw(key));
    return list;
}

}  // namespace

namespace flag_eval::pg {

Node* index_condition(SupportRequestIndexCondition* request) {
    if (!IsA(request->node, FuncExpr) || request->index->relam != GIN_AM_OID) return nullptr;
    const List* args = reinterpret_cast<FuncExpr*>(request->node)->args;
    if (list_length(args) != 3 || request->indexarg != 2) return nullptr;  // not properties
    Node* flag_arg = static_cast<Node*>(linitial(args));
    if (!IsA(flag_arg, Const) || reinterpret_cast<Const*>(flag_arg)->constisnull) return nullptr;
    const Oid any_key = get_opfamily_member(request->opfamily, JSONBOID, TEXTARRAYOID,
                                            JsonbExistsAnyStrategyNumber);
    const Oid all_keys = get_opfamily_member(request->opfamily, JSONBOID, TEXTARRAYOID,
                                             JsonbExistsAllStrategyNumber);
    if (!OidIsValid(any_key) || !OidIsValid(all_keys)) return nullptr;  // e.g. jsonb_path_ops
    Jsonb* flag_jsonb = DatumGetJsonbP(reinterpret_cast<Const*>(flag_arg)->constvalue);

    Node* properties = static_cast<Node*>(lthird(args));
    PropertySamples samples;
    read_property_samples(request->root, properties, request->index->rel->relid, samples);
    KeyList list;
    ErrorReport ignored;
    run_cpp(ignored, "flag definition", [&] { list = keys_for(flag_jsonb, samples); });
    release_property_samples(samples);
    if (list.count == 0) return nullptr;

    ArrayType* keys = construct_array_builtin(list.keys, list.count, TEXTOID);
    Const* key_array =
        makeConst(TEXTARRAYOID, -1, InvalidOid, -1, PointerGetDatum(keys), false, false);
    Expr* clause = make_opclause(list.all_needed ? all_keys : any_key, BOOLOID, false,
                                 static_cast<Expr*>(copyObjectImpl(properties)),
                                 reinterpret_cast<Expr*>(key_array), InvalidOid, InvalidOid);
    request->lossy = true;
    return reinterpret_cast<Node*>(list_make1(clause));
}

}  // namespace flag_eval::pg
