#include "request_scope.hpp"

#include "flag_model.hpp"

#include <algorithm>
#include <cctype>

namespace flag_eval {
namespace {

bool iequals(std::string_view a, std::string_view lowered) {
    return a.size() == lowered.size() &&
           std::equal(a.begin(), a.end(), lowered.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == y;
           });
}

}  // namespace

EvaluationRuntime evaluation_runtime_from_name(std::string_view name) {
    if (iequals(name, "client")) return EvaluationRuntime::Client;
    if (iequals(name, "server")) return EvaluationRuntime::Server;
    return EvaluationRuntime::All;
}

std::optional<RequestRuntime> request_runtime_from_name(std::string_view name) {
    if (iequals(name, "all")) return RequestRuntime::All;
    if (iequals(name, "client")) return RequestRuntime::Client;
    if (iequals(name, "server")) return RequestRuntime::Server;
    if (iequals(name, "unknown")) return RequestRuntime::Unknown;
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
