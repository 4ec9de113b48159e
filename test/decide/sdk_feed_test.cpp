// The local-evaluation feed: what posthog-node may evaluate itself, what it must ask the server
// for, the dependency chains it needs, and the ETag.
#include "decide/definitions/sdk_feed.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace flag_eval;
using namespace flag_eval::decide;
namespace json = boost::json;

namespace {

json::object document(std::string_view flags_json, std::string_view cohorts_json = "{}") {
    json::object doc;
    doc["flags"] = json::parse(flags_json);
    doc["group_type_mapping"] = json::parse(R"({"0": "organization"})");
    doc["cohorts"] = json::parse(cohorts_json);
    doc["static_cohort_ids"] = json::parse("[42]");
    return doc;
}

json::object feed_of(const SdkFeed& feed) { return json::parse(feed.body).as_object(); }

const json::object& flag(const json::object& feed, std::string_view key) {
    for (const auto& f : feed.at("flags").as_array())
        if (f.as_object().at("key").as_string() == key) return f.as_object();
    throw std::runtime_error("no flag " + std::string(key));
}

bool continuity(const json::object& f) {
    const auto* v = f.if_contains("ensure_experience_continuity");
    return v && v->is_bool() && v->get_bool();
}

// The first flag filter of the flag's first condition.
const json::object& first_flag_filter(const json::object& f) {
    for (const auto& p : f.at("filters").at("groups").at(0).at("properties").as_array())
        if (p.as_object().at("type").as_string() == "flag") return p.as_object();
    throw std::runtime_error("no flag filter");
}

std::string flag_json(std::string_view key, std::string_view bucketing,
                      std::string_view properties = "[]", std::string_view extra = "") {
    return std::string(R"({"id": 1, "key": ")") + std::string(key) +
           R"(", "active": true, "deleted": false, )" + R"("version": 1, "bucketing": ")" +
           std::string(bucketing) + R"(", )" + std::string(extra) +
           R"("filters": {"groups": [{"properties": )" + std::string(properties) +
           R"(, "rollout_percentage": 40}]}})";
}

std::string depends_on(std::string_view key) {
    return std::string(R"([{"key": ")") + std::string(key) +
           R"(", "type": "flag", "value": true, "operator": "flag_evaluates_to"}])";
}

}  // namespace

TEST(SdkFeed, Xxh3FlagMakesTheSdkAskTheServer) {
    const auto doc = document("[" + flag_json("fast", "xxh3") + "]");
    const SdkFeed feed = build_sdk_feed(doc, Bucketing::Xxh3);
    const json::object body = feed_of(feed);
    const auto& f = flag(body, "fast");
    EXPECT_TRUE(continuity(f));
    EXPECT_EQ(f.at("filters"), doc.at("flags").at(0).at("filters"));  // otherwise as stored
    ASSERT_EQ(feed.server_only_keys.size(), 1u);
    EXPECT_EQ(feed.server_only_keys[0], "fast");
}

TEST(SdkFeed, Sha1FlagIsHandedOverUnchanged) {
    const auto doc = document("[" + flag_json("compatible", "sha1") + "]");
    const SdkFeed feed = build_sdk_feed(doc, Bucketing::Xxh3);
    EXPECT_EQ(json::value(flag(feed_of(feed), "compatible")), doc.at("flags").at(0));
    EXPECT_TRUE(feed.server_only_keys.empty());
}

TEST(SdkFeed, AFlagWithoutBucketingHasTheTeams) {
    const std::string no_bucketing =
        R"({"key": "plain", "active": true, "filters": {"groups": [{"rollout_percentage": 10}]}})";
    EXPECT_FALSE(continuity(flag(
        feed_of(build_sdk_feed(document("[" + no_bucketing + "]"), Bucketing::Sha1)), "plain")));
    EXPECT_TRUE(continuity(flag(
        feed_of(build_sdk_feed(document("[" + no_bucketing + "]"), Bucketing::Xxh3)), "plain")));
}

TEST(SdkFeed, FeedShape) {
    const std::string flags =
        "[" + flag_json("on", "sha1") + ", " +
        R"({"key": "off", "active": false, "bucketing": "sha1", "filters": {"groups": []}}, )" +
        R"({"key": "gone", "active": true, "deleted": true, "bucketing": "sha1", "filters": {}}])";
    const auto doc = document(flags, R"({"7": {"type": "OR", "values": []}})");
    const json::object feed = feed_of(build_sdk_feed(doc, Bucketing::Sha1));
    // What posthog-node reads: flags, group_type_mapping, cohorts, property_matching_version
    // (1 when the document has none); never static cohort ids.
    EXPECT_EQ(feed.size(), 4u);
    EXPECT_EQ(feed.at("group_type_mapping"), doc.at("group_type_mapping"));
    EXPECT_EQ(feed.at("cohorts"), doc.at("cohorts"));
    EXPECT_EQ(feed.at("property_matching_version"), json::value(1));
    json::object explicit_doc = doc;
    explicit_doc["property_matching_version"] = 2;
    EXPECT_EQ(
        feed_of(build_sdk_feed(explicit_doc, Bucketing::Sha1)).at("property_matching_version"),
        json::value(2));
    EXPECT_FALSE(feed.contains("static_cohort_ids"));
    // Deleted flags absent; inactive ones present as active: false.
    ASSERT_EQ(feed.at("flags").as_array().size(), 2u);
    EXPECT_EQ(flag(feed, "off").at("active"), json::value(false));
    EXPECT_THROW(flag(feed, "gone"), std::runtime_error);
}

