// Metrics: the exposition parses as Prometheus text format 0.0.4 and counts what was recorded.
#include "decide/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace flag_eval::decide {
namespace {

using namespace std::chrono_literals;

struct Sample {
    std::string name;
    std::string labels;  // inside the braces, as written
    std::string value;
};

// Checks every line against the text format's grammar and returns the samples. Each sample's
// family must have been declared by # HELP and # TYPE before it, once.
std::vector<Sample> parse_exposition(const std::string& text) {
    static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
    static const std::regex type(
        R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
    static const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)\})? ([-+]?(?:[0-9.eE+-]+|Inf|NaN))$)");
    std::vector<Sample> samples;
    std::map<std::string, std::string> types;
    std::set<std::string> helped;
    EXPECT_TRUE(text.empty() || text.back() == '\n') << "the exposition ends with a newline";
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (std::regex_match(line, m, help)) {
            EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice: " << line;
        } else if (std::regex_match(line, m, type)) {
            EXPECT_TRUE(helped.count(m[1])) << "TYPE before HELP: " << line;
            EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "TYPE twice: " << line;
        } else if (std::regex_match(line, m, sample)) {
            std::string family = m[1];
            for (std::string suffix : {"_bucket", "_sum", "_count"}) {
                if (!types.count(family) && family.ends_with(suffix)) {
                    family.resize(family.size() - suffix.size());
                }
            }
            EXPECT_TRUE(types.count(family)) << "sample without TYPE: " << line;
            if (types[family] == "counter") {
                EXPECT_TRUE(family.ends_with("_total")) << "counter not ending in _total: " << line;
            }
            samples.push_back({m[1], m[2], m[3]});
        } else {
            ADD_FAILURE() << "not a text-format line: " << line;
        }
    }
    return samples;
}

std::string value_of(const std::vector<Sample>& samples, const std::string& name,
                     const std::string& labels = "") {
    for (const Sample& s : samples) {
        if (s.name == name && s.labels == labels) return s.value;
    }
    return "<absent>";
}

TEST(Metrics, AnEmptyRegistryRendersValidText) {
    Metrics metrics;
    const auto samples = parse_exposition(metrics.render());
    EXPECT_EQ(value_of(samples, "flag_decide_degraded_answers_total"), "0");
    EXPECT_EQ(value_of(samples, "flag_decide_flags_evaluated_total", R"(source="local")"), "0");
    EXPECT_EQ(value_of(samples, "flag_decide_definitions_loaded"), "0");
    EXPECT_EQ(value_of(samples, "flag_decide_definitions_version"), "<absent>");
}

TEST(Metrics, CountsRequestsByEndpointAndStatus) {
    Metrics metrics;
    metrics.record_request("flags", 200, 1ms);
    metrics.record_request("flags", 200, 2ms);
    metrics.record_request("flags", 400, 100us);
    metrics.record_request("metrics", 200, 100us);
    const auto samples = parse_exposition(metrics.render());
    EXPECT_EQ(value_of(samples, "flag_decide_requests_total", R"(endpoint="flags",status="200")"),
              "2");
    EXPECT_EQ(value_of(samples, "flag_decide_requests_total", R"(endpoint="flags",status="400")"),
              "1");
    EXPECT_EQ(value_of(samples, "flag_decide_requests_total", R"(endpoint="metrics",status="200")"),
              "1");
    EXPECT_EQ(metrics.requests_total("flags", 200), 2u);
    EXPECT_EQ(metrics.requests_total("flags", 500), 0u);
    EXPECT_EQ(metrics.requests_total("nowhere", 200), 0u);
}

