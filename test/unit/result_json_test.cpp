// The JSON shapes hosts return: the SQL detail and the /flags?v=2 body (docs/reference.md, Flag
// format and Decide protocol; the body's reference document, test/unit/flags_v2_reference.hpp).
#include "flags_v2_reference.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace flag_eval;
using namespace flag_eval::testing_support;
namespace json = boost::json;

namespace {

TEST(FlagsV2Json, CarriesMetadataReasonAndFailure) {
    const FlagSet set = FlagSet::parse(parse(R"([
        {"id": 7, "version": 3, "key": "on", "filters": {"groups": [{"properties": []}], "payloads": {"true": "{\"a\":1}"}}},
        {"id": 8, "version": 1, "key": "broken", "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 5}]}]}},
        {"id": 9, "key": "off", "active": false}])"),
                                       Bucketing::Xxh3);
    const JsonContext ctx(parse(R"({"distinct_id": "u"})"));
    const json::object body = flags_v2_json(set.evaluate_all(ctx.context()));

    EXPECT_EQ(body.at("errorsWhileComputingFlags"), true);
    const auto& flags = body.at("flags").as_object();
    EXPECT_FALSE(flags.contains("off"));  // inactive flags are omitted
    const auto& on = flags.at("on").as_object();
    EXPECT_EQ(on.at("key"), "on");
    EXPECT_EQ(on.at("enabled"), true);
    EXPECT_TRUE(on.at("variant").is_null());
    EXPECT_EQ(on.at("failed"), false);
    EXPECT_EQ(on.at("reason").at("code"), "condition_match");
    EXPECT_EQ(on.at("reason").at("condition_index"), 0);
    EXPECT_EQ(on.at("reason").at("description"), "Matched condition set 1");
    EXPECT_EQ(on.at("metadata").at("id"), 7);
    EXPECT_EQ(on.at("metadata").at("version"), 3);
    EXPECT_EQ(on.at("metadata").at("payload"), R"({"a":1})");
    EXPECT_EQ(flags.at("broken").at("failed"), true);
    EXPECT_EQ(flags.at("broken").at("enabled"), false);
}

TEST(DetailJson, ValueIsTheVariantOrTheBoolean) {
    auto multivariate =
        evaluate_one(R"({"key": "mv", "filters": {"groups": [{"properties": [], "variant": "b"}],
        "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}})",
                     R"({"distinct_id": "u"})");
    EXPECT_EQ(multivariate.at("value"), "b");
    EXPECT_EQ(multivariate.at("variant"), "b");
    auto off = evaluate_one(
        R"({"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]}})",
        R"({"distinct_id": "u"})");
    EXPECT_EQ(off.at("value"), false);
    EXPECT_TRUE(off.at("payload").is_null());
}

}  // namespace
