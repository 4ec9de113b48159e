// flag_eval_support(internal): the planner support function of flag_eval() (docs/reference.md,
// What the planner expects), declared by `SUPPORT flag_eval_support` in the install script.
#include "pg/planner_support.hpp"

extern "C" {

FLAG_EVAL_SQL_FUNCTION(flag_eval_support);

Datum flag_eval_support(PG_FUNCTION_ARGS) {
    Node* request = reinterpret_cast<Node*>(PG_GETARG_POINTER(0));
    Node* answer = nullptr;
    if (IsA(request, SupportRequestSelectivity))
        answer = flag_eval::pg::estimate_selectivity(
            reinterpret_cast<SupportRequestSelectivity*>(request));
    else if (IsA(request, SupportRequestIndexCondition))
        answer = flag_eval::pg::index_condition(
            reinterpret_cast<SupportRequestIndexCondition*>(request));
    PG_RETURN_POINTER(answer);
}

}  // extern "C"
