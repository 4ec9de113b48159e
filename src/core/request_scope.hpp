// Which flags a request may be answered, as PostHog's /flags narrows them before evaluating
// (docs/reference.md, Evaluation runtime and contexts): by the runtime the request comes from and
// by the evaluation contexts it names. A flag outside the scope is absent from the answer and
// counts as off for the flags that depend on it.
#pragma once
#include "no_postgres.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval {

struct Flag;

// The runtime a flag is meant for (a flag's evaluation_runtime).
enum class EvaluationRuntime { All, Client, Server };

// The runtime a request comes from. Unknown: neither declared nor recognisable, which only flags
// meant for every runtime serve.
enum class RequestRuntime { All, Client, Server, Unknown };

// "server", "client" or "all", in any case; anything else means every runtime, as PostHog reads it.
EvaluationRuntime evaluation_runtime_from_name(std::string_view name);

// "all", "client", "server" or "unknown", in any case; nullopt otherwise.
std::optional<RequestRuntime> request_runtime_from_name(std::string_view name);
std::string_view request_runtime_name(RequestRuntime runtime);

struct RequestScope {
    RequestRuntime runtime = RequestRuntime::All;
    std::vector<std::string> contexts;  // empty: no narrowing by context

    // A flag for every runtime serves any request; a client or server flag serves requests of
    // that runtime and those that declare all. With contexts named, a flag that names contexts
    // serves the request only when they share one (exactly, case included).
    bool admits(const Flag& flag) const;
};

}  // namespace flag_eval
