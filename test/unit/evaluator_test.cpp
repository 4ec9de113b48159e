// Evaluation behaviour the conformance corpus does not cover: super groups, legacy holdouts,
// dynamic cohorts, dependency cycles, experience continuity, identifier fallbacks.
#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace flag_eval;
using namespace flag_eval::testing_support;
namespace json = boost::json;

namespace {

const char* kEnrollmentFlag = R"({"key": "new-editor", "filters": {
    "groups": [{"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "pro"}]}],
    "super_groups": [{"properties": [{"key": "$feature_enrollment/new-editor", "type": "person",
                                       "operator": "exact", "value": ["true"]}], "rollout_percentage": 100}]}})";

TEST(SuperGroups, EnrolledPersonDecidesAlone) {
    auto d = evaluate_one(
        kEnrollmentFlag,
        R"({"distinct_id": "u1", "person_properties": {"$feature_enrollment/new-editor": "true"}})");
    EXPECT_EQ(d.at("enabled"), true);
    EXPECT_EQ(reason_of(d), "super_condition_value");
    EXPECT_EQ(d.at("reason").at("condition_index"), 0);
}

TEST(SuperGroups, OptedOutPersonIsOffEvenIfConditionsMatch) {
    auto d = evaluate_one(kEnrollmentFlag, R"({"distinct_id": "u1", "person_properties":
        {"$feature_enrollment/new-editor": "false", "plan": "pro"}})");
    EXPECT_EQ(d.at("enabled"), false);
    EXPECT_EQ(reason_of(d), "super_condition_value");
}

TEST(SuperGroups, UnansweredFallsThroughToConditions) {
    auto d = evaluate_one(kEnrollmentFlag,
                          R"({"distinct_id": "u1", "person_properties": {"plan": "pro"}})");
    EXPECT_EQ(d.at("enabled"), true);
    EXPECT_EQ(reason_of(d), "condition_match");
}

TEST(SuperGroups, FeatureEnrollmentFieldImpliesTheEnrollmentProperty) {
    auto d = evaluate_one(
        R"({"key": "eaf", "filters": {"groups": [], "feature_enrollment": true}})",
        R"({"distinct_id": "u1", "person_properties": {"$feature_enrollment/eaf": "true"}})");
    EXPECT_EQ(d.at("enabled"), true);
    EXPECT_EQ(reason_of(d), "super_condition_value");
}

TEST(Holdouts, LegacyHoldoutGroupsUseTheirVariant) {
    // user-31 hashes to 0.0195 under "holdout-" (a corpus hash vector): inside 10 %, outside 1 %.
    const char* flag = R"({"key": "exp", "filters": {"groups": [{"properties": []}],
        "holdout_groups": [{"properties": [], "rollout_percentage": %PCT%, "variant": "holdout-3"}]}})";
    auto at = [&](const char* pct) {
        std::string f = flag;
        f.replace(f.find("%PCT%"), 5, pct);
        return evaluate_one(f, R"({"distinct_id": "user-31"})");
    };
    auto in = at("10");
    EXPECT_EQ(in.at("variant"), "holdout-3");
    EXPECT_EQ(reason_of(in), "holdout_condition_value");
    EXPECT_TRUE(in.at("reason").at("condition_index").is_null());
    auto out = at("1");
    EXPECT_EQ(reason_of(out), "condition_match");
    EXPECT_TRUE(out.at("variant").is_null());
}

const char* kCohortFeed = R"({
  "flags": [{"key": "cohort-flag", "filters": {"groups": [
      {"properties": [{"key": "id", "type": "cohort", "value": 10}]}]}},
            {"key": "not-in-cohort", "filters": {"groups": [
      {"properties": [{"key": "id", "type": "cohort", "operator": "not_in", "value": 10}]}]}}],
  "cohorts": {
    "10": {"type": "OR", "values": [
        {"type": "AND", "values": [
            {"key": "country", "type": "person", "operator": "exact", "value": "FR"},
            {"key": "id", "type": "cohort", "value": 11, "negation": true}]},
        {"type": "AND", "values": [{"key": "vip", "type": "person", "operator": "exact", "value": "yes"}]}]},
    "11": {"type": "AND", "values": [{"key": "banned", "type": "person", "operator": "exact", "value": "yes"}]}
  }})";