TEST(Metrics, TheLatencyHistogramIsCumulativeWithInfSumAndCount) {
    Metrics metrics;
    metrics.record_request("flags", 200, 300us);   // <= 0.0005
    metrics.record_request("flags", 200, 3ms);     // <= 0.005
    metrics.record_request("flags", 200, 60ms);    // <= 0.075
    metrics.record_request("flags", 200, 5000ms);  // only +Inf
    const auto samples = parse_exposition(metrics.render());
    const std::string bucket = "flag_decide_request_duration_seconds_bucket";
    EXPECT_EQ(value_of(samples, bucket, R"(endpoint="flags",le="0.0005")"), "1");
    EXPECT_EQ(value_of(samples, bucket, R"(endpoint="flags",le="0.001")"), "1");
    EXPECT_EQ(value_of(samples, bucket, R"(endpoint="flags",le="0.005")"), "2");
    EXPECT_EQ(value_of(samples, bucket, R"(endpoint="flags",le="0.05")"), "2");
    EXPECT_EQ(value_of(samples, bucket, R"(endpoint="flags",le="0.075")"), "3");
    EXPECT_EQ(value_of(samples, bucket, R"(endpoint="flags",le="1")"), "3");
    EXPECT_EQ(value_of(samples, bucket, R"(endpoint="flags",le="+Inf")"), "4");
    EXPECT_EQ(
        value_of(samples, "flag_decide_request_duration_seconds_count", R"(endpoint="flags")"),
        "4");
    EXPECT_NEAR(std::stod(value_of(samples, "flag_decide_request_duration_seconds_sum",
                                   R"(endpoint="flags")")),
                5.0633, 1e-9);

    // Buckets rise monotonically and in order of le.
    double last_le = 0;
    long last_count = 0;
    for (const Sample& s : samples) {
        if (s.name != bucket) continue;
        const auto le_at = s.labels.find("le=\"") + 4;
        const std::string le = s.labels.substr(le_at, s.labels.size() - le_at - 1);
        const double le_value = le == "+Inf" ? 1e300 : std::stod(le);
        EXPECT_GT(le_value, last_le);
        EXPECT_GE(std::stol(s.value), last_count);
        last_le = le_value;
        last_count = std::stol(s.value);
    }
}

TEST(Metrics, CountsDegradedAnswersAndFlagSources) {
    Metrics metrics;
    metrics.record_degraded_answer();
    metrics.record_degraded_answer();
    metrics.record_flags_evaluated(FlagSource::local, 5);
    metrics.record_flags_evaluated(FlagSource::database);
    metrics.record_flags_evaluated(FlagSource::failed, 3);
    metrics.record_connection_rejected();
    const auto samples = parse_exposition(metrics.render());
    EXPECT_EQ(value_of(samples, "flag_decide_degraded_answers_total"), "2");
    EXPECT_EQ(value_of(samples, "flag_decide_flags_evaluated_total", R"(source="local")"), "5");
    EXPECT_EQ(value_of(samples, "flag_decide_flags_evaluated_total", R"(source="database")"), "1");
    EXPECT_EQ(value_of(samples, "flag_decide_flags_evaluated_total", R"(source="failed")"), "3");
    EXPECT_EQ(value_of(samples, "flag_decide_connections_rejected_total"), "1");
    EXPECT_EQ(metrics.degraded_answers_total(), 2u);
    EXPECT_EQ(metrics.flags_evaluated_total(FlagSource::failed), 3u);
}

