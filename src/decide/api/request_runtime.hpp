// The runtime of a /flags request that declares none, inferred from its headers as PostHog's
// /flags does (docs/reference.md, Evaluation runtime and contexts). It decides which flags with an
// evaluation_runtime the request is answered.
#pragma once

#include "core/request_scope.hpp"

#include <string_view>

namespace flag_eval::decide {

// What of a request's headers the inference reads.
struct RuntimeHints {
    std::string_view user_agent;       // empty: none
    bool has_browser_headers = false;  // any of Origin, Referer, Sec-Fetch-Mode, Sec-Fetch-Site
};

// A PostHog SDK's User-Agent ("posthog-<sdk>/<version>") names its runtime; a browser's means
// client, curl's and python-requests' mean server; failing those, a header only browsers send
// means client; otherwise the runtime is unknown.
RequestRuntime runtime_from_headers(const RuntimeHints& hints);

}  // namespace flag_eval::decide