bool cohort_flag_on(const std::string& person_properties, const char* key = "cohort-flag") {
    auto out = evaluate_all(
        kCohortFeed, R"({"distinct_id": "u", "person_properties": )" + person_properties + "}");
    return out.at("flags").at(key).at("enabled").as_bool();
}

TEST(Cohorts, NestedGroupsNegationAndReferences) {
    EXPECT_TRUE(cohort_flag_on(R"({"country": "FR"})"));
    EXPECT_FALSE(cohort_flag_on(R"({"country": "FR", "banned": "yes"})"));  // excluded by cohort 11
    EXPECT_TRUE(cohort_flag_on(R"({"country": "DE", "vip": "yes"})"));      // the other OR branch
    EXPECT_FALSE(cohort_flag_on(R"({"country": "DE"})"));
    EXPECT_FALSE(cohort_flag_on(R"({"country": "FR"})", "not-in-cohort"));
    EXPECT_TRUE(cohort_flag_on(R"({"country": "DE"})", "not-in-cohort"));
}

// PostHog's server negates a cohort's filters only; a flag's condition sets say not_icontains,
// is_not or not_in instead, and a `negation` there changes nothing (posthog-node agrees).
TEST(Cohorts, NegationCountsInsideCohortsOnly) {
    auto out = evaluate_all(R"({"flags": [
        {"key": "pro", "filters": {"groups": [{"properties": [
            {"key": "plan", "type": "person", "operator": "exact", "value": "pro", "negation": true}]}]}},
        {"key": "in-cohort", "filters": {"groups": [{"properties": [
            {"key": "id", "type": "cohort", "value": 10, "negation": true}]}]}}],
      "cohorts": {"10": {"type": "AND", "values": [
            {"key": "plan", "type": "person", "operator": "exact", "value": "pro", "negation": true}]}}})",
                            R"({"distinct_id": "u", "person_properties": {"plan": "pro"}})");
    EXPECT_TRUE(out.at("flags").at("pro").at("enabled").as_bool());
    // The cohort's own filter is negated (a pro is not in it); the flag's negation is ignored.
    EXPECT_FALSE(out.at("flags").at("in-cohort").at("enabled").as_bool());
}

TEST(Cohorts, UnknownCohortFailsOnlyThatFlag) {
    auto out = evaluate_all(R"({"flags": [
        {"key": "needs-cohort", "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 99}]}]}},
        {"key": "plain", "filters": {"groups": [{"properties": []}]}}]})",
                            R"({"distinct_id": "u"})");
    EXPECT_EQ(out.at("errorsWhileComputingFlags"), true);
    EXPECT_EQ(out.at("flags").at("needs-cohort").at("failed"), true);
    EXPECT_EQ(out.at("flags").at("plain").at("enabled"), true);
    EXPECT_FALSE(out.at("flags").at("plain").as_object().contains("failed"));
}

TEST(Cohorts, ReferenceCycleFailsInsteadOfRecursingForever) {
    auto out = evaluate_all(R"({"flags": [{"key": "f", "filters": {"groups": [
          {"properties": [{"key": "id", "type": "cohort", "value": 1}]}]}}],
        "cohorts": {"1": {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 2}]},
                    "2": {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 1}]}}})",
                            R"({"distinct_id": "u"})");
    EXPECT_EQ(out.at("flags").at("f").at("failed"), true);
}

TEST(Dependencies, CycleIsAnErrorOfItsFlagsOnly) {
    auto dep = [](const char* key, const char* on) {
        return std::string(R"({"key": ")") + key +
               R"(", "filters": {"groups": [{"properties": [{"key": ")" + on +
               R"(", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}})";
    };
    const std::string defs = "[" + dep("a", "b") + "," + dep("b", "a") + "," + dep("c", "a") + "," +
                             R"({"key": "free", "filters": {"groups": [{"properties": []}]}}, )" +
                             dep("d", "free") + "]";
    auto out = evaluate_all(defs, R"({"distinct_id": "u"})");
    const auto& flags = out.at("flags").as_object();
    for (const char* k : {"a", "b", "c"}) {
        EXPECT_EQ(flags.at(k).at("failed"), true) << k;
        EXPECT_EQ(reason_of(flags.at(k).as_object()), "missing_dependency") << k;
    }
    EXPECT_EQ(flags.at("d").at("enabled"), true);
    EXPECT_EQ(out.at("errorsWhileComputingFlags"), true);
}

TEST(Dependencies, InactiveTargetCountsAsOff) {
    auto out = evaluate_all(R"([
        {"key": "off", "active": false, "filters": {"groups": [{"properties": []}]}},
        {"key": "needs-off", "filters": {"groups": [{"properties": [
            {"key": "off", "type": "flag", "operator": "flag_evaluates_to", "value": false}]}]}}])",
                            R"({"distinct_id": "u"})");
    EXPECT_FALSE(out.at("flags").as_object().contains("off"));
    EXPECT_EQ(out.at("flags").at("needs-off").at("enabled"), true);
}

