// The service's rate limits (docs/reference.md, Rate limits), so that a flood from one client
// address or one token leaves the others their answers:
//   - per client address (TrustedProxies decides the address): every request the handler gets
//     but the health checks, /metrics and CORS preflights, counted before its body is decoded
//     or parsed (the HTTP server's own 400/413/414/431 answers never reach it);
//   - per public token: /flags and /decide once the body names the token, remote config and the
//     definitions feed, all before any database work. Once definitions are loaded a token they
//     do not know gets its 401 from memory, so it is not counted and takes no memory here.
// Over a limit the request gets 429 in PostHog's shape with Retry-After; an answered request
// whose bucket is more than 80 % used carries X-PostHog-Rate-Limit-Warning: true, as PostHog's
// flags service sends it.
#pragma once

#include "decide/api/rate_limiter.hpp"
#include "decide/config.hpp"
#include "decide/definitions/definitions_cache.hpp"
#include "decide/http/client_address.hpp"
#include "decide/http/http_server.hpp"
#include "decide/metrics.hpp"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

namespace flag_eval::decide {

inline constexpr std::string_view kRateLimitWarningHeader = "X-PostHog-Rate-Limit-Warning";

// What one request met so far.
struct RateLimitState {
    bool warned = false;
};

// admit_*() may run on any event-loop thread, several at once.
class RateLimits {
public:
    using Now = std::function<RateLimiter::Clock::time_point()>;

    // `now` defaults to the steady clock.
    RateLimits(const Config& config, const DefinitionsCache& cache, Metrics& metrics, Now now = {});

    // The 429 to send, or nullopt to go on.
    std::optional<Response> admit_address(const Request& request,
                                          const boost::asio::ip::address& peer,
                                          RateLimitState& state);
    std::optional<Response> admit_token(const Request& request, std::string_view token,
                                        RateLimitState& state);

    // Adds the warning header to an answer of a request that met one.
    static void mark(const RateLimitState& state, Response& response);

    // Keys held by a limit, for /metrics; nullopt when the limit is off.
    std::optional<std::size_t> keys(RateLimitKind kind) const;

private:
    std::optional<Response> admit(RateLimiter& limiter, RateLimitKind kind, std::string_view key,
                                  const Request& request, RateLimitState& state);

    const DefinitionsCache& cache_;
    Metrics& metrics_;
    Now now_;
    TrustedProxies proxies_;
    RateLimiter per_address_;
    RateLimiter per_token_;
};

}  // namespace flag_eval::decide
