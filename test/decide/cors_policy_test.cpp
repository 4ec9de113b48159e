// Who may read flag-decide's answers from a web page, which paths are which endpoint, and the
// remote config posthog-js reads.
#include "decide/api/cors_policy.hpp"
#include "decide/api/endpoints.hpp"
#include "decide/api/remote_config.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace flag_eval::decide {
namespace {

namespace http = boost::beast::http;

Request request_from(std::string_view origin, http::verb method = http::verb::post) {
    Request request{method, "/flags/?v=2", 11};
    if (!origin.empty()) request.set(http::field::origin, origin);
    return request;
}

std::string header_of(const Response& response, http::field field) {
    const auto it = response.find(field);
    return it == response.end() ? "(none)" : std::string(it->value());
}

TEST(CorsPolicy, AnyOriginIsAStarWithoutCredentials) {
    const CorsPolicy any({"*"});
    EXPECT_TRUE(any.allows("https://shop.example"));
    Response response{http::status::ok, 11};
    any.decorate(request_from("https://shop.example"), response);
    EXPECT_EQ(header_of(response, http::field::access_control_allow_origin), "*");
    EXPECT_EQ(header_of(response, http::field::access_control_allow_credentials), "(none)");
}

TEST(CorsPolicy, ListedOriginsAreEchoedAndOthersRefused) {
    const CorsPolicy listed({"https://App.example", "http://localhost:3000"});
    EXPECT_TRUE(listed.allows("https://app.example"));
    EXPECT_TRUE(listed.allows("http://localhost:3000"));
    EXPECT_TRUE(listed.allows(""));  // no Origin: a server, or a same-origin GET
    EXPECT_FALSE(listed.allows("https://evil.example"));
    EXPECT_FALSE(listed.allows("https://app.example.evil.example"));
    EXPECT_FALSE(listed.allows("null"));

    Response allowed{http::status::ok, 11};
    listed.decorate(request_from("https://app.example"), allowed);
    EXPECT_EQ(header_of(allowed, http::field::access_control_allow_origin), "https://app.example");
    EXPECT_EQ(header_of(allowed, http::field::vary), "Origin");
    Response refused{http::status::ok, 11};
    listed.decorate(request_from("https://evil.example"), refused);
    EXPECT_EQ(header_of(refused, http::field::access_control_allow_origin), "(none)");

    const CorsPolicy none({});
    EXPECT_FALSE(none.allows("https://app.example"));
    EXPECT_TRUE(none.allows(""));
}

TEST(CorsPolicy, TheRateLimitHeadersAreExposedToThePage) {
    const CorsPolicy listed({"https://app.example"});
    Response plain{http::status::ok, 11};
    listed.decorate(request_from("https://app.example"), plain);
    EXPECT_EQ(header_of(plain, http::field::access_control_expose_headers), "(none)");

    Response refused{http::status::too_many_requests, 11};
    refused.set(http::field::retry_after, "1");
    listed.decorate(request_from("https://app.example"), refused);
    EXPECT_EQ(header_of(refused, http::field::access_control_allow_origin), "https://app.example");
    EXPECT_EQ(header_of(refused, http::field::access_control_expose_headers), "Retry-After");

    Response warned{http::status::ok, 11};
    warned.set("X-PostHog-Rate-Limit-Warning", "true");
    CorsPolicy({"*"}).decorate(request_from("https://shop.example"), warned);
    EXPECT_EQ(header_of(warned, http::field::access_control_expose_headers),
              "X-PostHog-Rate-Limit-Warning");
}

TEST(CorsPolicy, PreflightAllowsTheMethodsAndAskedHeadersForTwoHours) {
    const CorsPolicy listed({"https://app.example"});
    Request ask = request_from("https://app.example", http::verb::options);
    ask.set(http::field::access_control_request_method, "POST");
    ask.set(http::field::access_control_request_headers, "content-type, x-trace");
    const Response ok = listed.preflight(ask);
    EXPECT_EQ(ok.result(), http::status::no_content);
    EXPECT_EQ(header_of(ok, http::field::access_control_allow_methods), "GET, POST, OPTIONS");
    EXPECT_EQ(header_of(ok, http::field::access_control_allow_headers), "content-type, x-trace");
    EXPECT_EQ(header_of(ok, http::field::access_control_max_age), "7200");

    Request hostile = request_from("https://evil.example", http::verb::options);
    EXPECT_EQ(listed.preflight(hostile).result(), http::status::forbidden);
    ask.set(http::field::access_control_request_headers, "content-type\r\nx: y");
    EXPECT_EQ(listed.preflight(ask).result(), http::status::bad_request);
}

TEST(CorsPolicy, ConfiguredOriginsMustBeWhatBrowsersSend) {
    EXPECT_EQ(origin_problem("*"), "");
    EXPECT_EQ(origin_problem("https://app.example"), "");
    EXPECT_EQ(origin_problem("http://localhost:3000"), "");
    EXPECT_NE(origin_problem("https://app.example/"), "");
    EXPECT_NE(origin_problem("app.example"), "");
    EXPECT_NE(origin_problem("https://"), "");
    EXPECT_NE(origin_problem("https://user@app.example"), "");
}

TEST(Endpoints, PathsAndWhoMayReadThem) {
    EXPECT_EQ(endpoint_of("/flags/").endpoint, Endpoint::Flags);
    EXPECT_EQ(endpoint_of("/decide").endpoint, Endpoint::Decide);
    const EndpointRoute config = endpoint_of("/array/phc_abc/config");
    EXPECT_EQ(config.endpoint, Endpoint::RemoteConfig);
    EXPECT_EQ(config.token, "phc_abc");
    EXPECT_EQ(endpoint_of("/array/phc_abc/config.js").endpoint, Endpoint::RemoteConfigScript);
    EXPECT_EQ(endpoint_of("/array//config").endpoint, Endpoint::Unknown);
    EXPECT_EQ(endpoint_of("/i/v0/e/").endpoint, Endpoint::Events);
    EXPECT_EQ(endpoint_of("/e").endpoint, Endpoint::Events);
    for (const char* secret : {"/flags/definitions", "/api/feature_flag/local_evaluation/",
                               "/metrics", "/healthz", "/readyz"})
        EXPECT_FALSE(readable_cross_origin(endpoint_of(secret).endpoint)) << secret;
    for (const char* open : {"/flags", "/decide/", "/array/t/config", "/e/", "/static/array.js"})
        EXPECT_TRUE(readable_cross_origin(endpoint_of(open).endpoint)) << open;
}

TEST(RemoteConfig, TurnsOffWhatFlagDecideDoesNotServe) {
    EXPECT_TRUE(is_public_token("phc_Abc-1_2"));
    EXPECT_FALSE(is_public_token(""));
    EXPECT_FALSE(is_public_token("phc\"x"));
    EXPECT_FALSE(is_public_token(std::string(201, 'a')));

    const auto config = boost::json::parse(remote_config_json("phc_t", true)).as_object();
    EXPECT_EQ(config.at("hasFeatureFlags"), true);
    for (const char* off :
         {"sessionRecording", "surveys", "heatmaps", "captureDeadClicks", "capturePerformance",
          "autocaptureExceptions", "conversations", "productTours"})
        EXPECT_EQ(config.at(off), false) << off;
    EXPECT_EQ(config.at("supportedCompression"), boost::json::parse(R"(["gzip", "gzip-js"])"));
    EXPECT_EQ(boost::json::parse(remote_config_json("phc_t", false)).at("hasFeatureFlags"), false);
    EXPECT_EQ(remote_config_script("phc_t", "{}"),
              "(function(){var c=window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{};"
              "c[\"phc_t\"]={config:{},siteApps:[]};})();\n");
}

}  // namespace
}  // namespace flag_eval::decide