TEST(Dependencies, DeepChainIsBoundedNotACrash) {
    std::string defs = "[";
    for (int i = 0; i < 2000; ++i) {
        if (i) defs += ",";
        defs +=
            R"({"key": "f)" + std::to_string(i) + R"(", "filters": {"groups": [{"properties": [)";
        if (i + 1 < 2000)
            defs += R"({"key": "f)" + std::to_string(i + 1) +
                    R"(", "type": "flag", "operator": "flag_evaluates_to", "value": true})";
        defs += "]}]}}";
    }
    defs += "]";
    auto out = evaluate_all(defs, R"({"distinct_id": "u"})");
    EXPECT_EQ(out.at("flags").as_object().size(), 2000u);
    EXPECT_EQ(out.at("flags").at("f1999").at("enabled"), true);
    EXPECT_EQ(out.at("flags").at("f0").at("failed"), true);
}

// evaluate_one() (preview's path) answers each flag as evaluate_all() does, dependencies and
// cycles included, and does not answer deleted or absent keys.
TEST(Dependencies, OneFlagAnswersAsTheWholeSet) {
    const std::string defs = R"({"flags": [
        {"key": "a", "filters": {"groups": [{"properties": [
            {"key": "b", "type": "flag", "operator": "flag_evaluates_to", "value": "x"}]}]}},
        {"key": "b", "filters": {"groups": [{"properties": [], "rollout_percentage": 70}],
            "multivariate": {"variants": [{"key": "x", "rollout_percentage": 60}, {"key": "y", "rollout_percentage": 40}]}}},
        {"key": "c", "filters": {"groups": [{"properties": [
            {"key": "d", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}},
        {"key": "d", "filters": {"groups": [{"properties": [
            {"key": "c", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}},
        {"key": "needs-missing", "filters": {"groups": [{"properties": [
            {"key": "nowhere", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}},
        {"key": "needs-off", "filters": {"groups": [{"properties": [
            {"key": "off", "type": "flag", "operator": "flag_evaluates_to", "value": false}]}]}},
        {"key": "off", "active": false, "filters": {"groups": [{"properties": []}]}},
        {"key": "gone", "deleted": true, "filters": {"groups": [{"properties": []}]}}]})";
    const FlagSet set = FlagSet::parse(parse(defs), Bucketing::Sha1);
    for (int n = 0; n < 200; ++n) {
        const JsonContext ctx(parse(R"({"distinct_id": "user-)" + std::to_string(n) + R"("})"));
        const EvaluationSummary all = set.evaluate_all(ctx.context());
        for (const FlagOutcome& o : all.flags) {
            const auto one = set.evaluate_one(o.flag->key, ctx.context());
            ASSERT_TRUE(one.has_value()) << o.flag->key;
            EXPECT_EQ(result_detail_json(*o.flag, *one), result_detail_json(*o.flag, o.result))
                << o.flag->key << " for user-" << n;
        }
    }
    const JsonContext ctx(parse(R"({"distinct_id": "u"})"));
    EXPECT_EQ(set.evaluate_one("c", ctx.context())->reason, Reason::MissingDependency);
    EXPECT_FALSE(set.evaluate_one("gone", ctx.context()).has_value());
    EXPECT_FALSE(set.evaluate_one("absent", ctx.context()).has_value());
    EXPECT_TRUE(set.evaluate_one("off", ctx.context()).has_value());  // inactive, not deleted
}

TEST(Identifiers, DistinctIdAndGroupKeyAreProperties) {
    auto d = evaluate_one(R"({"key": "f", "filters": {"groups": [{"properties": [
        {"key": "distinct_id", "type": "person", "operator": "exact", "value": "alice"}]}]}})",
                          R"({"distinct_id": "alice"})");
    EXPECT_EQ(d.at("enabled"), true);
    auto g = evaluate_one(
        R"({"key": "g", "filters": {"aggregation_group_type_index": 1, "groups": [{"properties": [
        {"key": "$group_key", "type": "group", "group_type_index": 1, "operator": "exact", "value": "acme"}]}]}})",
        R"({"distinct_id": "u", "groups": {"company": "acme"}, "group_type_mapping": {"1": "company"}})");
    EXPECT_EQ(g.at("enabled"), true);
}

