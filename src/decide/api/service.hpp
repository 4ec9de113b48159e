// The decide service's HTTP surface: which path and method reach which endpoint, and the
// responses of the small endpoints (health, readiness, metrics, the definitions feed).
#pragma once
#include "decide/config.hpp"
#include "decide/definitions/definitions_cache.hpp"
#include "decide/api/flags_endpoint.hpp"
#include "decide/http/http_server.hpp"
#include "decide/metrics.hpp"
#include "decide/database/route_set.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace flag_eval::decide {

class Service {
public:
    Service(const Config& config, DefinitionsCache& cache, RouteSet& routes, Metrics& metrics)
        : config_(config),
          cache_(cache),
          routes_(routes),
          metrics_(metrics),
          flags_(cache, routes, metrics, config.request_deadline) {}

    // Answers one request, labelled (kEndpointLabelField) with the endpoint metrics count it under.
    boost::asio::awaitable<Response> handle(const Request& request);

private:
    boost::asio::awaitable<Response> route(const Request& request, std::string& endpoint);
    boost::asio::awaitable<Response> flags(const Request& request, std::string_view compression,
                                           bool v2);
    Response definitions(const Request& request, std::string_view token);
    Response readiness(const Request& request) const;

    const Config& config_;
    DefinitionsCache& cache_;
    RouteSet& routes_;
    Metrics& metrics_;
    FlagsEndpoint flags_;
};

}  // namespace flag_eval::decide
