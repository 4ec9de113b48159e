// The decide request body: what posthog-node and other SDKs send, the aliases PostHog accepts,
// and the clear 400/401 errors for everything else.
#include "decide/api/decide_request.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace flag_eval::decide;
namespace json = boost::json;

namespace {

DecideRequest parsed(const std::string& text) {
    auto result = parse_decide_request(text);
    if (const auto* error = std::get_if<RequestError>(&result)) {
        ADD_FAILURE() << "unexpected error " << error->status << ": " << error->message;
        return {};
    }
    return std::get<DecideRequest>(std::move(result));
}

RequestError error_of(const std::string& text) {
    auto result = parse_decide_request(text);
    if (std::holds_alternative<DecideRequest>(result)) {
        ADD_FAILURE() << "expected an error for " << text;
        return {};
    }
    return std::get<RequestError>(result);
}

void expect_error(const std::string& text, int status, const std::string& named) {
    SCOPED_TRACE(text);
    const RequestError error = error_of(text);
    EXPECT_EQ(error.status, status) << error.message;
    EXPECT_NE(error.message.find(named), std::string::npos) << error.message;
}

// Captured from posthog-node 5.70 getAllFlags(..., {groups, personProperties, groupProperties,
// flagKeys}).
const char* kPosthogNodeBody =
    R"({"token":"phc_test","distinct_id":"user-42","groups":{"company":"acme","team":7},)"
    R"("person_properties":{"plan":"pro","$device_id":"dev1"},)"
    R"("group_properties":{"company":{"$group_key":"acme","size":10},"team":{"$group_key":7}},)"
    R"("geoip_disable":true,"flag_keys_to_evaluate":["a","b"],"$device_id":"dev1","evaluation_runtime":"server"})";

TEST(DecideRequest, ReadsWhatPosthogNodeSends) {
    const DecideRequest r = parsed(kPosthogNodeBody);
    EXPECT_EQ(r.token, "phc_test");
    EXPECT_EQ(r.distinct_id, "user-42");
    EXPECT_EQ(json::value(r.groups), json::parse(R"({"company":"acme","team":"7"})"));
    EXPECT_EQ(json::value(r.person_properties),
              json::parse(R"({"plan":"pro","$device_id":"dev1"})"));
    EXPECT_EQ(
        json::value(r.group_properties),
        json::parse(R"({"company":{"$group_key":"acme","size":10},"team":{"$group_key":7}})"));
    EXPECT_FALSE(r.anon_distinct_id);
    EXPECT_EQ(r.device_id, "dev1");
    ASSERT_TRUE(r.flag_keys);
    EXPECT_EQ(*r.flag_keys, (std::vector<std::string>{"a", "b"}));
    EXPECT_FALSE(r.disable_flags);
}

TEST(DecideRequest, MinimalBodyHasEmptyDefaults) {
    const DecideRequest r = parsed(R"({"token":"t","distinct_id":"d"})");
    EXPECT_TRUE(r.groups.empty());
    EXPECT_TRUE(r.person_properties.empty());
    EXPECT_TRUE(r.group_properties.empty());
    EXPECT_FALSE(r.anon_distinct_id);
    EXPECT_FALSE(r.device_id);
    EXPECT_FALSE(r.flag_keys);  // absent: every flag
}

TEST(DecideRequest, NumericDistinctIdBecomesItsDigits) {
    EXPECT_EQ(parsed(R"({"token":"t","distinct_id":8675309})").distinct_id, "8675309");
    EXPECT_EQ(parsed(R"({"token":"t","distinct_id":-12})").distinct_id, "-12");
    EXPECT_EQ(parsed(R"({"token":"t","distinct_id":18446744073709551615})").distinct_id,
              "18446744073709551615");
    EXPECT_EQ(parsed(R"({"token":"t","distinct_id":123.45})").distinct_id, "123.45");
}

TEST(DecideRequest, TokenAliasesAndPrecedence) {
    EXPECT_EQ(parsed(R"({"api_key":"k","distinct_id":"d"})").token, "k");
    EXPECT_EQ(parsed(R"({"$token":"k","distinct_id":"d"})").token, "k");
    EXPECT_EQ(parsed(R"({"api_key":"k","token":"t","distinct_id":"d"})").token, "t");
    EXPECT_EQ(parsed(R"({"token":null,"api_key":"k","distinct_id":"d"})").token, "k");
}

TEST(DecideRequest, PosthogAliasesForOtherFields) {
    const DecideRequest r = parsed(R"({"token":"t","$distinct_id":"d","$anon_distinct_id":"anon",
        "$properties":{"a":1},"$groups":{"org":"o"},"$group_properties":{"org":{"n":2}},"flag_keys":["x"]})");
    EXPECT_EQ(r.distinct_id, "d");
    EXPECT_EQ(r.anon_distinct_id, "anon");
    EXPECT_EQ(json::value(r.person_properties), json::parse(R"({"a":1})"));
    EXPECT_EQ(json::value(r.groups), json::parse(R"({"org":"o"})"));
    EXPECT_EQ(json::value(r.group_properties), json::parse(R"({"org":{"n":2}})"));
    EXPECT_EQ(*r.flag_keys, std::vector<std::string>{"x"});
    EXPECT_EQ(parsed(R"({"token":"t","distinct_id":"d","anon_distinct_id":"a2"})").anon_distinct_id,
              "a2");
}

