// Who a condition set targets and what buckets it, as PostHog's flags server does: mixed user and
// group targeting (a condition set's own aggregation_group_type_index) and device bucketing
// (bucketing_identifier "device_id"), and the team's property_matching_version in a feed.
#include "core/bucketing.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace flag_eval;
using namespace flag_eval::testing_support;
namespace json = boost::json;

namespace {

bool in_rollout(const std::string& key, const std::string& identifier, double percentage) {
    return hash01(Bucketing::Sha1, key + ".", identifier, "") <= percentage / 100.0;
}

// The variant of a 50 / 50 split ("a", "b") for the identifier.
std::string split_variant(const std::string& key, const std::string& identifier) {
    return hash01(Bucketing::Sha1, key + ".", identifier, "variant") < 0.5 ? "a" : "b";
}

json::object flag_result(const std::string& definitions, const std::string& context,
                         const std::string& key) {
    return evaluate_all(definitions, context).at("flags").at(key).as_object();
}

// A flag that targets gold organizations (by organization) or corp employees (by person),
// both at 50 %, with a 50 / 50 variant split. As PostHog stores a mixed flag, its own
// aggregation is null.
const std::string kMixed = R"({"flags": [{"key": "mixed", "filters": {
    "aggregation_group_type_index": null,
    "groups": [
      {"aggregation_group_type_index": 0, "rollout_percentage": 50, "properties": [
        {"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}]},
      {"aggregation_group_type_index": null, "rollout_percentage": 50, "properties": [
        {"key": "email", "type": "person", "operator": "icontains", "value": "@corp.com"}]}],
    "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}}],
  "group_type_mapping": {"0": "organization"}})";

std::string org_context(const std::string& distinct_id, const std::string& org,
                        const std::string& tier, const std::string& email = "x@home.org") {
    return R"({"distinct_id": ")" + distinct_id + R"(", "person_properties": {"email": ")" + email +
           R"("}, "groups": {"organization": ")" + org +
           R"("}, "group_properties": {"organization": {"tier": ")" + tier + R"("}}})";
}

TEST(MixedTargeting, GroupConditionBucketsRolloutAndVariantByGroupKey) {
    int enabled = 0;
    for (int org = 0; org < 200; ++org) {
        const std::string key = "org-" + std::to_string(org);
        // Two persons of the same organization get the organization's answer.
        const auto first = flag_result(kMixed, org_context("alice", key, "gold"), "mixed");
        const auto second = flag_result(kMixed, org_context("bob", key, "gold"), "mixed");
        EXPECT_EQ(first, second) << key;
        const bool expected = in_rollout("mixed", key, 50);
        EXPECT_EQ(first.at("enabled").as_bool(), expected) << key;
        if (!expected) continue;
        ++enabled;
        EXPECT_EQ(first.at("variant"), json::value(split_variant("mixed", key))) << key;
        EXPECT_EQ(reason_of(first), "condition_match");
        EXPECT_EQ(first.at("reason").at("condition_index"), 0);
    }
    EXPECT_GT(enabled, 60);
    EXPECT_LT(enabled, 140);
}

TEST(MixedTargeting, PersonConditionBucketsByDistinctId) {
    for (int n = 0; n < 200; ++n) {
        const std::string id = "user-" + std::to_string(n);
        // In a silver organization: only the person condition can match.
        const auto r =
            flag_result(kMixed, org_context(id, "org-1", "silver", "me@corp.com"), "mixed");
        EXPECT_EQ(r.at("enabled").as_bool(), in_rollout("mixed", id, 50)) << id;
        if (r.at("enabled").as_bool()) {
            EXPECT_EQ(r.at("variant"), json::value(split_variant("mixed", id))) << id;
            EXPECT_EQ(r.at("reason").at("condition_index"), 1);
        }
    }
}