class FixedOverride final : public HashKeyOverrides {
public:
    std::optional<std::string_view> for_flag(std::string_view) const override { return "anon-1"; }
};

TEST(ExperienceContinuity, RecordedHashKeyBucketsTheSubject) {
    const auto flag = compile_flag(parse(R"({"key": "cont", "ensure_experience_continuity": true,
        "filters": {"groups": [{"properties": [], "rollout_percentage": 50}],
                    "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}})"),
                                   Bucketing::Xxh3);
    FixedOverride overrides;
    EmptyPropertySource none;
    // Every distinct id with the same recorded key gets the anonymous id's answer.
    EvaluationContext anon;
    anon.distinct_id = "anon-1";
    anon.person_properties = &none;
    const FlagResult expected = evaluate_flag(*flag, anon, nullptr, nullptr);
    for (const char* id : {"user-1", "user-2", "user-3", "user-4"}) {
        EvaluationContext ctx;
        ctx.distinct_id = id;
        ctx.person_properties = &none;
        ctx.hash_key_overrides = &overrides;
        const FlagResult r = evaluate_flag(*flag, ctx, nullptr, nullptr);
        EXPECT_EQ(r.enabled, expected.enabled);
        EXPECT_EQ(r.variant ? *r.variant : "", expected.variant ? *expected.variant : "");
    }
}

TEST(Payloads, NonStringPayloadIsEncoded) {
    auto d = evaluate_one(
        R"({"key": "p", "filters": {"groups": [{"properties": []}], "payloads": {"true": {"a": 1}}}})",
        R"({"distinct_id": "u"})");
    EXPECT_EQ(d.at("payload"), R"({"a":1})");
}

TEST(Reasons, FlagDisabledWhenEvaluatedAlone) {
    auto d = evaluate_one(
        R"({"key": "off", "active": false, "filters": {"groups": [{"properties": []}]}})",
        R"({"distinct_id": "u"})");
    EXPECT_EQ(reason_of(d), "flag_disabled");
    EXPECT_EQ(d.at("enabled"), false);
}

}  // namespace

namespace {

// Properties read from JSON compare like the reference's: 1.5 reads "1.5", an integer its digits.
TEST(JsonProperties, NumbersHaveTheReferenceStringForm) {
    const char* flag = R"({"key": "n", "filters": {"groups": [{"properties": [
        {"key": "p", "type": "person", "operator": "exact", "value": "%V%"}]}]}})";
    auto on = [&](const char* filter_value, const char* property) {
        std::string f = flag;
        f.replace(f.find("%V%"), 3, filter_value);
        return evaluate_one(f, std::string(R"({"distinct_id": "u", "person_properties": {"p": )") +
                                   property + "}}")
            .at("enabled")
            .as_bool();
    };
    EXPECT_TRUE(on("1.5", "1.5"));
    EXPECT_TRUE(on("42", "42"));
    EXPECT_FALSE(on("42", "42.5"));
    // Integers at both ends of JSON's integer kinds (int64 and uint64) keep all their digits.
    EXPECT_TRUE(on("-9223372036854775808", "-9223372036854775808"));
    EXPECT_TRUE(on("18446744073709551615", "18446744073709551615"));
    EXPECT_FALSE(on("18446744073709551614", "18446744073709551615"));
}

TEST(FlagSetKeys, UniqueUnlessTwoLiveFlagsShareOne) {
    const auto keys_unique = [](const char* flags) {
        return FlagSet::parse(parse(flags), Bucketing::Sha1).keys_unique();
    };
    EXPECT_TRUE(keys_unique(R"([{"key": "a"}, {"key": "b"}])"));
    EXPECT_TRUE(keys_unique(R"([{"key": "a", "deleted": true}, {"key": "a"}])"));
    EXPECT_FALSE(keys_unique(R"([{"key": "a"}, {"key": "b"}, {"key": "a", "active": false}])"));
}

}  // namespace
