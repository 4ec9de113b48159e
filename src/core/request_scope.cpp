#include "request_scope.hpp"

#include "ascii_case.hpp"
#include "flag_model.hpp"

#include <algorithm>

namespace flag_eval {

EvaluationRuntime evaluation_runtime_from_name(std::string_view name) {
    if (ascii_iequals(name, "client")) return EvaluationRuntime::Client;
    if (ascii_iequals(name, "server")) return EvaluationRuntime::Server;
    return EvaluationRuntime::All;
}

std::optional<RequestRuntime> request_runtime_from_name(std::string_view name) {
    if (ascii_iequals(name, "all")) return RequestRuntime::All;
    if (ascii_iequals(name, "client")) return RequestRuntime::Client;
    if (ascii_iequals(name, "server")) return RequestRuntime::Server;
    if (ascii_iequals(name, "unknown")) return RequestRuntime::Unknown;
    return std::nullopt;
}

std::string_view request_runtime_name(RequestRuntime runtime) {
    switch (runtime) {
        case RequestRuntime::All: return "all";
        case RequestRuntime::Client: return "client";
        case RequestRuntime::Server: return "server";
        case RequestRuntime::Unknown: return "unknown";
    }
    return "all";
}

bool RequestScope::admits(const Flag& flag) const {
    switch (flag.evaluation_runtime) {
        case EvaluationRuntime::All: break;
        case EvaluationRuntime::Client:
            if (runtime != RequestRuntime::All && runtime != RequestRuntime::Client) return false;
            break;
        case EvaluationRuntime::Server:
            if (runtime != RequestRuntime::All && runtime != RequestRuntime::Server) return false;
            break;
    }
    if (contexts.empty() || flag.evaluation_contexts.empty()) return true;
    return std::any_of(flag.evaluation_contexts.begin(), flag.evaluation_contexts.end(),
                       [&](const std::string& c) {
                           return std::find(contexts.begin(), contexts.end(), c) != contexts.end();
                       });
}

}  // namespace flag_eval