TEST(SdkFeed, DependencyChainsAsPostHogsServerBuildsThem) {
    // top -> middle -> base, all sha1: evaluated locally, dependencies first, the target last.
    const std::string flags = "[" + flag_json("top", "sha1", depends_on("middle")) + ", " +
                              flag_json("middle", "sha1", depends_on("base")) + ", " +
                              flag_json("base", "sha1") + "]";
    const SdkFeed feed = build_sdk_feed(document(flags), Bucketing::Sha1);
    const json::object f = feed_of(feed);
    EXPECT_EQ(first_flag_filter(flag(f, "top")).at("dependency_chain"),
              json::parse(R"(["base", "middle"])"));
    EXPECT_EQ(first_flag_filter(flag(f, "middle")).at("dependency_chain"),
              json::parse(R"(["base"])"));
    EXPECT_FALSE(continuity(flag(f, "top")));
    EXPECT_FALSE(continuity(flag(f, "middle")));
    EXPECT_TRUE(feed.server_only_keys.empty());
}

TEST(SdkFeed, ChainsOfSeveralDependenciesKeepTheirOrder) {
    const std::string both =
        R"([{"key": "b", "type": "flag", "value": true, "operator": "flag_evaluates_to"},
                                 {"key": "a", "type": "flag", "value": false, "operator": "flag_evaluates_to"}])";
    const std::string flags =
        "[" + flag_json("top", "sha1", R"([{"key": "mid", "type": "flag", "value": true,
                              "operator": "flag_evaluates_to"}])") +
        ", " + flag_json("mid", "sha1", both) + ", " + flag_json("a", "sha1") + ", " +
        flag_json("b", "sha1", depends_on("a")) + "]";
    const json::object f = feed_of(build_sdk_feed(document(flags), Bucketing::Sha1));
    EXPECT_EQ(first_flag_filter(flag(f, "top")).at("dependency_chain"),
              json::parse(R"(["a", "b", "mid"])"));
}

TEST(SdkFeed, DependingOnAnXxh3FlagMakesTheSdkAskTheServer) {
    const std::string flags = "[" + flag_json("top", "sha1", depends_on("middle")) + ", " +
                              flag_json("middle", "sha1", depends_on("fast")) + ", " +
                              flag_json("fast", "xxh3") + ", " + flag_json("unrelated", "sha1") +
                              "]";
    const json::object f = feed_of(build_sdk_feed(document(flags), Bucketing::Sha1));
    EXPECT_TRUE(continuity(flag(f, "fast")));
    EXPECT_TRUE(continuity(flag(f, "middle")));
    EXPECT_TRUE(continuity(flag(f, "top")));  // through the chain, not only direct dependencies
    EXPECT_FALSE(continuity(flag(f, "unrelated")));
    EXPECT_EQ(first_flag_filter(flag(f, "top")).at("dependency_chain"),
              json::parse(R"(["fast", "middle"])"));
}

TEST(SdkFeed, MissingOrCyclicDependenciesHaveAnEmptyChainAndGoToTheServer) {
    const std::string flags = "[" + flag_json("orphan", "sha1", depends_on("nowhere")) + ", " +
                              flag_json("ping", "sha1", depends_on("pong")) + ", " +
                              flag_json("pong", "sha1", depends_on("ping")) + ", " +
                              flag_json("narcissus", "sha1", depends_on("narcissus")) + ", " +
                              flag_json("on-cycle", "sha1", depends_on("ping")) + "]";
    const json::object f = feed_of(build_sdk_feed(document(flags), Bucketing::Sha1));
    for (const char* key : {"orphan", "ping", "pong", "narcissus", "on-cycle"}) {
        SCOPED_TRACE(key);
        EXPECT_EQ(first_flag_filter(flag(f, key)).at("dependency_chain"), json::array());
        EXPECT_TRUE(continuity(flag(f, key)));
    }
}

