#include "decide/api/rate_limits.hpp"

#include <string>

namespace flag_eval::decide {
namespace {

namespace http = boost::beast::http;

Response too_many_requests(const Request& request, RateLimitKind kind,
                           std::chrono::seconds retry_after) {
    Response response = json_error_response(429, "validation_error", "rate_limit_exceeded",
                                            kind == RateLimitKind::address
                                                ? "rate limit exceeded for this client address"
                                                : "rate limit exceeded for this token",
                                            request.version());
    response.set(http::field::retry_after, std::to_string(retry_after.count()));
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    return response;
}

}  // namespace

RateLimits::RateLimits(const Config& config, const DefinitionsCache& cache, Metrics& metrics,
                       Now now)
    : cache_(cache),
      metrics_(metrics),
      now_(now ? std::move(now) : Now([] { return RateLimiter::Clock::now(); })),
      proxies_(config.trusted_proxies),
      per_address_(RateLimit{config.rate_limit_per_address, config.rate_limit_per_address_burst}),
      per_token_(RateLimit{config.rate_limit_per_token, config.rate_limit_per_token_burst}) {}

std::optional<Response> RateLimits::admit(RateLimiter& limiter, RateLimitKind kind,
                                          std::string_view key, const Request& request,
                                          RateLimitState& state) {
    const RateVerdict verdict = limiter.check(key, now_());
    switch (verdict.decision) {
        case RateDecision::Allowed: return std::nullopt;
        case RateDecision::Warned:
            state.warned = true;
            metrics_.record_rate_limit_warned(kind);
            return std::nullopt;
        case RateDecision::Limited: break;
    }
    metrics_.record_rate_limited(kind);
    return too_many_requests(request, kind, verdict.retry_after);
}

std::optional<Response> RateLimits::admit_address(const Request& request,
                                                  const boost::asio::ip::address& peer,
                                                  RateLimitState& state) {
    if (!per_address_.enabled()) return std::nullopt;
    return admit(per_address_, RateLimitKind::address,
                 address_key(proxies_.client_of(request, peer)), request, state);
}

std::optional<Response> RateLimits::admit_token(const Request& request, std::string_view token,
                                                RateLimitState& state) {
    if (!per_token_.enabled()) return std::nullopt;
    if (cache_.loaded() && !cache_.by_api_token(token)) return std::nullopt;
    return admit(per_token_, RateLimitKind::token, token, request, state);
}

void RateLimits::mark(const RateLimitState& state, Response& response) {
    if (state.warned && response.result_int() != 429) response.set(kRateLimitWarningHeader, "true");
}

std::optional<std::size_t> RateLimits::keys(RateLimitKind kind) const {
    const RateLimiter& limiter = kind == RateLimitKind::address ? per_address_ : per_token_;
    if (!limiter.enabled()) return std::nullopt;
    return limiter.keys();
}

}  // namespace flag_eval::decide
