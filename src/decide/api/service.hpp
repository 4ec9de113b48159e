// The decide service's HTTP surface: which path and method reach which endpoint, who may read
// them from a web page (CORS), which requests count against the rate limits, and the responses of
// the small endpoints (health, readiness, metrics, the definitions feed, remote config).
#pragma once
#include "decide/config.hpp"
#include "decide/definitions/definitions_cache.hpp"
#include "decide/api/cors_policy.hpp"
#include "decide/api/endpoints.hpp"
#include "decide/api/flags_endpoint.hpp"
#include "decide/api/rate_limits.hpp"
#include "decide/http/http_server.hpp"
#include "decide/metrics.hpp"
#include "decide/database/route_set.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <string>

namespace flag_eval::decide {

// On answers computed from the service's definitions: their age in seconds (DefinitionsFreshness).
inline constexpr std::string_view kDefinitionsAgeField = "X-Flag-Decide-Definitions-Age";

// handle() and add_cors_headers() may run on any event-loop thread, several at once: the
// definitions are an atomic snapshot, metrics and rate limits lock, and database work runs on the
// routes' executor.
class Service {
public:
    // `now` is the rate limits' clock (tests pass their own); default the steady clock.
    Service(const Config& config, DefinitionsCache& cache, RouteSet& routes, Metrics& metrics,
            RateLimits::Now now = {})
        : config_(config),
          cache_(cache),
          routes_(routes),
          metrics_(metrics),
          flags_(cache, routes, metrics, config.request_deadline, config.definitions_stale_after),
          cors_(config.cors_allowed_origins),
          rate_limits_(config, cache, metrics, std::move(now)) {}

    // Answers one request from `peer` (the TCP peer), labelled (kEndpointLabelField) with the
    // endpoint metrics count it under.
    boost::asio::awaitable<Response> handle(const Request& request,
                                            const boost::asio::ip::address& peer);

    // The CORS headers of a response to `request` (the handler's, or the HTTP server's own
    // error answer): on every endpoint web pages may read, none on the others.
    void add_cors_headers(const Request& request, Response& response) const;

    const RateLimits& rate_limits() const { return rate_limits_; }

private:
    boost::asio::awaitable<Response> route(const Request& request,
                                           const boost::asio::ip::address& peer,
                                           std::string& endpoint, RateLimitState& rate);
    boost::asio::awaitable<Response> flags(const Request& request, std::string_view compression,
                                           bool v2, RateLimitState& rate);
    Response remote_config(const Request& request, const EndpointRoute& target,
                           RateLimitState& rate);
    Response definitions(const Request& request, std::string_view token, RateLimitState& rate);
    Response readiness(const Request& request) const;
    boost::asio::awaitable<Response> metrics(const Request& request);

    const Config& config_;
    DefinitionsCache& cache_;
    RouteSet& routes_;
    Metrics& metrics_;
    FlagsEndpoint flags_;
    CorsPolicy cors_;
    RateLimits rate_limits_;
};

}  // namespace flag_eval::decide
