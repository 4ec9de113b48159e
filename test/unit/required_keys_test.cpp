// The property keys a flag requires (core/required_keys), which the planner turns into a GIN
// index pre-filter: a key is required only where a person without it can never be enabled.
#include "core/evaluator.hpp"
#include "core/flag_parser.hpp"
#include "core/json_properties.hpp"
#include "core/required_keys.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace flag_eval;
using namespace flag_eval::testing_support;

namespace {

using Alternatives = std::vector<std::vector<std::string>>;

std::optional<RequiredKeys> keys_of(const std::string& json) {
    return required_keys(*compile_flag(parse(json), Bucketing::Xxh3));
}

std::string one_set(const std::string& filters, int rollout = 100) {
    return R"({"key": "f", "filters": {"groups": [{"properties": [)" + filters +
           R"(], "rollout_percentage": )" + std::to_string(rollout) + "}]}}";
}

std::string person_filter(const std::string& key, const std::string& op,
                          const std::string& value = "\"x\"") {
    return R"({"key": ")" + key + R"(", "type": "person", "operator": ")" + op + R"(", "value": )" +
           value + "}";
}

TEST(RequiredKeys, EachSetNeedsTheKeysOfItsPositiveFilters) {
    const auto keys = keys_of(R"({"key": "f", "filters": {"groups": [
        {"properties": [{"key": "plan", "value": "pro", "type": "person"},
                        {"key": "age", "value": 18, "operator": "gte", "type": "person"},
                        {"key": "plan", "value": ["pro"], "type": "person"}]},
        {"properties": [{"key": "email", "operator": "is_set", "value": "is_set", "type": "person"}],
         "rollout_percentage": 10}]}})");
    ASSERT_TRUE(keys);
    EXPECT_EQ(keys->alternatives, (Alternatives{{"plan", "age"}, {"email"}}));
}

TEST(RequiredKeys, FiltersAMissingKeySatisfiesRequireNothing) {
    for (const char* op : {"is_not", "not_icontains", "not_regex", "is_not_set"})
        EXPECT_FALSE(keys_of(one_set(person_filter("plan", op)))) << op;
    // ... but the set still needs the keys of its other filters.
    const auto keys = keys_of(
        one_set(person_filter("plan", "is_not") + "," + person_filter("email", "icontains")));
    ASSERT_TRUE(keys);
    EXPECT_EQ(keys->alternatives, (Alternatives{{"email"}}));
}

TEST(RequiredKeys, AnyWayInWithoutAKeyLeavesNoPreFilter) {
    // A set without filters, one with only filters a missing key satisfies, a holdout (enabled
    // by hash alone), cohorts and dependencies (not analysed), groups, an inactive flag.
    EXPECT_FALSE(keys_of(R"({"key": "f", "filters": {"groups": [
        {"properties": [{"key": "plan", "value": "pro", "type": "person"}]},
        {"properties": [], "rollout_percentage": 5}]}})"));
    EXPECT_FALSE(keys_of(R"({"key": "f", "filters": {"groups": [
        {"properties": [{"key": "plan", "value": "pro", "type": "person"}]}],
        "holdout_groups": [{"properties": [], "rollout_percentage": 10, "variant": "holdout-3"}]}})"));
    EXPECT_FALSE(keys_of(R"({"key": "f", "filters": {"groups": [
        {"properties": [{"key": "plan", "value": "pro", "type": "person"},
                        {"key": "id", "type": "cohort", "value": 10}]}]}})"));
    EXPECT_FALSE(keys_of(R"({"key": "f", "filters": {"groups": [
        {"properties": [{"key": "plan", "value": "pro", "type": "person"},
                        {"key": "other", "type": "flag", "value": true, "operator": "flag_evaluates_to"}]}]}})"));
    EXPECT_FALSE(keys_of(R"({"key": "f", "filters": {"aggregation_group_type_index": 0, "groups": [
        {"properties": [{"key": "plan", "value": "pro", "type": "group", "group_type_index": 0}]}]}})"));
    EXPECT_FALSE(keys_of(R"({"key": "f", "active": false, "filters": {"groups": [
        {"properties": [{"key": "plan", "value": "pro", "type": "person"}]}]}})"));
}

