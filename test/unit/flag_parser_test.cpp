// Malformed definitions are rejected with the JSON path of the problem; validation lists
// structural and semantic problems without throwing.
#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace flag_eval;
using namespace flag_eval::testing_support;

namespace {

std::string rejection_path(const std::string& flag) {
    try {
        compile_flag(parse(flag), Bucketing::Xxh3);
    } catch (const InvalidDefinition& e) {
        return e.path();
    }
    return "(accepted)";
}

TEST(FlagParser, RejectsStructuralProblemsByPath) {
    EXPECT_EQ(rejection_path(R"({"filters": {}})"), "$.key");
    EXPECT_EQ(rejection_path(R"([1, 2])"), "$");
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"groups": {}}})"), "$.filters.groups");
    EXPECT_EQ(
        rejection_path(R"({"key": "f", "filters": {"groups": [{"rollout_percentage": "50"}]}})"),
        "$.filters.groups[0].rollout_percentage");
    EXPECT_EQ(
        rejection_path(R"({"key": "f", "filters": {"groups": [{"rollout_percentage": 150}]}})"),
        "$.filters.groups[0].rollout_percentage");
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"groups": [{"properties": [
        {"key": "a", "type": "person", "operator": "resembles", "value": "x"}]}]}})"),
              "$.filters.groups[0].properties[0].operator");
    EXPECT_EQ(rejection_path(R"({"key": "f", "bucketing": "md5"})"), "$.bucketing");
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"aggregation_group_type_index": 9}})"),
              "$.filters.aggregation_group_type_index");
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"groups": [{"properties": [
        {"key": "tier", "type": "group", "operator": "exact", "value": "x"}]}]}})"),
              "$.filters.groups[0].properties[0].group_type_index");
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"groups": [{"properties": [
        {"key": "id", "type": "cohort", "value": "abc"}]}]}})"),
              "$.filters.groups[0].properties[0].value");
}

// PostHog features its SDKs do not share are refused, not read as a flag that is always off.
TEST(FlagParser, RefusesPostHogsServerOnlyFormats) {
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"version": 2, "rules": []}})"),
              "$.filters.version");
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"version": "2"}})"), "$.filters.version");
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"version": 1, "groups": []}})"),
              "(accepted)");
    EXPECT_EQ(rejection_path(R"({"key": "f", "filters": {"groups": [{"properties": [
        {"key": "created_at", "type": "person_metadata", "operator": "is_date_before",
         "value": "-7d"}]}]}})"),
              "$.filters.groups[0].properties[0].type");
}

TEST(FlagParser, AcceptsNullsWhereTheReferenceDoes) {
    EXPECT_EQ(rejection_path(R"({"key": "f", "id": null, "version": null, "filters": {"groups": [
        {"properties": null, "rollout_percentage": null, "variant": null}], "payloads": {"true": null},
        "multivariate": null, "aggregation_group_type_index": null}})"),
              "(accepted)");
}

bool has_problem(const Problems& problems, Problem::Severity severity, const std::string& path) {
    for (const auto& p : problems.items())
        if (p.severity == severity && p.path == path) return true;
    return false;
}

TEST(FlagParser, ValidationListsEveryProblem) {
    const auto problems = validate_flag(parse(R"({"filters": {
        "groups": [{"rollout_percentage": "x", "variant": "wide"}],
        "multivariate": {"variants": [{"key": "a", "rollout_percentage": 60}, {"key": "b", "rollout_percentage": 30}]}}})"));
    EXPECT_TRUE(has_problem(problems, Problem::Severity::Invalid, "$.key"));
    EXPECT_TRUE(has_problem(problems, Problem::Severity::Invalid,
                            "$.filters.groups[0].rollout_percentage"));
    EXPECT_TRUE(has_problem(problems, Problem::Severity::Warning, "$.filters.groups[0].variant"));
    EXPECT_TRUE(
        has_problem(problems, Problem::Severity::Warning, "$.filters.multivariate.variants"));
}

TEST(FlagParser, ValidFlagHasNoProblems) {
    EXPECT_TRUE(
        validate_flag(
            parse(
                R"({"key": "ok", "filters": {"groups": [{"properties": [], "rollout_percentage": 20}]}})"))
            .items()
            .empty());
}

TEST(FlagParser, WeightsNotSummingTo100AreToleratedByEvaluation) {
    // 60 + 30: a hash above 0.9 gets no variant and the flag is plain true.
    auto d = evaluate_one(R"({"key": "f", "filters": {"groups": [{"properties": []}],
        "multivariate": {"variants": [{"key": "a", "rollout_percentage": 60}, {"key": "b", "rollout_percentage": 30}]}}})",
                          R"({"distinct_id": "u"})");
    EXPECT_EQ(d.at("enabled"), true);
}

TEST(FlagSetParser, RejectsBadDocumentsByPath) {
    auto path_of = [](const std::string& doc) {
        try {
            FlagSet::parse(parse(doc), Bucketing::Xxh3);
        } catch (const InvalidDefinition& e) {
            return e.path();
        }
        return std::string("(accepted)");
    };
    EXPECT_EQ(path_of(R"("flags")"), "$");
    EXPECT_EQ(path_of(R"({"flags": {}})"), "$.flags");
    EXPECT_EQ(path_of(R"({"flags": [{"key": "a"}, {"filters": {}}]})"), "$.flags[1].key");
    EXPECT_EQ(path_of(R"({"flags": [], "group_type_mapping": {"7": "x"}})"),
              "$.group_type_mapping.7");
    EXPECT_EQ(path_of(R"({"flags": [], "cohorts": {"x": {}}})"), "$.cohorts.x");
}

}  // namespace
