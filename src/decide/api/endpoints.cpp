#include "decide/api/endpoints.hpp"

#include <array>

namespace flag_eval::decide {
namespace {

// PostHog's capture service paths (events, batches, recordings, AI events).
constexpr std::array<std::string_view, 8> kEventPaths{"/e",     "/i/v0/e", "/batch", "/capture",
                                                      "/track", "/engage", "/s",     "/i/v0/ai"};

constexpr std::string_view kArrayPrefix = "/array/";

}  // namespace

EndpointRoute endpoint_of(std::string_view path) {
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (path == "/flags") return {Endpoint::Flags, {}};
    if (path == "/decide") return {Endpoint::Decide, {}};
    if (path == "/flags/definitions" || path == "/api/feature_flag/local_evaluation")
        return {Endpoint::Definitions, {}};
    if (path == "/healthz") return {Endpoint::Healthz, {}};
    if (path == "/readyz") return {Endpoint::Readyz, {}};
    if (path == "/metrics") return {Endpoint::Metrics, {}};
    for (std::string_view events : kEventPaths)
        if (path == events) return {Endpoint::Events, {}};
    if (path.starts_with(kArrayPrefix)) {
        const std::string_view rest = path.substr(kArrayPrefix.size());
        const auto slash = rest.find('/');
        if (slash != std::string_view::npos && slash > 0) {
            const std::string_view file = rest.substr(slash + 1);
            if (file == "config")
                return {Endpoint::RemoteConfig, std::string(rest.substr(0, slash))};
            if (file == "config.js")
                return {Endpoint::RemoteConfigScript, std::string(rest.substr(0, slash))};
        }
    }
    return {Endpoint::Unknown, {}};
}

std::string_view endpoint_label(Endpoint endpoint) {
    switch (endpoint) {
        case Endpoint::Flags: return "flags";
        case Endpoint::Decide: return "decide";
        case Endpoint::RemoteConfig:
        case Endpoint::RemoteConfigScript: return "remote_config";
        case Endpoint::Events: return "events";
        case Endpoint::Definitions: return "definitions";
        case Endpoint::Healthz: return "healthz";
        case Endpoint::Readyz: return "readyz";
        case Endpoint::Metrics: return "metrics";
        case Endpoint::Unknown: return "other";
    }
    return "other";
}

bool readable_cross_origin(Endpoint endpoint) {
    switch (endpoint) {
        case Endpoint::Definitions:
        case Endpoint::Healthz:
        case Endpoint::Readyz:
        case Endpoint::Metrics: return false;
        default: return true;
    }
}

}  // namespace flag_eval::decide