// posthog-js sends $device_id; PostHog's server reads device_id first.
TEST(DecideRequest, DeviceIdAndItsAlias) {
    EXPECT_EQ(parsed(R"({"token":"t","distinct_id":"d","$device_id":"a"})").device_id, "a");
    EXPECT_EQ(
        parsed(R"({"token":"t","distinct_id":"d","device_id":"b","$device_id":"a"})").device_id,
        "b");
    EXPECT_EQ(parsed(R"({"token":"t","distinct_id":"d","device_id":42})").device_id, "42");
    EXPECT_FALSE(parsed(R"({"token":"t","distinct_id":"d","device_id":""})").device_id);
    EXPECT_FALSE(parsed(R"({"token":"t","distinct_id":"d","device_id":null})").device_id);
}

TEST(DecideRequest, NullFieldsCountAsAbsent) {
    const DecideRequest r =
        parsed(R"({"token":"t","distinct_id":"d","groups":null,"person_properties":null,
        "group_properties":null,"$anon_distinct_id":null,"flag_keys_to_evaluate":null,"disable_flags":null})");
    EXPECT_TRUE(r.groups.empty());
    EXPECT_TRUE(r.person_properties.empty());
    EXPECT_FALSE(r.anon_distinct_id);
    EXPECT_FALSE(r.flag_keys);
    // null entries inside the maps are dropped too
    const DecideRequest inner =
        parsed(R"({"token":"t","distinct_id":"d","groups":{"org":null,"team":"x"},
        "group_properties":{"org":null}})");
    EXPECT_EQ(json::value(inner.groups), json::parse(R"({"team":"x"})"));
    EXPECT_TRUE(inner.group_properties.empty());
}

TEST(DecideRequest, EmptyFlagKeysMeansNoFlagsAndDisableFlagsIsRead) {
    const DecideRequest r = parsed(
        R"({"token":"t","distinct_id":"d","flag_keys_to_evaluate":[],"disable_flags":true})");
    ASSERT_TRUE(r.flag_keys);
    EXPECT_TRUE(r.flag_keys->empty());
    EXPECT_TRUE(r.disable_flags);
}

TEST(DecideRequest, MissingTokenIs401) {
    expect_error(R"({"distinct_id":"d"})", 401, "token");
    expect_error(R"({"token":"","distinct_id":"d"})", 401, "token");
    expect_error(R"({"token":null,"distinct_id":"d"})", 401, "token");
}

TEST(DecideRequest, MissingOrEmptyDistinctIdIs400) {
    expect_error(R"({"token":"t"})", 400, "distinct_id");
    expect_error(R"({"token":"t","distinct_id":""})", 400, "distinct_id");
    expect_error(R"({"token":"t","distinct_id":null})", 400, "distinct_id");
}

TEST(DecideRequest, NotAJsonObjectIs400) {
    expect_error(R"([{"token":"t","distinct_id":"d"}])", 400, "array");
    expect_error(R"("just a string")", 400, "string");
    expect_error(R"({"token":"t",)", 400, "not valid JSON");
    expect_error("", 400, "not valid JSON");
    expect_error("{\"token\":\"t\",\"distinct_id\":\"\xff\"}", 400, "not valid JSON");  // not UTF-8
}

