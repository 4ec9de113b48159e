#include "decide/api/request_runtime.hpp"

#include <array>
#include <optional>
#include <utility>

namespace flag_eval::decide {
namespace {

constexpr std::string_view kSdkPrefix = "posthog-";

// The SDKs PostHog's /flags recognises by name; any other posthog-<name> is unknown.
constexpr std::array<std::pair<std::string_view, RequestRuntime>, 14> kSdkRuntimes{{
    {"python", RequestRuntime::Server},
    {"ruby", RequestRuntime::Server},
    {"php", RequestRuntime::Server},
    {"java", RequestRuntime::Server},
    {"go", RequestRuntime::Server},
    {"node", RequestRuntime::Server},
    {"dotnet", RequestRuntime::Server},
    {"elixir", RequestRuntime::Server},
    {"server", RequestRuntime::Server},
    {"js", RequestRuntime::Client},
    {"android", RequestRuntime::Client},
    {"ios", RequestRuntime::Client},
    {"react-native", RequestRuntime::Client},
    {"flutter", RequestRuntime::Client},
}};

// "posthog-<name>/<version>[ ...]": the named SDK's runtime, Unknown for a malformed or
// unrecognised one.
RequestRuntime sdk_runtime(std::string_view rest) {
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return RequestRuntime::Unknown;
    if (slash + 1 == rest.size()) return RequestRuntime::Unknown;  // no version
    const std::string_view name = rest.substr(0, slash);
    for (const auto& [sdk, runtime] : kSdkRuntimes)
        if (sdk == name) return runtime;
    return RequestRuntime::Unknown;
}

std::optional<RequestRuntime> runtime_from_user_agent(std::string_view ua) {
    if (ua.empty()) return std::nullopt;
    if (ua.starts_with(kSdkPrefix)) {
        const RequestRuntime runtime = sdk_runtime(ua.substr(kSdkPrefix.size()));
        if (runtime == RequestRuntime::Unknown) return std::nullopt;
        return runtime;
    }
    for (std::string_view browser : {"Mozilla/", "Chrome/", "Safari/", "Firefox/", "Edge/"})
        if (ua.find(browser) != std::string_view::npos) return RequestRuntime::Client;
    if (ua.find("python-requests/") != std::string_view::npos ||
        ua.find("curl/") != std::string_view::npos)
        return RequestRuntime::Server;
    return std::nullopt;
}

}  // namespace

RequestRuntime runtime_from_headers(const RuntimeHints& hints) {
    if (auto runtime = runtime_from_user_agent(hints.user_agent)) return *runtime;
    return hints.has_browser_headers ? RequestRuntime::Client : RequestRuntime::Unknown;
}

}  // namespace flag_eval::decide