TEST(SdkFeed, DefinitionsPostHogSdksDoNotEvaluateGoToTheServer) {
    const std::string flags =
        "[" + flag_json("device", "sha1", "[]", R"("bucketing_identifier": "device_id", )") + ", " +
        R"({"key": "mixed-person-filter", "active": true, "bucketing": "sha1", "filters": {"groups": [
            {"aggregation_group_type_index": 0, "properties": [{"key": "plan", "type": "person", "value": "pro"}]}]}},)" +
        R"({"key": "mixed-other-group", "active": true, "bucketing": "sha1", "filters": {"groups": [
            {"aggregation_group_type_index": 0, "properties": [
              {"key": "tier", "type": "group", "group_type_index": 1, "value": "gold"}]}]}},)" +
        R"({"key": "person-set-in-group-flag", "active": true, "bucketing": "sha1", "filters": {
            "aggregation_group_type_index": 0, "groups": [{"aggregation_group_type_index": null, "properties": []}]}},)" +
        R"({"key": "mixed", "active": true, "bucketing": "sha1", "filters": {"aggregation_group_type_index": null, "groups": [
            {"aggregation_group_type_index": 0, "properties": [{"key": "tier", "type": "group", "group_type_index": 0, "value": "gold"}]},
            {"aggregation_group_type_index": null, "properties": [{"key": "plan", "type": "person", "value": "pro"}]}]}},)" +
        R"({"key": "early", "active": true, "bucketing": "sha1", "filters": {"groups": [],
            "super_groups": [{"properties": [{"key": "$feature_enrollment/early", "type": "person", "value": ["true"]}]}]}},)" +
        R"({"key": "enrolled", "active": true, "bucketing": "sha1", "filters": {"groups": [], "feature_enrollment": true}},)" +
        R"({"key": "legacy-holdout", "active": true, "bucketing": "sha1", "filters": {"groups": [],
            "holdout_groups": [{"properties": [], "rollout_percentage": 10, "variant": "holdout-1"}]}},)" +
        flag_json("flag-cohort", "sha1", R"([{"key": "id", "type": "cohort", "value": 8}])") +
        ", " +
        flag_json("nested-flag-cohort", "sha1",
                  R"([{"key": "id", "type": "cohort", "value": "9"}])") +
        ", " +
        flag_json("plain-cohort", "sha1", R"([{"key": "id", "type": "cohort", "value": 10}])") +
        ", " + flag_json("target", "sha1") + "]";
    const std::string cohorts = R"({
        "8": {"type": "OR", "values": [{"type": "AND", "values": [
              {"key": "target", "type": "flag", "value": true, "operator": "flag_evaluates_to"}]}]},
        "9": {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 8}]},
        "10": {"type": "OR", "values": [{"key": "plan", "type": "person", "value": "pro"}]}})";
    const json::object f = feed_of(build_sdk_feed(document(flags, cohorts), Bucketing::Sha1));
    for (const char* key :
         {"mixed-person-filter", "mixed-other-group", "person-set-in-group-flag", "early",
          "enrolled", "legacy-holdout", "flag-cohort", "nested-flag-cohort"}) {
        SCOPED_TRACE(key);
        EXPECT_TRUE(continuity(flag(f, key)));
    }
    // posthog-node buckets by device id and evaluates mixed targeting as the server does.
    for (const char* key : {"device", "mixed", "plain-cohort", "target"}) {
        SCOPED_TRACE(key);
        EXPECT_FALSE(continuity(flag(f, key)));
    }
}

TEST(SdkFeed, EtagIsStrongQuotedAndFollowsTheBody) {
    const SdkFeed a = build_sdk_feed(document("[" + flag_json("x", "sha1") + "]"), Bucketing::Sha1);
    const SdkFeed same =
        build_sdk_feed(document("[" + flag_json("x", "sha1") + "]"), Bucketing::Sha1);
    const SdkFeed changed =
        build_sdk_feed(document("[" + flag_json("y", "sha1") + "]"), Bucketing::Sha1);
    EXPECT_EQ(a.body, same.body);
    EXPECT_EQ(a.etag, same.etag);
    EXPECT_NE(a.etag, changed.etag);
    ASSERT_EQ(a.etag.size(), 66u);  // SHA-256 in hex, quoted
    EXPECT_EQ(a.etag.front(), '"');
    EXPECT_EQ(a.etag.back(), '"');
    EXPECT_EQ(a.etag, strong_etag(a.body));
    EXPECT_NE(strong_etag("{}"), strong_etag("{} "));
}

TEST(SdkFeed, IfNoneMatch) {
    const std::string etag = "\"abc\"";
    EXPECT_TRUE(etag_matches("\"abc\"", etag));
    EXPECT_TRUE(etag_matches("W/\"abc\"", etag));
    EXPECT_TRUE(etag_matches("\"x\", \"abc\"", etag));
    EXPECT_TRUE(etag_matches("\"x\",\t\"abc\" ", etag));
    EXPECT_TRUE(etag_matches("*", etag));
    EXPECT_FALSE(etag_matches("", etag));
    EXPECT_FALSE(etag_matches("\"abcd\"", etag));
    EXPECT_FALSE(etag_matches("abc", etag));
    EXPECT_FALSE(etag_matches(",,", etag));
}

TEST(SdkFeed, RefusesADocumentWithoutFlags) {
    EXPECT_THROW(build_sdk_feed(json::object{}, Bucketing::Sha1), std::invalid_argument);
    json::object doc = document("[]");
    doc["cohorts"] = json::array();
    EXPECT_THROW(build_sdk_feed(doc, Bucketing::Sha1), std::invalid_argument);
    doc = document("[1]");
    EXPECT_THROW(build_sdk_feed(doc, Bucketing::Sha1), std::invalid_argument);
}