TEST(MixedTargeting, GroupConditionIsSkippedWithoutTheGroup) {
    // No organization: the group condition is not evaluated; the person condition still is.
    const std::string no_group =
        R"({"distinct_id": "user-1", "person_properties": {"email": "me@home.org"}})";
    const auto r = flag_result(kMixed, no_group, "mixed");
    EXPECT_EQ(r.at("enabled"), false);
    EXPECT_FALSE(r.contains("failed"));
    EXPECT_EQ(reason_of(r), "no_condition_match");
    EXPECT_EQ(r.at("reason").at("description"),
              "No matching condition set (group conditions were not evaluated because no group "
              "type was provided)");

    // Only group conditions, and no group: no_group_type, at the last condition skipped.
    const std::string groups_only = R"({"flags": [{"key": "g", "filters": {"groups": [
        {"aggregation_group_type_index": 0, "properties": []},
        {"aggregation_group_type_index": 1, "properties": []}]}}],
      "group_type_mapping": {"0": "organization", "1": "company"}})";
    const auto g = flag_result(groups_only, R"({"distinct_id": "user-1"})", "g");
    EXPECT_EQ(reason_of(g), "no_group_type");
    EXPECT_EQ(g.at("reason").at("condition_index"), 1);
    const auto c =
        flag_result(groups_only, R"({"distinct_id": "u", "groups": {"company": "c-1"}})", "g");
    EXPECT_EQ(c.at("enabled"), true);
    EXPECT_EQ(c.at("reason").at("condition_index"), 1);
}

TEST(MixedTargeting, NullAggregationMakesAConditionPersonLevelInAGroupFlag) {
    const std::string defs =
        R"({"flags": [{"key": "f", "filters": {"aggregation_group_type_index": 0,
        "groups": [{"aggregation_group_type_index": null, "rollout_percentage": 50, "properties": []}]}}],
      "group_type_mapping": {"0": "organization"}})";
    for (int n = 0; n < 50; ++n) {
        const std::string id = "user-" + std::to_string(n);
        const auto r = flag_result(
            defs, R"({"distinct_id": ")" + id + R"(", "groups": {"organization": "org-7"}})", "f");
        EXPECT_EQ(r.at("enabled").as_bool(), in_rollout("f", id, 50)) << id;
    }
}

TEST(MixedTargeting, WithoutOwnAggregationConditionsFollowTheFlag) {
    // A plain group flag keeps its answer: no group, no_group_type at condition 0.
    const std::string defs =
        R"({"flags": [{"key": "f", "filters": {"aggregation_group_type_index": 0,
        "groups": [{"properties": [], "rollout_percentage": 100}]}}], "group_type_mapping": {"0": "organization"}})";
    const auto r = flag_result(defs, R"({"distinct_id": "u"})", "f");
    EXPECT_EQ(reason_of(r), "no_group_type");
    EXPECT_EQ(r.at("reason").at("condition_index"), 0);
}

const std::string kDeviceFlag = R"({"flags": [{"key": "dev", "bucketing_identifier": "device_id",
    "ensure_experience_continuity": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 50}],
    "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}}]})";

TEST(DeviceBucketing, TheDeviceIdBuckets) {
    for (int n = 0; n < 200; ++n) {
        const std::string device = "device-" + std::to_string(n);
        // The same device gives the same answer whoever the person is.
        const auto first = flag_result(
            kDeviceFlag, R"({"distinct_id": "alice", "$device_id": ")" + device + R"("})", "dev");
        const auto second = flag_result(
            kDeviceFlag, R"({"distinct_id": "bob", "device_id": ")" + device + R"("})", "dev");
        EXPECT_EQ(first, second) << device;
        EXPECT_EQ(first.at("enabled").as_bool(), in_rollout("dev", device, 50)) << device;
        if (first.at("enabled").as_bool())
            EXPECT_EQ(first.at("variant"), json::value(split_variant("dev", device))) << device;
    }
}

TEST(DeviceBucketing, ThePersonPropertyIsTheFallback) {
    const auto from_property = flag_result(
        kDeviceFlag, R"({"distinct_id": "alice", "person_properties": {"$device_id": "device-3"}})",
        "dev");
    const auto from_request =
        flag_result(kDeviceFlag, R"({"distinct_id": "alice", "device_id": "device-3"})", "dev");
    EXPECT_EQ(from_property, from_request);
    // The request's device id wins over the property.
    const auto both = flag_result(
        kDeviceFlag,
        R"({"distinct_id": "alice", "device_id": "device-3", "person_properties": {"$device_id": "device-4"}})",
        "dev");
    EXPECT_EQ(both, from_request);
}

TEST(DeviceBucketing, WithoutADeviceIdPersonConditionsDoNotMatch) {
    const std::string full = R"({"flags": [{"key": "full", "bucketing_identifier": "device_id",
        "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}]})";
    for (const char* context :
         {R"({"distinct_id": "alice"})", R"({"distinct_id": "alice", "device_id": ""})",
          R"({"distinct_id": "alice", "person_properties": {"$device_id": 5}})"}) {
        const auto r = flag_result(full, context, "full");
        EXPECT_EQ(r.at("enabled"), false) << context;
        EXPECT_FALSE(r.contains("failed")) << context;
        EXPECT_EQ(reason_of(r), "out_of_rollout_bound") << context;
    }
}

