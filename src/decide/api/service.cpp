#include "decide/api/service.hpp"

#include "decide/api/answer_shapes.hpp"
#include "decide/api/decide_request.hpp"
#include "decide/api/remote_config.hpp"
#include "decide/api/request_runtime.hpp"
#include "decide/http/request_body.hpp"
#include "decide/definitions/sdk_feed.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>

namespace flag_eval::decide {
namespace {

namespace http = boost::beast::http;

Response text_response(const Request& request, http::status status, std::string body,
                       std::string_view content_type) {
    Response response{status, request.version()};
    response.set(http::field::content_type, content_type);
    response.body() = std::move(body);
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    return response;
}

Response json_response(const Request& request, http::status status, std::string body) {
    return text_response(request, status, std::move(body), "application/json");
}

// The age of the definitions an answer comes from, in seconds; nothing when it is not known.
void add_definitions_age(Response& response,
                         const std::optional<std::chrono::system_clock::duration>& age) {
    if (!age) return;
    char seconds[32];  // "%.3f", without printf's cost on every answer
    const auto written =
        std::to_chars(seconds, seconds + sizeof seconds,
                      std::chrono::duration<double>(*age).count(), std::chars_format::fixed, 3);
    response.set(kDefinitionsAgeField, std::string_view(seconds, written.ptr - seconds));
}

Response error_response(const Request& request, unsigned status, std::string_view detail) {
    std::string_view type = "validation_error", code = "invalid_input";
    if (status == 401) type = "authentication_error", code = "invalid_api_key";
    if (status == 403) type = "authentication_error", code = "origin_not_allowed";
    if (status == 404) code = "not_found";
    if (status == 405) code = "method_not_allowed";
    if (status == 413) code = "payload_too_large";
    if (status == 503) type = "server_error", code = "unavailable";
    Response response = json_error_response(status, type, code, detail, request.version());
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    return response;
}

// A version-4 UUID: PostHog's requestId has this form. Written digit by digit: snprintf was a
// visible share of an answer's cost.
std::string new_request_id() {
    thread_local std::mt19937_64 random{std::random_device{}()};
    std::uint64_t high = random(), low = random();
    high = (high & ~0xf000ULL) | 0x4000ULL;                // version 4
    low = (low & ~(0xc000ULL << 48)) | (0x8000ULL << 48);  // variant 10xx
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text(36, '-');
    std::size_t at = 0;
    const auto put = [&](std::uint64_t bits, int digits) {
        for (int i = digits - 1; i >= 0; --i) text[at++] = kHex[(bits >> (4 * i)) & 0xf];
    };
    put(high >> 32, 8);
    ++at;
    put(high >> 16, 4);
    ++at;
    put(high, 4);
    ++at;
    put(low >> 48, 4);
    ++at;
    put(low, 12);
    return text;
}

// Compares secrets in time independent of where they differ (their length is not secret).
bool same_secret(std::string_view given, std::string_view expected) {
    if (given.size() != expected.size() || expected.empty()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < given.size(); ++i)
        diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
    return diff == 0;
}

RuntimeHints runtime_hints(const Request& request) {
    RuntimeHints hints;
    hints.user_agent = header_value(request, http::field::user_agent);
    hints.has_browser_headers = request.count(http::field::origin) ||
                                request.count(http::field::referer) ||
                                request.count("Sec-Fetch-Mode") || request.count("Sec-Fetch-Site");
    return hints;
}

constexpr std::string_view kNotAnEventSink =
    "flag-decide answers feature flags only and keeps no events: send events to PostHog "
    "(posthog-js: api_host) and flags here (flags_api_host), or turn capturing off "
    "(opt_out_capturing_by_default); see docs/web.md";

// The value of query parameter `name` ("" when absent), percent-decoded.
std::string query_param(const boost::urls::url_view& url, std::string_view name) {
    auto it = url.params().find(name);
    return it == url.params().end() ? std::string{} : std::string((*it).value);
}

}  // namespace

boost::asio::awaitable<Response> Service::handle(const Request& request,
                                                 const boost::asio::ip::address& peer) {
    std::string endpoint = "other";
    RateLimitState rate;
    Response response = co_await route(request, peer, endpoint, rate);
    RateLimits::mark(rate, response);
    response.set(kEndpointLabelField, endpoint);
    co_return response;
}

boost::asio::awaitable<Response> Service::route(const Request& request,
                                                const boost::asio::ip::address& peer,
                                                std::string& endpoint, RateLimitState& rate) {
    auto parsed = boost::urls::parse_origin_form(request.target());
    if (!parsed) {
        co_return error_response(request, 400, "malformed request target");
    }
    const boost::urls::url_view url = *parsed;
    const EndpointRoute target = endpoint_of(url.encoded_path());
    endpoint = std::string(endpoint_label(target.endpoint));
    const bool get = request.method() == http::verb::get,
               post = request.method() == http::verb::post;

    // A browser asks before a request it may not send simply (not counted: a refused
    // preflight reads to posthog-js as a network failure); a page of an origin not allowed is
    // refused before anything is evaluated or written.
    const bool public_endpoint = readable_cross_origin(target.endpoint);
    if (public_endpoint && request.method() == http::verb::options)
        co_return cors_.preflight(request);
    // Every request counts against its address, before its body is decoded, but the operator's.
    if (target.endpoint != Endpoint::Healthz && target.endpoint != Endpoint::Readyz &&
        target.endpoint != Endpoint::Metrics) {
        if (auto refused = rate_limits_.admit_address(request, peer, rate))
            co_return std::move(*refused);
    }
    if (public_endpoint && !cors_.allows(header_value(request, http::field::origin)))
        co_return error_response(request, 403, kOriginNotAllowed);

    switch (target.endpoint) {
        case Endpoint::Flags:
        case Endpoint::Decide: {
            if (!post) co_return error_response(request, 405, "use POST");
            const std::string version = query_param(url, "v");
            // /flags: v=2 is the flags shape, anything else v1. /decide: v=4 and up the flags
            // shape.
            const bool v2 = target.endpoint == Endpoint::Flags
                                ? version == "2"
                                : (!version.empty() && std::atoi(version.c_str()) >= 4);
            const std::string compression =
                query_param(url, "compression");  // a named local: see flags_endpoint.cpp
            co_return co_await flags(request, compression, v2, rate);
        }
        case Endpoint::RemoteConfig:
        case Endpoint::RemoteConfigScript:
            if (!get) co_return error_response(request, 405, "use GET");
            co_return remote_config(request, target, rate);
        case Endpoint::Events: co_return error_response(request, 404, kNotAnEventSink);
        case Endpoint::Definitions:
            if (!get) co_return error_response(request, 405, "use GET");
            co_return definitions(request, query_param(url, "token"), rate);
        case Endpoint::Healthz:
        case Endpoint::Readyz:
        case Endpoint::Metrics:
            if (!get && request.method() != http::verb::head)
                co_return error_response(request, 405, "use GET");
            if (target.endpoint == Endpoint::Healthz)
                co_return json_response(request, http::status::ok, R"({"status":"ok"})");
            if (target.endpoint == Endpoint::Readyz) co_return readiness(request);
            co_return co_await metrics(request);
        case Endpoint::Unknown: break;
    }
    co_return error_response(request, 404, "no such endpoint");
}

void Service::add_cors_headers(const Request& request, Response& response) const {
    // A target too long or too malformed to read names no secret endpoint: its error is public.
    auto parsed = boost::urls::parse_origin_form(request.target());
    if (!parsed || readable_cross_origin(endpoint_of(parsed->encoded_path()).endpoint))
        cors_.decorate(request, response);
}

Response Service::remote_config(const Request& request, const EndpointRoute& target,
                                RateLimitState& rate) {
    if (!is_public_token(target.token))
        return error_response(request, 400, "invalid token in the remote config path");
    if (auto refused = rate_limits_.admit_token(request, target.token, rate))
        return std::move(*refused);
    const auto team = cache_.by_api_token(target.token);
    if (!team && cache_.loaded()) return error_response(request, 404, "invalid API token");
    // Without definitions yet, flags may still come from the database: say there are some.
    const bool has_flags = !team || has_active_flags(team->flags);
    const std::string config = remote_config_json(target.token, has_flags);
    Response response =
        target.endpoint == Endpoint::RemoteConfigScript
            ? text_response(request, http::status::ok, remote_config_script(target.token, config),
                            "application/javascript")
            : json_response(request, http::status::ok, config);
    response.set(http::field::cache_control, "public, max-age=60");
    return response;
}

boost::asio::awaitable<Response> Service::flags(const Request& request,
                                                std::string_view compression, bool v2,
                                                RateLimitState& rate) {
    auto body = decode_body(request.body(), header_value(request, http::field::content_encoding),
                            header_value(request, http::field::content_type), compression,
                            config_.max_body_bytes);
    if (auto* error = std::get_if<BodyError>(&body))
        co_return error_response(request, error->status, error->message);
    auto parsed = parse_decide_request(std::get<std::string>(body));
    if (auto* error = std::get_if<RequestError>(&parsed))
        co_return error_response(request, error->status, error->message);
    DecideRequest& decide_request = std::get<DecideRequest>(parsed);
    // Before any database work.
    if (auto refused = rate_limits_.admit_token(request, decide_request.token, rate))
        co_return std::move(*refused);
    if (!decide_request.runtime_declared)
        decide_request.scope.runtime = runtime_from_headers(runtime_hints(request));

    auto result = co_await flags_.answer(decide_request);
    if (auto* failure = std::get_if<FlagsFailure>(&result))
        co_return error_response(request, failure->status, failure->message);
    const Answer& answer = std::get<Answer>(result);
    const std::string request_id = new_request_id();
    // posthog-node reports evaluatedAt with its $feature_flag_called events.
    const auto evaluated_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    Response response = json_response(
        request, http::status::ok,
        v2 ? flags_v2_body(answer, request_id, evaluated_at) : flags_v1_body(answer, request_id));
    add_definitions_age(response, answer.definitions_age);
    co_return response;
}

Response Service::definitions(const Request& request, std::string_view token,
                              RateLimitState& rate) {
    if (!cache_.loaded())
        return error_response(request, 503, "flag definitions are not loaded yet");
    if (auto refused = rate_limits_.admit_token(request, token, rate)) return std::move(*refused);
    std::string_view authorization = header_value(request, http::field::authorization);
    constexpr std::string_view kBearer = "Bearer ";
    const std::string_view secret = authorization.starts_with(kBearer)
                                        ? authorization.substr(kBearer.size())
                                        : std::string_view{};
    const auto team = cache_.by_api_token(token);
    if (!team || !same_secret(secret, team->secret_token))
        return error_response(request, 401,
                              "the definitions feed needs ?token=<public token> and Authorization: "
                              "Bearer <secret token>");
    if (etag_matches(header_value(request, http::field::if_none_match), team->sdk_feed_etag)) {
        Response response{http::status::not_modified, request.version()};
        response.set(http::field::etag, team->sdk_feed_etag);
        response.keep_alive(request.keep_alive());
        add_definitions_age(response, cache_.freshness().age(std::chrono::system_clock::now()));
        return response;
    }
    Response response = json_response(request, http::status::ok, team->sdk_feed_body);
    response.set(http::field::etag, team->sdk_feed_etag);
    add_definitions_age(response, cache_.freshness().age(std::chrono::system_clock::now()));
    return response;
}

boost::asio::awaitable<Response> Service::metrics(const Request& request) {
    // The route gauges are read where the routes live.
    auto rendered = boost::asio::co_spawn(
        routes_.executor(),
        [this]() -> boost::asio::awaitable<std::string> { co_return metrics_.render(); },
        boost::asio::use_awaitable);
    std::string text = co_await std::move(rendered);
    co_return text_response(request, http::status::ok, std::move(text), Metrics::kContentType);
}

Response Service::readiness(const Request& request) const {
    if (!cache_.loaded())
        return error_response(request, 503, "flag definitions are not loaded yet");
    return json_response(request, http::status::ok, R"({"status":"ready"})");
}

}  // namespace flag_eval::decide
