#include "decide/api/cors_policy.hpp"

#include "core/ascii_case.hpp"
#include "decide/api/rate_limits.hpp"

#include <algorithm>
#include <cctype>

namespace flag_eval::decide {
namespace {

namespace http = boost::beast::http;

// Chromium caps a preflight's cache at two hours; longer would only look like a promise.
constexpr std::string_view kPreflightMaxAge = "7200";
constexpr std::string_view kAllowedMethods = "GET, POST, OPTIONS";

// A comma-separated list of header names (RFC 9110 tokens), as a preflight asks for them.
bool is_header_name_list(std::string_view list) {
    for (char c : list) {
        const auto u = static_cast<unsigned char>(c);
        if (!std::isalnum(u) &&
            std::string_view("!#$%&'*+-.^_`|~, ").find(c) == std::string_view::npos)
            return false;
    }
    return true;
}

}  // namespace

std::string origin_problem(std::string_view origin) {
    if (origin == "*") return {};
    std::string_view rest;
    if (origin.starts_with("https://"))
        rest = origin.substr(8);
    else if (origin.starts_with("http://"))
        rest = origin.substr(7);
    else
        return "must be \"*\" or start with http:// or https://";
    if (rest.empty()) return "has no host";
    for (char c : rest)
        if (c == '/' || c == '?' || c == '#' || c == '@' ||
            std::isspace(static_cast<unsigned char>(c)))
            return "must be scheme://host[:port] alone, as a browser sends it in Origin (no path, "
                   "no trailing slash)";
    return {};
}

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins) {
    for (const std::string& origin : allowed_origins) {
        if (origin == "*")
            any_origin_ = true;
        else
            origins_.push_back(ascii_lowered(origin));
    }
}

bool CorsPolicy::allows(std::string_view origin) const {
    if (origin.empty() || any_origin_) return true;
    const std::string wanted = ascii_lowered(origin);
    return std::find(origins_.begin(), origins_.end(), wanted) != origins_.end();
}

void CorsPolicy::decorate(const Request& request, Response& response) const {
    // A page's script reads only the safelisted response headers unless told otherwise.
    const bool retry_after = response.count(http::field::retry_after) > 0,
               warning = response.count(kRateLimitWarningHeader) > 0;
    if (retry_after || warning)
        response.set(http::field::access_control_expose_headers,
                     retry_after && warning ? "Retry-After, X-PostHog-Rate-Limit-Warning"
                     : retry_after          ? "Retry-After"
                                            : "X-PostHog-Rate-Limit-Warning");
    if (any_origin_) {
        response.set(http::field::access_control_allow_origin, "*");
        return;
    }
    // A cache must not hand one origin's answer to another.
    response.set(http::field::vary, "Origin");
    const std::string_view origin = header_value(request, http::field::origin);
    if (!origin.empty() && allows(origin))
        response.set(http::field::access_control_allow_origin, origin);
}

Response CorsPolicy::preflight(const Request& request) const {
    const std::string_view origin = header_value(request, http::field::origin);
    const std::string_view asked_headers =
        header_value(request, http::field::access_control_request_headers);
    Response response{http::status::no_content, request.version()};
    if (!allows(origin)) {
        response = json_error_response(403, "authentication_error", "origin_not_allowed",
                                       kOriginNotAllowed, request.version());
    } else if (!is_header_name_list(asked_headers)) {
        response = json_error_response(400, "validation_error", "invalid_input",
                                       "Access-Control-Request-Headers is not a list of header "
                                       "names",
                                       request.version());
    } else {
        response.set(http::field::access_control_allow_methods, kAllowedMethods);
        if (!asked_headers.empty())
            response.set(http::field::access_control_allow_headers, asked_headers);
        response.set(http::field::access_control_max_age, kPreflightMaxAge);
    }
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    return response;
}

}  // namespace flag_eval::decide
