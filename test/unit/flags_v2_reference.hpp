// The /flags v2 answer built as a boost::json document, field by field in the reference's order
// (docs/reference.md, Decide protocol): what the writer of src/core/flags_v2_writer is checked
// against. It was the core's flags_v2_json and the service's body before there was one writer.
#pragma once
#include "core/flag_answer.hpp"
#include "core/flag_set.hpp"
#include "core/result_json.hpp"

#include <boost/json.hpp>

#include <vector>

namespace flag_eval::testing_support {

namespace v2_reference {

inline boost::json::value optional_json(const std::string* s) {
    return s ? boost::json::value(*s) : boost::json::value(nullptr);
}

inline boost::json::value optional_json(const std::optional<std::string>& s) {
    return s ? boost::json::value(*s) : boost::json::value(nullptr);
}

}  // namespace v2_reference

// {flags: {key: {key, enabled, variant, reason, metadata{id, version, description, payload,
// has_experiment}, failed}}, errorsWhileComputingFlags} from the core's results.
inline boost::json::object flags_v2_json(const EvaluationSummary& summary) {
    namespace json = boost::json;
    json::object flags;
    for (const auto& [flag, result] : summary.flags) {
        json::object reason;
        reason["code"] = reason_code(result.reason);
        reason["condition_index"] =
            result.condition_index ? json::value(*result.condition_index) : json::value(nullptr);
        reason["description"] = reason_description(result);
        json::object metadata;
        metadata["id"] = flag->id;
        metadata["version"] = flag->version;
        metadata["description"] = v2_reference::optional_json(flag->description);
        metadata["payload"] = v2_reference::optional_json(result.payload);
        metadata["has_experiment"] = flag->has_experiment;
        json::object detail;
        detail["key"] = flag->key;
        detail["enabled"] = result.enabled;
        detail["variant"] = v2_reference::optional_json(result.variant);
        detail["reason"] = std::move(reason);
        detail["metadata"] = std::move(metadata);
        detail["failed"] = result.failed;
        flags[flag->key] = std::move(detail);
    }
    json::object out;
    out["flags"] = std::move(flags);
    out["errorsWhileComputingFlags"] = summary.errors_while_computing;
    return out;
}

// The same from answers (of equal keys, the last at the place of the first).
inline boost::json::object flags_v2_json(const std::vector<FlagAnswer>& answers,
                                         bool errors_while_computing) {
    namespace json = boost::json;
    json::object flags;
    for (const FlagAnswer& flag : answers) {
        json::object reason;
        reason["code"] = flag.reason_code;
        reason["condition_index"] =
            flag.condition_index ? json::value(*flag.condition_index) : json::value(nullptr);
        reason["description"] = flag.reason_description;
        json::object metadata;
        metadata["id"] = flag.id;
        metadata["version"] = flag.version;
        metadata["description"] = v2_reference::optional_json(flag.description);
        metadata["payload"] = v2_reference::optional_json(flag.payload);
        metadata["has_experiment"] = flag.has_experiment;
        json::object detail;
        detail["key"] = flag.key;
        detail["enabled"] = flag.enabled;
        detail["variant"] = v2_reference::optional_json(flag.variant);
        detail["reason"] = std::move(reason);
        detail["metadata"] = std::move(metadata);
        detail["failed"] = flag.failed;
        flags[flag.key] = std::move(detail);
    }
    json::object out;
    out["flags"] = std::move(flags);
    out["errorsWhileComputingFlags"] = errors_while_computing;
    return out;
}

}  // namespace flag_eval::testing_support
