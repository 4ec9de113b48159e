// posthog-js's remote config (GET /array/<token>/config and config.js), as a flags-only service
// answers it (docs/web.md): flags on when the team has any, and every feature flag-decide does
// not serve (recordings, surveys, heatmaps, autocapture, ...) off, so posthog-js asks for nothing
// else. The body is gzip-capable: posthog-js then sends /flags bodies gzipped.
#pragma once

#include "core/flag_set.hpp"

#include <string>
#include <string_view>

namespace flag_eval::decide {

// A token as PostHog accepts it in these paths: 1 to 200 of [A-Za-z0-9_-].
bool is_public_token(std::string_view token);

// Whether any live flag is active: posthog-js skips the first /flags request when none is.
bool has_active_flags(const FlagSet& flags);

// The config JSON for `token` (a public token: is_public_token).
std::string remote_config_json(std::string_view token, bool has_feature_flags);

// config.js: the script posthog-js loads first; it stores the same config where posthog-js
// looks for it, window._POSTHOG_REMOTE_CONFIG[token].
std::string remote_config_script(std::string_view token, std::string_view config_json);

}  // namespace flag_eval::decide
