// The service's Prometheus metrics, rendered in the text exposition format 0.0.4 for
// GET /metrics. Counters and the latency histogram are recorded as requests happen; the per-route
// and definitions gauges are read at render time from a callback the service installs, so the
// numbers shown are always the current ones rather than copies that can go stale.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

// Where one flag's answer came from: computed in the service, read from a database, or not
// computable (the answer says failed: true).
enum class FlagSource { local, database, failed };

// Which rate limit a request met (rate_limits.hpp).
enum class RateLimitKind { address, token };

struct RouteGauge {
    std::string route;                  // configured route name
    std::string role;                   // pooler | replica | primary
    bool up = false;                    // last probe or query succeeded
    std::optional<double> lag_seconds;  // replication lag; unknown (or a primary): omitted
    bool breaker_open = false;          // requests skip this route
    // Requests' queries sent on the route: first tries, retries after a failure elsewhere,
    // hedges beside a slow attempt elsewhere.
    std::uint64_t first_attempts = 0;
    std::uint64_t retries = 0;
    std::uint64_t hedges = 0;
    // Statements that carried several of those queries at once, and how many they carried.
    std::uint64_t batches = 0;
    std::uint64_t batched_queries = 0;
};

struct ServiceGauges {
    std::vector<RouteGauge> routes;
    std::optional<std::int64_t> definitions_version;  // omitted until definitions are loaded
    std::optional<double> definitions_age_seconds;    // omitted until first confirmed current
    bool definitions_loaded = false;
    std::optional<std::uint64_t> open_connections;  // HttpServer::open_connections()
    // Keys each rate limit holds (RateLimits::keys()); omitted when the limit is off.
    std::optional<std::uint64_t> address_rate_limit_keys;
    std::optional<std::uint64_t> token_rate_limit_keys;
};

class Metrics {
public:
    // Upper bounds (seconds) of the request latency histogram: the 50 ms database deadline sits
    // in the middle, so both fast local answers and deadline-bound ones are resolved.
    static constexpr std::array<double, 12> kLatencyBuckets = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0};

    // The Content-Type GET /metrics answers with.
    static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

    void record_request(std::string_view endpoint, unsigned status,
                        std::chrono::nanoseconds latency);
    void record_degraded_answer();
    void record_flags_evaluated(FlagSource source, std::uint64_t count = 1);
    // A connection accepted beyond the configured maximum and closed at once.
    void record_connection_rejected();
    // A request answered 429 by a rate limit; one that left more than 80 % of its burst used.
    void record_rate_limited(RateLimitKind kind);
    void record_rate_limit_warned(RateLimitKind kind);

    // Called by render(); must be callable from the thread that renders.
    void set_gauge_source(std::function<ServiceGauges()> source);

    // The whole exposition, one # HELP and # TYPE per family, families in a fixed order.
    std::string render() const;

    // Read-backs for tests and health checks.
    std::uint64_t requests_total(std::string_view endpoint, unsigned status) const;
    std::uint64_t degraded_answers_total() const;
    std::uint64_t flags_evaluated_total(FlagSource source) const;
    std::uint64_t connections_rejected_total() const;
    std::uint64_t rate_limited_total(RateLimitKind kind) const;
    std::uint64_t rate_limit_warned_total(RateLimitKind kind) const;

private:
    struct Histogram {
        std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};  // not cumulative
        std::uint64_t count = 0;
        double sum_seconds = 0;
    };

    // Every event-loop thread records; renders and read-backs come from any thread. The counters
    // each answer adds to are atomics (relaxed: each is a count on its own), the rest is under
    // the lock, taken once per request.
    mutable std::mutex mutex_;
    std::map<std::string, std::map<unsigned, std::uint64_t>, std::less<>>
        requests_;  // endpoint, status
    std::map<std::string, Histogram, std::less<>> durations_;
    std::atomic<std::uint64_t> degraded_answers_{0};
    std::array<std::atomic<std::uint64_t>, 3> flags_evaluated_{};
    std::uint64_t connections_rejected_ = 0;
    std::array<std::uint64_t, 2> rate_limited_{};
    std::array<std::uint64_t, 2> rate_limit_warned_{};
    std::function<ServiceGauges()> gauge_source_;
};

// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

}  // namespace flag_eval::decide