TEST(RequiredKeys, TheDistinctIdStandsInForItsKey) {
    EXPECT_FALSE(keys_of(one_set(person_filter("distinct_id", "exact", "\"u1\""))));
}

TEST(RequiredKeys, EarlyAccessEnrollmentIsAnotherWayIn) {
    const auto keys = keys_of(R"({"key": "eaf", "filters": {"feature_enrollment": true,
        "groups": [{"properties": [{"key": "plan", "value": "pro", "type": "person"}]}]}})");
    ASSERT_TRUE(keys);
    EXPECT_EQ(keys->alternatives, (Alternatives{{"$feature_enrollment/eaf"}, {"plan"}}));
}

TEST(RequiredKeys, TheRarestKeyOfEachAlternativeStandsForIt) {
    const RequiredKeys required{{{"plan", "beta"}, {"invite"}, {"beta", "age"}}};
    const auto share = [](std::string_view key) {
        return key == "plan" ? 0.9 : key == "age" ? 0.5 : key == "beta" ? 0.01 : 0.02;
    };
    EXPECT_EQ(rarest_key_each(required, share), (std::vector<std::string>{"beta", "invite"}));
    // Nothing known: the first key of each.
    EXPECT_EQ(rarest_key_each(required, [](std::string_view) { return 0.0; }),
              (std::vector<std::string>{"plan", "invite", "beta"}));
}

// The promise itself, over every operator: whoever the flag enables has all the keys of some
// alternative. Each person lacks some of the keys; values are chosen to satisfy the positive
// filters often.
TEST(RequiredKeys, NoOneEnabledLacksTheKeysOfEveryAlternative) {
    const std::vector<std::string> filters = {
        person_filter("plan", "exact", "[\"pro\", \"free\"]"),
        person_filter("plan", "is_not", "\"pro\""),
        person_filter("email", "icontains", "\"@\""),
        person_filter("email", "not_icontains", "\"spam\""),
        person_filter("email", "regex", "\"^[a-z]\""),
        person_filter("email", "not_regex", "\"^z\""),
        person_filter("age", "gt", "10"),
        person_filter("age", "lt", "99"),
        person_filter("app_version", "semver_gte", "\"1.0.0\""),
        person_filter("signed_up_at", "is_date_before", "\"2030-01-01\""),
        person_filter("beta", "is_set", "\"is_set\""),
        person_filter("beta", "is_not_set", "\"is_not_set\""),
        person_filter("distinct_id", "icontains", "\"user\""),
    };
    const std::vector<std::string> people = {
        "{}",
        R"({"plan": "pro"})",
        R"({"plan": "free", "email": "a@b.c", "age": 30})",
        R"({"email": "a@b.c", "age": 30, "app_version": "2.0.0"})",
        R"({"signed_up_at": "2020-01-01", "beta": true})",
        R"({"plan": null, "email": null, "age": null})",
        R"({"app_version": "1.2.3", "age": 50, "signed_up_at": "2021-05-05"})",
    };
    int enabled = 0;
    for (std::size_t a = 0; a < filters.size(); ++a)
        for (std::size_t b = 0; b < filters.size(); ++b) {
            const std::string flag_json =
                R"({"key": "f", "filters": {"groups": [{"properties": [)" + filters[a] +
                R"(]}, {"properties": [)" + filters[b] + "," + filters[(a + b) % filters.size()] +
                "]}]}}";
            const auto flag = compile_flag(parse(flag_json), Bucketing::Xxh3);
            const auto keys = required_keys(*flag);
            if (!keys) continue;
            for (const std::string& person : people) {
                const boost::json::value doc = parse(person);
                const JsonPropertySource source(&doc.as_object());
                EvaluationContext context;
                context.distinct_id = "user-1";
                context.person_properties = &source;
                if (!evaluate_flag(*flag, context, nullptr, nullptr).enabled) continue;
                ++enabled;
                bool has_an_alternative = false;
                for (const auto& alternative : keys->alternatives) {
                    bool all = true;
                    for (const std::string& key : alternative)
                        all = all && doc.as_object().contains(key);
                    has_an_alternative = has_an_alternative || all;
                }
                EXPECT_TRUE(has_an_alternative) << flag_json << "\n" << person;
            }
        }
    EXPECT_GT(enabled, 50);  // the check saw enough enabled persons to mean something
}

}  // namespace
