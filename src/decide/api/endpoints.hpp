// Which endpoint a request path names (docs/reference.md, Decide protocol). A trailing '/' is
// ignored, as PostHog's paths are written both ways.
#pragma once

#include <string>
#include <string_view>

namespace flag_eval::decide {

enum class Endpoint {
    Flags,               // /flags
    Decide,              // /decide
    RemoteConfig,        // /array/<token>/config: posthog-js's remote config
    RemoteConfigScript,  // /array/<token>/config.js: the same, as a script
    Events,              // /e, /i/v0/e, /batch, ...: PostHog's capture paths, not served here
    Definitions,         // /flags/definitions, /api/feature_flag/local_evaluation: the SDK feed
    Healthz,
    Readyz,
    Metrics,
    Unknown,
};

struct EndpointRoute {
    Endpoint endpoint = Endpoint::Unknown;
    std::string token;  // the remote config paths' token
};

EndpointRoute endpoint_of(std::string_view path);

// The name requests count under in the metrics.
std::string_view endpoint_label(Endpoint endpoint);

// Whether web pages of other origins may read the endpoint's answers: what posthog-js calls
// with the public token, and the 404s of paths it may try. Never the feed (secret token), the
// metrics or the health checks.
bool readable_cross_origin(Endpoint endpoint);

}  // namespace flag_eval::decide
