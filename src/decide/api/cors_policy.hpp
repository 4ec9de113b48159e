// Which web pages may read flag-decide's answers (docs/web.md, CORS). posthog-js in a browser
// calls the public-token endpoints from the customer's origin; the browser hands it the answer
// only when the response names that origin (or *). Credentials are never allowed: the token is in
// the body and flag-decide sets no cookies, so no answer may depend on the browser's cookies.
#pragma once

#include "decide/http/http_server.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

inline constexpr std::string_view kOriginNotAllowed =
    "this origin may not call flag-decide (cors_allowed_origins)";

class CorsPolicy {
public:
    // `allowed_origins`: "*" for any origin (the default, as PostHog's public endpoints), else
    // exact origins ("https://app.example.com"); empty: no cross-origin reader at all.
    explicit CorsPolicy(std::vector<std::string> allowed_origins);

    // Whether a request carrying this Origin header may be answered. Without one (a server, or
    // a browser's same-origin GET) always; browsers send Origin with every POST, same-origin
    // ones included, so a list must name the origin of any page that calls the service.
    bool allows(std::string_view origin) const;

    // Adds Access-Control-Allow-Origin (and Vary: Origin when the answer depends on it) to the
    // response of a public endpoint, and Access-Control-Expose-Headers for the rate limits'
    // Retry-After and X-PostHog-Rate-Limit-Warning when it carries them.
    void decorate(const Request& request, Response& response) const;

    // The answer to a preflight (OPTIONS) of a public endpoint: 204 with the methods and headers
    // allowed, cached by the browser for two hours; 403 for an origin not allowed, 400 for
    // requested headers that are not header names.
    Response preflight(const Request& request) const;

private:
    bool any_origin_ = false;
    std::vector<std::string> origins_;  // lowercase
};

// Checks one configured origin: "*", or scheme://host[:port] with scheme http or https and
// nothing after. Returns an error message, empty when the origin is well formed.
std::string origin_problem(std::string_view origin);

}  // namespace flag_eval::decide