TEST(DecideRequest, FieldsOfTheWrongTypeAre400NamingTheField) {
    expect_error(R"({"token":"t","distinct_id":"d","person_properties":[1]})", 400,
                 "person_properties");
    expect_error(R"({"token":"t","distinct_id":"d","person_properties":"x"})", 400,
                 "person_properties");
    expect_error(R"({"token":"t","distinct_id":"d","groups":["org"]})", 400, "groups");
    expect_error(R"({"token":"t","distinct_id":"d","groups":{"org":{"k":1}}})", 400,
                 "groups.\"org\"");
    expect_error(R"({"token":"t","distinct_id":"d","groups":{"org":true}})", 400, "groups.\"org\"");
    expect_error(R"({"token":"t","distinct_id":"d","group_properties":5})", 400,
                 "group_properties");
    expect_error(R"({"token":"t","distinct_id":"d","group_properties":{"org":"x"}})", 400,
                 "group_properties.\"org\"");
    expect_error(R"({"token":"t","distinct_id":"d","flag_keys_to_evaluate":"a"})", 400,
                 "flag_keys_to_evaluate");
    expect_error(R"({"token":"t","distinct_id":"d","flag_keys_to_evaluate":["a",1]})", 400,
                 "flag_keys_to_evaluate[1]");
    expect_error(R"({"token":"t","distinct_id":{"id":1}})", 400, "distinct_id");
    expect_error(R"({"token":"t","distinct_id":true})", 400, "distinct_id");
    expect_error(R"({"token":5,"distinct_id":"d"})", 400, "token");
    expect_error(R"({"token":"t","distinct_id":"d","$anon_distinct_id":[]})", 400,
                 "$anon_distinct_id");
    expect_error(R"({"token":"t","distinct_id":"d","disable_flags":"yes"})", 400, "disable_flags");
    // A malformed body is a 400 even when the token is missing too.
    expect_error(R"({"distinct_id":"d","person_properties":[]})", 400, "person_properties");
}

TEST(DecideRequest, DeeplyNestedPropertiesAreAccepted) {
    std::string nested = "1";
    for (int i = 0; i < 40; ++i) nested = "[" + nested + "]";
    const DecideRequest r =
        parsed(R"({"token":"t","distinct_id":"d","person_properties":{"n":)" + nested + "}}");
    EXPECT_TRUE(r.person_properties.contains("n"));
}

TEST(DecideRequest, AbsurdNestingIsA400NotACrash) {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    expect_error(R"({"token":"t","distinct_id":"d","person_properties":{"n":)" + deep + "}}", 400,
                 "JSON");
}

TEST(DecideRequest, RuntimeAndContextsAsPostHogReadsThem) {
    const DecideRequest none = parsed(R"({"token": "t", "distinct_id": "u"})");
    EXPECT_FALSE(none.runtime_declared);
    EXPECT_TRUE(none.scope.contexts.empty());

    // posthog-node 5.70 sends evaluation_runtime "server" and its evaluationContexts option.
    const DecideRequest node = parsed(
        R"({"token": "t", "distinct_id": "u", "evaluation_runtime": "server",
            "evaluation_contexts": ["checkout", "cart"]})");
    EXPECT_TRUE(node.runtime_declared);
    EXPECT_EQ(node.scope.runtime, flag_eval::RequestRuntime::Server);
    EXPECT_EQ(node.scope.contexts, (std::vector<std::string>{"checkout", "cart"}));

    EXPECT_EQ(parsed(R"({"token": "t", "distinct_id": "u", "evaluation_runtime": "Client"})")
                  .scope.runtime,
              flag_eval::RequestRuntime::Client);
    // Any other value means all, "unknown" included: only the headers can make a request unknown.
    for (const char* value : {"all", "edge", "unknown", ""}) {
        const DecideRequest r = parsed(std::string(R"({"token": "t", "distinct_id": "u",
            "evaluation_runtime": ")") +
                                       value + "\"}");
        EXPECT_TRUE(r.runtime_declared) << value;
        EXPECT_EQ(r.scope.runtime, flag_eval::RequestRuntime::All) << value;
    }
    EXPECT_EQ(parsed(R"({"token": "t", "distinct_id": "u", "evaluation_environments": ["web"]})")
                  .scope.contexts,
              (std::vector<std::string>{"web"}));

    expect_error(R"({"token": "t", "distinct_id": "u", "evaluation_runtime": 1})", 400,
                 "evaluation_runtime must be a string");
    expect_error(R"({"token": "t", "distinct_id": "u", "evaluation_contexts": "web"})", 400,
                 "evaluation_contexts must be an array of context names");
    expect_error(R"({"token": "t", "distinct_id": "u", "evaluation_contexts": ["web", 2]})", 400,
                 "evaluation_contexts[1] must be a string");
}

}  // namespace
