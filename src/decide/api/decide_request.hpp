// The JSON body of POST /flags and /decide, as PostHog SDKs send it, read into one struct.
// Field names and aliases follow PostHog's flags service; unknown fields (geoip_disable,
// timezone, ...) are ignored.
#pragma once

#include "core/request_scope.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace flag_eval::decide {

struct DecideRequest {
    DecideRequest() = default;
    // The JSON members below are made in `storage` (parse_decide_request's arena).
    explicit DecideRequest(boost::json::storage_ptr storage)
        : groups(storage), person_properties(storage), group_properties(storage) {}

    std::string token;           // "token" (or "$token", "api_key"): never empty
    std::string distinct_id;     // "distinct_id" (or "$distinct_id"); a JSON number as its digits
    boost::json::object groups;  // {group type: group key}; number keys become their digits
    boost::json::object person_properties;        // "person_properties" (or "$properties")
    boost::json::object group_properties;         // {group type: {props}} (or "$group_properties")
    std::optional<std::string> anon_distinct_id;  // "$anon_distinct_id" (or "anon_distinct_id")
    std::optional<std::string> device_id;         // "device_id" (or "$device_id"); never empty
    std::optional<std::vector<std::string>> flag_keys;  // "flag_keys_to_evaluate" (or "flag_keys")
    bool disable_flags = false;  // "disable_flags": true asks for no flags at all
    // "evaluation_runtime" and "evaluation_contexts" (or "evaluation_environments"). Without a
    // declared runtime the HTTP layer infers one from the headers (request_runtime.hpp).
    RequestScope scope;
    bool runtime_declared = false;
};

// 400: not a JSON object, a field of the wrong type, distinct_id missing or empty;
// 401: no token. The message names the field.
struct RequestError {
    int status = 400;
    std::string message;
};

// JSON null counts as absent. Never throws.
std::variant<DecideRequest, RequestError> parse_decide_request(std::string_view json_text);

}  // namespace flag_eval::decide
