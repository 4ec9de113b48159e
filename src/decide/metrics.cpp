#include "decide/metrics.hpp"

#include <charconv>
#include <cmath>

namespace flag_eval::decide {

namespace {

constexpr std::array<std::string_view, 3> kFlagSourceNames = {"local", "database", "failed"};

constexpr std::array<std::string_view, 2> kRateLimitNames = {"address", "token"};

std::size_t index_of(FlagSource source) { return static_cast<std::size_t>(source); }
std::size_t index_of(RateLimitKind kind) { return static_cast<std::size_t>(kind); }

// Shortest text that reads back as the same double, in plain notation where %g would use it
// (bucket bounds read 0.0005, not 5e-04); Prometheus spells infinities +Inf/-Inf.
void append_number(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char text[32];
    auto [end, ec] =
        std::to_chars(std::begin(text), std::end(text), value, std::chars_format::general);
    out.append(text, ec == std::errc{} ? end : text);
}

void append_number(std::string& out, std::uint64_t value) { out += std::to_string(value); }
void append_number(std::string& out, std::int64_t value) { out += std::to_string(value); }

void append_family(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// name{k1="v1",k2="v2"} value
template <typename Number>
void append_sample(std::string& out, std::string_view name,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                   Number value) {
    out.append(name);
    if (labels.size() > 0) {
        out += '{';
        bool first = true;
        for (const auto& [key, label_value] : labels) {
            if (!first) out += ',';
            first = false;
            out.append(key).append("=\"").append(escape_label_value(label_value)).append("\"");
        }
        out += '}';
    }
    out += ' ';
    append_number(out, value);
    out += '\n';
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string escaped;
    escaped.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\': escaped += "\\\\"; break;
            case '"': escaped += "\\\""; break;
            case '\n': escaped += "\\n"; break;
            default: escaped += c;
        }
    }
    return escaped;
}

void Metrics::record_request(std::string_view endpoint, unsigned status,
                             std::chrono::nanoseconds latency) {
    const double seconds = std::chrono::duration<double>(latency).count();
    std::lock_guard lock(mutex_);
    auto by_status = requests_.find(endpoint);
    if (by_status == requests_.end()) {
        by_status = requests_.emplace(endpoint, std::map<unsigned, std::uint64_t>{}).first;
    }
    ++by_status->second[status];

    auto histogram = durations_.find(endpoint);
    if (histogram == durations_.end()) histogram = durations_.emplace(endpoint, Histogram{}).first;
    Histogram& h = histogram->second;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        if (seconds <= kLatencyBuckets[i]) {
            ++h.buckets[i];
            break;
        }
    }
    ++h.count;
    h.sum_seconds += seconds;
}

