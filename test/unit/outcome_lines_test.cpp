// The compact outcomes decide_outcomes() sends the decide service: every outcome written is read
// back as it was, awkward strings included, and text of another shape is refused with the line
// at fault.
#include "core/outcome_lines.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace flag_eval;
using namespace flag_eval::testing_support;

namespace {

const std::string kFlags = R"({"flags": [
  {"key": "on", "version": 7, "filters": {"groups": [{"rollout_percentage": 100}]}},
  {"key": "off", "filters": {"groups": [{"properties": [{"key": "plan", "value": "pro"}]}]}},
  {"key": "odd\tkey\\with\nescapes", "filters": {"groups": [{"rollout_percentage": 100}],
    "multivariate": {"variants": [{"key": "tab\there", "rollout_percentage": 100}]}}},
  {"key": "needs-missing", "filters": {"groups": [{"properties": [
    {"key": "nowhere", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}}
]})";

TEST(OutcomeLines, ReadsBackWhatWasWritten) {
    const FlagSet set = FlagSet::parse(parse(kFlags), Bucketing::Sha1);
    const JsonContext context(
        parse(R"({"distinct_id": "u1", "person_properties": {"plan": "free"}})"));
    const EvaluationSummary summary = set.evaluate_all(context.context());
    std::string text;
    for (const FlagOutcome& o : summary.flags) append_outcome_line(text, *o.flag, o.result);

    auto read = read_outcome_lines(text);
    ASSERT_TRUE(std::holds_alternative<OutcomeLines>(read)) << std::get<std::string>(read);
    const auto& lines = std::get<OutcomeLines>(read).lines;
    ASSERT_EQ(lines.size(), summary.flags.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const FlagResult& r = summary.flags[i].result;
        SCOPED_TRACE(summary.flags[i].flag->key);
        EXPECT_EQ(lines[i].key, summary.flags[i].flag->key);
        EXPECT_EQ(lines[i].version, summary.flags[i].flag->version);
        EXPECT_EQ(lines[i].enabled, r.enabled);
        EXPECT_EQ(lines[i].failed, r.failed);
        EXPECT_EQ(lines[i].reason_code, reason_code(r.reason));
        EXPECT_EQ(reason_from_code(lines[i].reason_code), r.reason);
        EXPECT_EQ(lines[i].condition_index, r.condition_index);
        EXPECT_EQ(lines[i].variant.has_value(), r.variant != nullptr);
        if (r.variant) EXPECT_EQ(*lines[i].variant, *r.variant);
        EXPECT_EQ(lines[i].description, r.description);
    }
    EXPECT_EQ(lines[0].version, 7);
    EXPECT_TRUE(lines[0].enabled);
    EXPECT_FALSE(lines[1].enabled);
    EXPECT_EQ(lines[2].key, "odd\tkey\\with\nescapes");
    EXPECT_EQ(lines[2].variant, "tab\there");
    EXPECT_EQ(lines[3].reason_code, "missing_dependency");
    EXPECT_FALSE(lines[3].description.empty());
}

TEST(OutcomeLines, NoVariantIsApartFromAVariantNamedBackslashN) {
    const auto read = read_outcome_lines(
        "a\t1\tt\tcondition_match\t0\t\\N\t\n"
        "b\t1\tt\tcondition_match\t0\t\\\\N\t\n");
    ASSERT_TRUE(std::holds_alternative<OutcomeLines>(read));
    const auto& lines = std::get<OutcomeLines>(read).lines;
    EXPECT_FALSE(lines[0].variant.has_value());
    EXPECT_EQ(lines[1].variant, "\\N");
}

TEST(OutcomeLines, RefusesOtherShapesNamingTheLine) {
    const std::string good = "a\t1\tf\tno_condition_match\t\t\\N\t\n";
    EXPECT_TRUE(std::holds_alternative<OutcomeLines>(read_outcome_lines("")));
    for (const std::string bad : {
             good + "b\t1\tf\tno_condition_match\t\t\\N\t",           // no final newline
             good + "b\t1\tf\tno_condition_match\t\t\\N\n",           // six fields
             good + "b\t1\tf\tno_condition_match\t\t\\N\t\textra\n",  // eight
             good + "b\tone\tf\tno_condition_match\t\t\\N\t\n",       // version
             good + "b\t1\tx\tno_condition_match\t\t\\N\t\n",         // state
             good + "b\t1\tf\t\t\t\\N\t\n",                           // no reason
             good + "b\t1\tf\tcondition_match\t-1\t\\N\t\n",          // condition index
             good + "b\t1\tf\tno_condition_match\t\t\\q\t\n",         // escape
             good + "\t1\tf\tno_condition_match\t\t\\N\t\n",          // no key
         }) {
        const auto read = read_outcome_lines(bad);
        ASSERT_TRUE(std::holds_alternative<std::string>(read)) << bad;
        EXPECT_NE(std::get<std::string>(read).find("line 2"), std::string::npos)
            << std::get<std::string>(read);
    }
}

}  // namespace
