// An index pre-filter for `flag_eval(<constant flag>, distinct_id, properties)`, for the planner
// support function (planner_support.hpp). When every way the flag can be true needs some property
// key (core/required_keys.hpp), a GIN index on properties with the default jsonb_ops can find the
// persons that have them: `properties ?& '{the keys}'` for a flag with one way in, `properties ?|
// '{one key of each way}'` for several. The condition is lossy, so flag_eval() still decides every
// row the index keeps; it only skips persons for whom the flag cannot be true.
//
// jsonb_path_ops indexes answer no key-existence operator and are left alone, as is every other
// kind of index. The key lists are built inside run_cpp(), the PostgreSQL nodes from them outside.
#include "core/flag_parser.hpp"
#include "core/required_keys.hpp"
#include "pg/planner_support.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

#include "pg/error_report.hpp"
#include "pg/jsonb_properties.hpp"
#include "pg/pg_guard.hpp"

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
// needed), else the first key of each way (one of them is needed). Empty when no key is needed.
struct KeyList {
    Datum* keys = nullptr;
    int count = 0;
    bool all_needed = false;
};

KeyList keys_for(Jsonb* flag_jsonb) {
    const std::unique_ptr<Flag> flag = compile_flag(jsonb_to_json(flag_jsonb), Bucketing::Xxh3);
    const std::optional<RequiredKeys> required = required_keys(*flag);
    if (!required) return {};
    std::vector<std::string_view> chosen;
    const bool all_needed = required->alternatives.size() == 1;
    if (all_needed) {
        chosen.assign(required->alternatives.front().begin(), required->alternatives.front().end());
    } else {
        for (const std::vector<std::string>& alternative : required->alternatives)
            if (std::find(chosen.begin(), chosen.end(), alternative.front()) == chosen.end())
                chosen.push_back(alternative.front());
    }
    KeyList list;
    list.all_needed = all_needed;
    list.keys = static_cast<Datum*>(palloc_or_throw(sizeof(Datum) * chosen.size()));
    for (std::string_view key : chosen)
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

    KeyList list;
    ErrorReport ignored;
    run_cpp(ignored, "flag definition", [&] { list = keys_for(flag_jsonb); });
    if (list.count == 0) return nullptr;

    ArrayType* keys = construct_array_builtin(list.keys, list.count, TEXTOID);
    Const* key_array =
        makeConst(TEXTARRAYOID, -1, InvalidOid, -1, PointerGetDatum(keys), false, false);
    Expr* clause = make_opclause(list.all_needed ? all_keys : any_key, BOOLOID, false,
                                 static_cast<Expr*>(copyObjectImpl(lthird(args))),
                                 reinterpret_cast<Expr*>(key_array), InvalidOid, InvalidOid);
    request->lossy = true;
    return reinterpret_cast<Node*>(list_make1(clause));
}

}  // namespace flag_eval::pg
