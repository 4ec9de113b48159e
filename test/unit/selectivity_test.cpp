// The share of persons a flag selects, as the planner support function estimates it
// (core/selectivity): rollouts exactly, property filters by matching, the largest set wins.
#include "core/flag_parser.hpp"
#include "core/json_properties.hpp"
#include "core/selectivity.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace flag_eval;
using namespace flag_eval::testing_support;

namespace {

std::unique_ptr<Flag> flag_of(const std::string& json) {
    return compile_flag(parse(json), Bucketing::Xxh3);
}

double share(const Flag& flag, const std::string& properties) {
    const boost::json::value v = parse(properties);
    const JsonPropertySource source(&v.as_object());
    return enabled_share_for(flag, source);
}

const char* kProAt20OrAdultsAt50 = R"({"key": "f", "filters": {"groups": [
    {"properties": [{"key": "plan", "value": "pro", "type": "person"}], "rollout_percentage": 20},
    {"properties": [{"key": "age", "value": 18, "operator": "gte", "type": "person"}],
     "rollout_percentage": 50}]}})";

TEST(Selectivity, APureRolloutIsItsPercentageForEveryone) {
    const auto flag =
        flag_of(R"({"key": "r", "filters": {"groups": [{"rollout_percentage": 30}]}})");
    EXPECT_FALSE(reads_properties(*flag));
    EXPECT_DOUBLE_EQ(share(*flag, "{}"), 0.3);
    EXPECT_DOUBLE_EQ(enabled_share_assumed(*flag, 0.1), 0.3);
}

TEST(Selectivity, TheLargestRolloutOfTheSetsMatchedWins) {
    const auto flag = flag_of(kProAt20OrAdultsAt50);
    EXPECT_TRUE(reads_properties(*flag));
    EXPECT_DOUBLE_EQ(share(*flag, R"({"plan": "pro", "age": 30})"), 0.5);
    EXPECT_DOUBLE_EQ(share(*flag, R"({"plan": "pro", "age": 12})"), 0.2);
    EXPECT_DOUBLE_EQ(share(*flag, R"({"plan": "free", "age": 30})"), 0.5);
    EXPECT_DOUBLE_EQ(share(*flag, R"({"plan": "free", "age": 12})"), 0.0);
    EXPECT_DOUBLE_EQ(share(*flag, "{}"), 0.0);
    // Nothing known of the person: each set's filters match the share given.
    EXPECT_DOUBLE_EQ(enabled_share_assumed(*flag, 0.5), 0.25);
}

TEST(Selectivity, WhatFlagEvalNeverEnablesCountsAsNothing) {
    EXPECT_DOUBLE_EQ(share(*flag_of(R"({"key": "off", "active": false,
        "filters": {"groups": [{"rollout_percentage": 100}]}})"),
                           "{}"),
                     0.0);
    EXPECT_DOUBLE_EQ(enabled_share_assumed(*flag_of(R"({"key": "off", "active": false,
        "filters": {"groups": [{"rollout_percentage": 100}]}})"),
                                           1.0),
                     0.0);
    // A group's flag needs the group; flag_eval() evaluates persons without groups.
    EXPECT_DOUBLE_EQ(share(*flag_of(R"({"key": "g", "filters": {"aggregation_group_type_index": 0,
        "groups": [{"rollout_percentage": 100}]}})"),
                           "{}"),
                     0.0);
    // A cohort filter makes flag_eval() raise, a flag filter answers off: not matched here.
    EXPECT_DOUBLE_EQ(share(*flag_of(R"({"key": "c", "filters": {"groups": [
        {"properties": [{"key": "id", "value": 7, "type": "cohort"}]}]}})"),
                           "{}"),
                     0.0);
    EXPECT_DOUBLE_EQ(share(*flag_of(R"({"key": "d", "filters": {"groups": [
        {"properties": [{"key": "other", "value": true, "type": "flag"}]}]}})"),
                           "{}"),
                     0.0);
}

}  // namespace
