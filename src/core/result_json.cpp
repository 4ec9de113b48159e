#include "result_json.hpp"

#include <string>

namespace flag_eval {
namespace {

namespace json = boost::json;

json::object reason_json(const FlagResult& result) {
    json::object reason;
    reason["code"] = reason_code(result.reason);
    reason["condition_index"] =
        result.condition_index ? json::value(*result.condition_index) : json::value(nullptr);
    reason["description"] = reason_description(result);
    return reason;
}

json::value optional_string(const std::string* s) {
    return s ? json::value(*s) : json::value(nullptr);
}

}  // namespace

std::string reason_description(const FlagResult& r) {
    if (!r.description.empty()) return r.description;
    switch (r.reason) {
        case Reason::ConditionMatch:
            return "Matched condition set " + std::to_string(r.condition_index.value_or(0) + 1);
        case Reason::NoConditionMatch: return "No matching condition set";
        case Reason::OutOfRolloutBound: return "Out of rollout bound";
        case Reason::NoGroupType: return "No group type";
        case Reason::SuperConditionValue: return "Super condition value";
        case Reason::HoldoutConditionValue: return "Holdout condition value";
        case Reason::FlagDisabled: return "Flag is disabled";
        case Reason::MissingDependency: return "Missing dependency";
    }
    return {};
}

json::object result_detail_json(const Flag& flag, const FlagResult& result) {
    json::object detail;
    detail["key"] = flag.key;
    detail["enabled"] = result.enabled;
    detail["variant"] = optional_string(result.variant);
    if (result.enabled && result.variant)
        detail["value"] = *result.variant;
    else
        detail["value"] = result.enabled;
    detail["reason"] = reason_json(result);
    detail["payload"] = optional_string(result.payload);
    if (result.failed) detail["failed"] = true;
    return detail;
}

json::object summary_json(const EvaluationSummary& summary) {
    json::object flags;
    for (const auto& outcome : summary.flags)
        flags[outcome.flag->key] = result_detail_json(*outcome.flag, outcome.result);
    json::object out;
    out["flags"] = std::move(flags);
    out["errorsWhileComputingFlags"] = summary.errors_while_computing;
    return out;
}

}  // namespace flag_eval