void Metrics::record_degraded_answer() {
    degraded_answers_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::record_flags_evaluated(FlagSource source, std::uint64_t count) {
    if (count) flags_evaluated_[index_of(source)].fetch_add(count, std::memory_order_relaxed);
}

void Metrics::record_connection_rejected() {
    std::lock_guard lock(mutex_);
    ++connections_rejected_;
}

void Metrics::record_rate_limited(RateLimitKind kind) {
    std::lock_guard lock(mutex_);
    ++rate_limited_[index_of(kind)];
}

void Metrics::record_rate_limit_warned(RateLimitKind kind) {
    std::lock_guard lock(mutex_);
    ++rate_limit_warned_[index_of(kind)];
}

void Metrics::set_gauge_source(std::function<ServiceGauges()> source) {
    std::lock_guard lock(mutex_);
    gauge_source_ = std::move(source);
}

std::uint64_t Metrics::requests_total(std::string_view endpoint, unsigned status) const {
    std::lock_guard lock(mutex_);
    auto by_status = requests_.find(endpoint);
    if (by_status == requests_.end()) return 0;
    auto count = by_status->second.find(status);
    return count == by_status->second.end() ? 0 : count->second;
}

std::uint64_t Metrics::degraded_answers_total() const {
    return degraded_answers_.load(std::memory_order_relaxed);
}

std::uint64_t Metrics::flags_evaluated_total(FlagSource source) const {
    return flags_evaluated_[index_of(source)].load(std::memory_order_relaxed);
}

std::uint64_t Metrics::connections_rejected_total() const {
    std::lock_guard lock(mutex_);
    return connections_rejected_;
}

std::uint64_t Metrics::rate_limited_total(RateLimitKind kind) const {
    std::lock_guard lock(mutex_);
    return rate_limited_[index_of(kind)];
}

std::uint64_t Metrics::rate_limit_warned_total(RateLimitKind kind) const {
    std::lock_guard lock(mutex_);
    return rate_limit_warned_[index_of(kind)];
}

std::string Metrics::render() const {
    // The gauge callback runs outside the lock: it may well read these metrics itself.
    std::function<ServiceGauges()> source;
    {
        std::lock_guard lock(mutex_);
        source = gauge_source_;
    }
    const ServiceGauges gauges = source ? source() : ServiceGauges{};

    std::string out;
    out.reserve(4096);
    std::lock_guard lock(mutex_);

    append_family(out, "flag_decide_requests_total", "counter",
                  "HTTP requests answered, by endpoint and status code.");
    for (const auto& [endpoint, by_status] : requests_) {
        for (const auto& [status, count] : by_status) {
            const std::string status_text = std::to_string(status);
            append_sample(out, "flag_decide_requests_total",
                          {{"endpoint", endpoint}, {"status", status_text}}, count);
        }
    }

    append_family(out, "flag_decide_request_duration_seconds", "histogram",
                  "Time from a request's headers to its response written, by endpoint.");
    for (const auto& [endpoint, h] : durations_) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
            cumulative += h.buckets[i];
            std::string le;
            append_number(le, kLatencyBuckets[i]);
            append_sample(out, "flag_decide_request_duration_seconds_bucket",
                          {{"endpoint", endpoint}, {"le", le}}, cumulative);
        }
        append_sample(out, "flag_decide_request_duration_seconds_bucket",
                      {{"endpoint", endpoint}, {"le", "+Inf"}}, h.count);
        append_sample(out, "flag_decide_request_duration_seconds_sum", {{"endpoint", endpoint}},
                      h.sum_seconds);
        append_sample(out, "flag_decide_request_duration_seconds_count", {{"endpoint", endpoint}},
                      h.count);
    }

    append_family(
        out, "flag_decide_degraded_answers_total", "counter",
        "Answers with errorsWhileComputingFlags set because stored data could not be read.");
    append_sample(out, "flag_decide_degraded_answers_total", {},
                  degraded_answers_.load(std::memory_order_relaxed));

    append_family(
        out, "flag_decide_flags_evaluated_total", "counter",
        "Flag answers by where they came from: local (in the service), database, failed.");
    for (std::size_t i = 0; i < kFlagSourceNames.size(); ++i) {
        append_sample(out, "flag_decide_flags_evaluated_total", {{"source", kFlagSourceNames[i]}},
                      flags_evaluated_[i].load(std::memory_order_relaxed));
    }

    append_family(out, "flag_decide_connections_rejected_total", "counter",
                  "Connections closed on accept because the connection limit was reached.");
    append_sample(out, "flag_decide_connections_rejected_total", {}, connections_rejected_);

    append_family(out, "flag_decide_rate_limited_total", "counter",
                  "Requests answered 429 by a rate limit: per client address or per token.");
    for (std::size_t i = 0; i < kRateLimitNames.size(); ++i) {
        append_sample(out, "flag_decide_rate_limited_total", {{"limit", kRateLimitNames[i]}},
                      rate_limited_[i]);
    }
    append_family(out, "flag_decide_rate_limit_warned_total", "counter",
                  "Requests that left more than 80 % of a rate limit's burst used; answered, "
                  "they carry X-PostHog-Rate-Limit-Warning.");
    for (std::size_t i = 0; i < kRateLimitNames.size(); ++i) {
        append_sample(out, "flag_decide_rate_limit_warned_total", {{"limit", kRateLimitNames[i]}},
                      rate_limit_warned_[i]);
    }
    append_family(out, "flag_decide_rate_limit_keys", "gauge",
                  "Client addresses or tokens a rate limit holds a bucket for now; absent when "
                  "the limit is off.");
    if (gauges.address_rate_limit_keys) {
        append_sample(out, "flag_decide_rate_limit_keys", {{"limit", "address"}},
                      *gauges.address_rate_limit_keys);
    }
    if (gauges.token_rate_limit_keys) {
        append_sample(out, "flag_decide_rate_limit_keys", {{"limit", "token"}},
                      *gauges.token_rate_limit_keys);
    }

    append_family(out, "flag_decide_open_connections", "gauge", "Client connections open now.");
    if (gauges.open_connections) {
        append_sample(out, "flag_decide_open_connections", {}, *gauges.open_connections);
    }

    append_family(out, "flag_decide_route_up", "gauge",
                  "1 when the route's last probe or query succeeded, else 0.");
    for (const RouteGauge& r : gauges.routes) {
        append_sample(out, "flag_decide_route_up", {{"route", r.route}, {"role", r.role}},
                      std::uint64_t{r.up ? 1u : 0u});
    }
    append_family(out, "flag_decide_route_lag_seconds", "gauge",
                  "Replication lag seen on the route; absent when unknown.");
    for (const RouteGauge& r : gauges.routes) {
        if (r.lag_seconds) {
            append_sample(out, "flag_decide_route_lag_seconds", {{"route", r.route}},
                          *r.lag_seconds);
        }
    }
    append_family(out, "flag_decide_route_breaker_open", "gauge",
                  "1 when the route's circuit breaker is open and requests skip it.");
    for (const RouteGauge& r : gauges.routes) {
        append_sample(out, "flag_decide_route_breaker_open", {{"route", r.route}},
                      std::uint64_t{r.breaker_open ? 1u : 0u});
    }

    append_family(out, "flag_decide_route_queries_total", "counter",
                  "Requests' queries sent on the route, by attempt: first, retry (after a "
                  "failure on another route), hedge (beside a slow attempt on another route).");
    for (const RouteGauge& r : gauges.routes) {
        append_sample(out, "flag_decide_route_queries_total",
                      {{"route", r.route}, {"attempt", "first"}}, r.first_attempts);
        append_sample(out, "flag_decide_route_queries_total",
                      {{"route", r.route}, {"attempt", "retry"}}, r.retries);
        append_sample(out, "flag_decide_route_queries_total",
                      {{"route", r.route}, {"attempt", "hedge"}}, r.hedges);
    }
    append_family(out, "flag_decide_route_batches_total", "counter",
                  "Statements that carried several requests' queries at once (sent while every "
                  "pooled connection of the route was busy).");
    for (const RouteGauge& r : gauges.routes)
        append_sample(out, "flag_decide_route_batches_total", {{"route", r.route}}, r.batches);
    append_family(out, "flag_decide_route_batched_queries_total", "counter",
                  "Requests' queries those statements carried.");
    for (const RouteGauge& r : gauges.routes) {
        append_sample(out, "flag_decide_route_batched_queries_total", {{"route", r.route}},
                      r.batched_queries);
    }

    append_family(out, "flag_decide_definitions_loaded", "gauge",
                  "1 once flag definitions are held in memory, else 0.");
    append_sample(out, "flag_decide_definitions_loaded", {},
                  std::uint64_t{gauges.definitions_loaded ? 1u : 0u});
    append_family(out, "flag_decide_definitions_version", "gauge",
                  "Version of the flag definitions held in memory.");
    if (gauges.definitions_version) {
        append_sample(out, "flag_decide_definitions_version", {}, *gauges.definitions_version);
    }
    append_family(out, "flag_decide_definitions_age_seconds", "gauge",
                  "Time since the definitions held were last confirmed to be the database's "
                  "current ones (less the answering replica's lag).");
    if (gauges.definitions_age_seconds) {
        append_sample(out, "flag_decide_definitions_age_seconds", {},
                      *gauges.definitions_age_seconds);
    }
    return out;
}

}  // namespace flag_eval::decide