class RecordedKey final : public HashKeyOverrides {
public:
    std::optional<std::string_view> for_flag(std::string_view) const override { return "anon-1"; }
};

TEST(DeviceBucketing, TheDeviceIdWinsOverAContinuityKey) {
    const FlagSet set = FlagSet::parse(parse(kDeviceFlag), Bucketing::Sha1);
    RecordedKey recorded;
    for (int n = 0; n < 50; ++n) {
        const std::string device = "device-" + std::to_string(n);
        const JsonContext ctx(
            parse(R"({"distinct_id": "alice", "device_id": ")" + device + R"("})"));
        EvaluationContext with_key = ctx.context();
        with_key.hash_key_overrides = &recorded;
        const auto r = set.evaluate_one("dev", with_key);
        EXPECT_EQ(r->enabled, in_rollout("dev", device, 50)) << device;
    }
}

TEST(DeviceBucketing, GroupFlagsAndGroupConditionsIgnoreIt) {
    const std::string defs = R"({"flags": [{"key": "g", "bucketing_identifier": "device_id",
        "filters": {"aggregation_group_type_index": 0, "groups": [{"properties": [], "rollout_percentage": 50}]}}],
      "group_type_mapping": {"0": "organization"}})";
    for (int n = 0; n < 50; ++n) {
        const std::string org = "org-" + std::to_string(n);
        const auto r = flag_result(
            defs, R"({"distinct_id": "u", "groups": {"organization": ")" + org + R"("}})", "g");
        EXPECT_EQ(r.at("enabled").as_bool(), in_rollout("g", org, 50)) << org;
    }
    // A mixed device-bucketed flag without a device id still matches through its group condition.
    const std::string mixed =
        R"({"flags": [{"key": "m", "bucketing_identifier": "device_id", "filters": {
        "groups": [{"aggregation_group_type_index": null, "properties": []},
                   {"aggregation_group_type_index": 0, "properties": []}]}}],
      "group_type_mapping": {"0": "organization"}})";
    const auto m =
        flag_result(mixed, R"({"distinct_id": "u", "groups": {"organization": "o"}})", "m");
    EXPECT_EQ(m.at("enabled"), true);
    EXPECT_EQ(m.at("reason").at("condition_index"), 1);
}

TEST(DeviceBucketing, OtherIdentifiersMeanTheDistinctId) {
    for (const char* identifier : {R"("distinct_id")", R"("")", "null", R"("unknown")"}) {
        const std::string defs =
            std::string(R"([{"key": "f", "bucketing_identifier": )") + identifier +
            R"(, "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}}])";
        for (int n = 0; n < 20; ++n) {
            const std::string id = "user-" + std::to_string(n);
            const auto r = flag_result(
                defs, R"({"distinct_id": ")" + id + R"(", "device_id": "device-1"})", "f");
            EXPECT_EQ(r.at("enabled").as_bool(), in_rollout("f", id, 50))
                << identifier << " " << id;
        }
    }
}

TEST(PropertyMatchingVersion, TheFeedSelectsIt) {
    auto defs = [](const char* version) {
        return std::string(R"({"property_matching_version": )") + version + R"(, "flags": [
            {"key": "f", "filters": {"groups": [{"properties": [
                {"key": "beta", "type": "person", "operator": "exact", "value": false}]}]}}],
          "cohorts": {"1": {"type": "AND", "values": [
                {"key": "beta", "type": "person", "operator": "exact", "value": false}]}}})";
    };
    const std::string banana = R"({"distinct_id": "u", "person_properties": {"beta": "banana"}})";
    EXPECT_EQ(flag_result(defs("1"), banana, "f").at("enabled"), true);   // legacy truthiness
    EXPECT_EQ(flag_result(defs("2"), banana, "f").at("enabled"), false);  // plain equality
    EXPECT_EQ(flag_result(defs("null"), banana, "f").at("enabled"), true);
    EXPECT_EQ(flag_result(defs("\"2\""), banana, "f").at("enabled"), true);  // only the number 2
    // Cohorts of the feed follow it too.
    const std::string cohort_flag = R"({"key": "c", "filters": {"groups": [{"properties": [
        {"key": "id", "type": "cohort", "value": 1}]}]}})";
    for (const char* version : {"1", "2"}) {
        std::string d = defs(version);
        d.insert(d.find("[") + 1, cohort_flag + ",");
        EXPECT_EQ(flag_result(d, banana, "c").at("enabled"), std::string(version) == "1")
            << version;
    }
}

}  // namespace