TEST(Metrics, RouteAndDefinitionGaugesComeFromTheCallbackAtRenderTime) {
    Metrics metrics;
    int version = 7;
    metrics.set_gauge_source([&] {
        ServiceGauges gauges;
        gauges.routes.push_back({"pgbouncer", "pooler", true, std::nullopt, false});
        gauges.routes.push_back({"replica1", "replica", false, 1.5, true, 40, 3, 2});
        gauges.definitions_loaded = true;
        gauges.definitions_version = version;
        gauges.definitions_age_seconds = 0.25;
        gauges.open_connections = 12;
        return gauges;
    });
    auto samples = parse_exposition(metrics.render());
    EXPECT_EQ(value_of(samples, "flag_decide_route_up", R"(route="pgbouncer",role="pooler")"), "1");
    EXPECT_EQ(value_of(samples, "flag_decide_route_up", R"(route="replica1",role="replica")"), "0");
    EXPECT_EQ(value_of(samples, "flag_decide_route_lag_seconds", R"(route="pgbouncer")"),
              "<absent>");
    EXPECT_EQ(value_of(samples, "flag_decide_route_lag_seconds", R"(route="replica1")"), "1.5");
    EXPECT_EQ(value_of(samples, "flag_decide_route_breaker_open", R"(route="pgbouncer")"), "0");
    EXPECT_EQ(value_of(samples, "flag_decide_route_breaker_open", R"(route="replica1")"), "1");
    EXPECT_EQ(
        value_of(samples, "flag_decide_route_queries_total", R"(route="replica1",attempt="first")"),
        "40");
    EXPECT_EQ(
        value_of(samples, "flag_decide_route_queries_total", R"(route="replica1",attempt="retry")"),
        "3");
    EXPECT_EQ(
        value_of(samples, "flag_decide_route_queries_total", R"(route="replica1",attempt="hedge")"),
        "2");
    EXPECT_EQ(value_of(samples, "flag_decide_definitions_loaded"), "1");
    EXPECT_EQ(value_of(samples, "flag_decide_definitions_version"), "7");
    EXPECT_EQ(value_of(samples, "flag_decide_definitions_age_seconds"), "0.25");
    EXPECT_EQ(value_of(samples, "flag_decide_open_connections"), "12");

    version = 8;
    samples = parse_exposition(metrics.render());
    EXPECT_EQ(value_of(samples, "flag_decide_definitions_version"), "8");
}

TEST(Metrics, CountsRateLimitedAndWarnedRequestsByLimitAndShowsTheKeysHeld) {
    Metrics metrics;
    auto samples = parse_exposition(metrics.render());
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limited_total", R"(limit="address")"), "0");
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limited_total", R"(limit="token")"), "0");
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limit_keys", R"(limit="token")"), "<absent>")
        << "a limit that is off holds nothing";

    metrics.record_rate_limited(RateLimitKind::token);
    metrics.record_rate_limited(RateLimitKind::token);
    metrics.record_rate_limited(RateLimitKind::address);
    metrics.record_rate_limit_warned(RateLimitKind::address);
    metrics.set_gauge_source([] {
        ServiceGauges gauges;
        gauges.address_rate_limit_keys = 42;
        return gauges;
    });
    samples = parse_exposition(metrics.render());
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limited_total", R"(limit="token")"), "2");
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limited_total", R"(limit="address")"), "1");
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limit_warned_total", R"(limit="address")"), "1");
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limit_warned_total", R"(limit="token")"), "0");
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limit_keys", R"(limit="address")"), "42");
    EXPECT_EQ(value_of(samples, "flag_decide_rate_limit_keys", R"(limit="token")"), "<absent>");
    EXPECT_EQ(metrics.rate_limited_total(RateLimitKind::token), 2u);
    EXPECT_EQ(metrics.rate_limit_warned_total(RateLimitKind::token), 0u);
}

TEST(Metrics, LabelValuesAreEscaped) {
    EXPECT_EQ(escape_label_value(R"(a"b\c)"
                                 "\n"
                                 "d"),
              R"(a\"b\\c\nd)");
    Metrics metrics;
    metrics.record_request("we\"ird\\\nname", 200, 1ms);
    metrics.set_gauge_source([] {
        ServiceGauges gauges;
        gauges.routes.push_back({"r\"1", "replica", true, 0.25, false});
        return gauges;
    });
    const auto samples = parse_exposition(metrics.render());  // the grammar check is the test
    EXPECT_EQ(value_of(samples, "flag_decide_requests_total",
                       R"(endpoint="we\"ird\\\nname",status="200")"),
              "1");
    EXPECT_EQ(value_of(samples, "flag_decide_route_lag_seconds", R"(route="r\"1")"), "0.25");
}

TEST(Metrics, TheContentTypeNamesFormat004) {
    EXPECT_NE(Metrics::kContentType.find("version=0.0.4"), std::string_view::npos);
}

}  // namespace
}  // namespace flag_eval::decide
