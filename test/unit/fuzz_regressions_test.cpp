// Inputs the libFuzzer targets (test/fuzz/) found to crash or to hit undefined behaviour, each kept
// here with what it must do instead. Undefined behaviour shows under the sanitizers
// (scripts/test-sanitize.sh, and test/fuzz/run.sh replays test/fuzz/regressions/ too).
#include "core/bucketing.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string_view>

using namespace flag_eval;
using namespace flag_eval::testing_support;

namespace {

// flag_definition_fuzz: a holdout hashes "holdout-" + identifier even when the identifier is
// empty, and a context without distinct_id leaves it as a default string_view (null data):
// hash01 passed that null pointer to memcpy, which is undefined even for zero bytes.
// test/fuzz/regressions/flag_definition_fuzz/holdout-without-distinct-id
TEST(FuzzRegressions, HoldoutWithoutDistinctIdHashesThePrefixAlone) {
    for (Bucketing b : {Bucketing::Sha1, Bucketing::Xxh3}) {
        const double empty_literal = hash01(b, "holdout-", "", "");
        EXPECT_EQ(hash01(b, "holdout-", std::string_view{}, ""), empty_literal);
        EXPECT_EQ(hash01(b, "holdout-", std::string_view{}, std::string_view{}), empty_literal);
        EXPECT_EQ(hash01(b, std::string_view{}, "id", std::string_view{}), hash01(b, "", "id", ""));
    }

    const char* flag = R"({"id": 113, "key": "checkout-experiment", "active": true, "filters": {
        "groups": [{"properties": [], "rollout_percentage": 100}],
        "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50},
                                      {"key": "test", "rollout_percentage": 50}]},
        "holdout": {"id": 7, "exclusion_percentage": 100}}})";
    // Everyone is in a 100% holdout, whatever the identifier hashes to.
    for (const char* context : {R"({"person_properties": {}})", R"({"distinct_id": ""})"}) {
        SCOPED_TRACE(context);
        const auto detail = evaluate_one(flag, context);
        EXPECT_EQ(reason_of(detail), "holdout_condition_value");
        EXPECT_EQ(detail.at("variant"), "holdout-7");
    }
}

}  // namespace
