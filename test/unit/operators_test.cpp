// ValueMatcher: compile-time checks of filter values and the match semantics of every operator,
// cross-checked against the reference's match_property tests (PostHog rust/feature-flags).
#include "core/operators.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace flag_eval {
namespace {

namespace json = boost::json;

const std::string filter_path = "$.filters.groups[0].properties[0].value";

struct Compiled {
    ValueMatcher matcher;
    Problems problems;
};

Compiled compile(Operator op, std::string_view filter_json) {
    Problems problems;
    ValueMatcher matcher =
        ValueMatcher::compile(op, json::parse(filter_json), filter_path, problems);
    return {std::move(matcher), std::move(problems)};
}

// Compiles a filter that must raise no problem.
ValueMatcher valid(Operator op, std::string_view filter_json) {
    Compiled c = compile(op, filter_json);
    EXPECT_TRUE(c.problems.items().empty())
        << filter_json << ": " << c.problems.items().front().message;
    return std::move(c.matcher);
}

bool match(Operator op, std::string_view filter_json, const PropertyValue& value) {
    return valid(op, filter_json).matches(value);
}

PropertyValue str(std::string_view s) { return PropertyValue::make_string(s); }
PropertyValue num(double n, std::string_view text) { return PropertyValue::make_number(n, text); }
PropertyValue boolean(bool b) { return PropertyValue::make_bool(b); }
PropertyValue null() { return PropertyValue::make_null(); }
PropertyValue missing() { return PropertyValue::make_missing(); }
PropertyValue array(std::string_view json_text) {
    return {ValueKind::Array, false, 0.0, json_text};
}
PropertyValue object(std::string_view json_text) {
    return {ValueKind::Object, false, 0.0, json_text};
}

// ISO 8601 text of the moment `seconds_ago` before now, in UTC with an explicit offset.
std::string iso_seconds_ago(long long seconds_ago) {
    std::time_t t =
        std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()) - seconds_ago;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[40];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    return buffer;
}

long long epoch_seconds_ago(long long seconds_ago) {
    return static_cast<long long>(
               std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())) -
           seconds_ago;
}

constexpr long long day = 86'400;

// ---------------------------------------------------------------------------------------------

TEST(OperatorNames, RoundTripAndUnknown) {
    const char* names[] = {"exact",
                           "is_not",
                           "icontains",
                           "not_icontains",
                           "icontains_multi",
                           "not_icontains_multi",
                           "starts_with",
                           "not_starts_with",
                           "ends_with",
                           "not_ends_with",
                           "regex",
                           "not_regex",
                           "gt",
                           "gte",
                           "lt",
                           "lte",
                           "between",
                           "not_between",
                           "semver_gt",
                           "semver_gte",
                           "semver_lt",
                           "semver_lte",
                           "semver_eq",
                           "semver_neq",
                           "semver_tilde",
                           "semver_caret",
                           "semver_wildcard",
                           "is_set",
                           "is_not_set",
                           "is_date_before",
                           "is_date_after",
                           "is_date_exact",
                           "in",
                           "not_in",
                           "flag_evaluates_to"};
    for (const char* name : names) {
        std::optional<Operator> op = operator_from_name(name);
        ASSERT_TRUE(op) << name;
        EXPECT_EQ(operator_name(*op), name);
    }
    EXPECT_EQ(operator_from_name("Exact"), std::nullopt);
    EXPECT_EQ(operator_from_name("is_between"), std::nullopt);
    EXPECT_EQ(operator_from_name(""), std::nullopt);
    EXPECT_EQ(operator_from_name("exact "), std::nullopt);
}

// ---------------------------------------------------------------------------------------------

struct MissingCase {
    Operator op;
    const char* filter;
    bool matches_missing;
};

TEST(MissingKey, OnlyNegatedOperatorsAndIsNotSetMatch) {
    const MissingCase cases[] = {
        {Operator::Exact, "\"a\"", false},
        {Operator::IsNot, "\"a\"", true},
        {Operator::IsNot, "[\"a\", \"b\"]", true},
        {Operator::Icontains, "\"a\"", false},
        {Operator::NotIcontains, "\"a\"", true},
        {Operator::IcontainsMulti, "[\"a\"]", false},
        {Operator::NotIcontainsMulti, "[\"a\"]", true},
        {Operator::NotIcontainsMulti, "[]", true},
        {Operator::StartsWith, "\"a\"", false},
        {Operator::NotStartsWith, "\"a\"", true},
        {Operator::EndsWith, "\"a\"", false},
        {Operator::NotEndsWith, "\"a\"", true},
        {Operator::Regex, "\"a\"", false},
        {Operator::NotRegex, "\"a\"", true},
        {Operator::Gt, "1", false},
        {Operator::Gte, "1", false},
        {Operator::Lt, "1", false},
        {Operator::Lte, "1", false},
        {Operator::SemverGt, "\"1.0.0\"", false},
        {Operator::SemverLt, "\"1.0.0\"", false},
        {Operator::SemverEq, "\"1.0.0\"", false},
        {Operator::SemverNeq, "\"1.0.0\"", false},
        {Operator::SemverTilde, "\"1.0.0\"", false},
        {Operator::SemverCaret, "\"1.0.0\"", false},
        {Operator::SemverWildcard, "\"1.*\"", false},
        {Operator::IsSet, "\"is_set\"", false},
        {Operator::IsNotSet, "\"is_not_set\"", true},
        {Operator::IsNotSet, "null", true},
        {Operator::IsDateBefore, "\"2024-01-01\"", false},
        {Operator::IsDateAfter, "\"-7d\"", false},
        {Operator::IsDateExact, "\"2024-01-01\"", false},
    };
    for (const MissingCase& c : cases)
        EXPECT_EQ(match(c.op, c.filter, missing()), c.matches_missing)
            << operator_name(c.op) << " " << c.filter;
}

TEST(MissingKey, NotRegexWithInvalidPatternStillMatchesMissingKey) {
    // The reference checks for the missing key before it looks at the compiled pattern.
    Compiled c = compile(Operator::NotRegex, "\"?*\"");
    EXPECT_TRUE(c.matcher.matches(missing()));
    EXPECT_FALSE(c.matcher.matches(str("value")));
}

// ---------------------------------------------------------------------------------------------

TEST(NullValue, IsAPresentValueWhoseTextIsNull) {
    EXPECT_TRUE(match(Operator::IsSet, "null", null()));
    EXPECT_FALSE(match(Operator::IsNotSet, "null", null()));
    EXPECT_FALSE(match(Operator::Exact, "\"value\"", null()));
    EXPECT_TRUE(match(Operator::IsNot, "\"value\"", null()));
    EXPECT_TRUE(match(Operator::Exact, "\"NULL\"", null()));
    EXPECT_FALSE(match(Operator::IsNot, "\"null\"", null()));
    EXPECT_TRUE(match(Operator::IsNot, "\"null\"", str("non")));
    EXPECT_TRUE(match(Operator::Icontains, "\"nu\"", null()));
    EXPECT_FALSE(match(Operator::Icontains, "\"nu\"", str("smh")));
    EXPECT_FALSE(match(Operator::Regex, "\"Nu\"", null()));  // case-sensitive
    EXPECT_TRUE(match(Operator::Regex, "\"^nul\"", null()));
    EXPECT_FALSE(match(Operator::Gt, "1", null()));
    EXPECT_FALSE(match(Operator::Lt, "1", null()));
    EXPECT_FALSE(match(Operator::SemverNeq, "\"1.0.0\"", null()));
    EXPECT_FALSE(match(Operator::IsDateBefore, "\"-3d\"", null()));
    // Against a boolean filter null counts as false.
    EXPECT_TRUE(match(Operator::Exact, "false", null()));
    EXPECT_FALSE(match(Operator::Exact, "true", null()));
}

// ---------------------------------------------------------------------------------------------

TEST(Exact, CaseInsensitiveOnStringForms) {
    EXPECT_TRUE(match(Operator::Exact, "\"value\"", str("value")));
    EXPECT_TRUE(match(Operator::Exact, "\"VaLuE\"", str("vAlUe")));
    EXPECT_FALSE(match(Operator::Exact, "\"value\"", str("value2")));
    EXPECT_FALSE(match(Operator::Exact, "\"value\"", str("")));
    EXPECT_FALSE(match(Operator::Exact, "\"value\"", str("valu")));
    EXPECT_TRUE(match(Operator::Exact, "\"\"", str("")));
    EXPECT_TRUE(match(Operator::IsNot, "\"value\"", str("")));
    EXPECT_FALSE(match(Operator::IsNot, "\"value\"", str("VALUE")));
}

TEST(Exact, NumbersCompareByText) {
    EXPECT_TRUE(match(Operator::Exact, "5", str("5")));
    EXPECT_TRUE(match(Operator::Exact, "\"5\"", num(5, "5")));
    EXPECT_TRUE(match(Operator::Exact, "1.5", num(1.5, "1.5")));
    EXPECT_TRUE(match(Operator::Exact, "1.0", num(1.0, "1.0")));  // serde prints 1.0 as "1.0"
    EXPECT_FALSE(match(Operator::Exact, "5", num(5, "5.0")));
    EXPECT_FALSE(match(Operator::Exact, "1.5", num(1.5, "1.50")));
    EXPECT_TRUE(match(Operator::Exact, "1e20", str("1e20")));
    EXPECT_TRUE(match(Operator::Exact, "0.0001", str("0.0001")));
    EXPECT_TRUE(match(Operator::Exact, "18446744073709551615", str("18446744073709551615")));
    // Filter numbers read as serde_json prints an f64.
    EXPECT_TRUE(match(Operator::Exact, "1e15", str("1000000000000000.0")));
    EXPECT_TRUE(match(Operator::Exact, "1e16", str("1e16")));
    EXPECT_TRUE(match(Operator::Exact, "1.5e300", str("1.5e300")));
    EXPECT_TRUE(match(Operator::Exact, "1e-6", str("1e-6")));
    EXPECT_TRUE(match(Operator::Exact, "-1.5e-7", str("-1.5e-7")));
    EXPECT_TRUE(match(Operator::Exact, "0.00001", str("0.00001")));
    EXPECT_TRUE(match(Operator::Exact, "123456.789", str("123456.789")));
    EXPECT_TRUE(match(Operator::Exact, "-0.0", str("-0.0")));
    EXPECT_TRUE(match(Operator::Exact, "0.1", str("0.1")));
    // A number whose text the host did not store is printed the way the reference prints it.
    EXPECT_TRUE(match(Operator::Exact, "\"2.5\"", num(2.5, "")));
}

TEST(Exact, ListMeansMembership) {
    const char* filter = "[\"value1\", \"value2\", \"value3\"]";
    EXPECT_TRUE(match(Operator::Exact, filter, str("value1")));
    EXPECT_TRUE(match(Operator::Exact, filter, str("VALUE3")));
    EXPECT_FALSE(match(Operator::Exact, filter, str("value4")));
    EXPECT_FALSE(match(Operator::Exact, filter, str("")));
    EXPECT_FALSE(match(Operator::IsNot, filter, str("value2")));
    EXPECT_TRUE(match(Operator::IsNot, filter, str("value5")));
    EXPECT_TRUE(match(Operator::IsNot, filter, null()));

    const char* countries = "[\"US\", \"CA\", \"Uk\"]";
    for (const char* yes : {"us", "Us", "US", "ca", "uk", "UK"})
        EXPECT_TRUE(match(Operator::Exact, countries, str(yes))) << yes;
    EXPECT_FALSE(match(Operator::Exact, countries, str("de")));

    EXPECT_TRUE(match(Operator::Exact, "[1, 2, \"three\"]", num(2, "2")));
    EXPECT_TRUE(match(Operator::Exact, "[1, 2, \"three\"]", str("THREE")));
}

TEST(Exact, LongListsUseTheHashedPathWithTheSameResults) {
    std::string filter = "[";
    for (int i = 0; i < 50; ++i) filter += (i ? ",\"Item" : "\"Item") + std::to_string(i) + "\"";
    filter += "]";
    ValueMatcher m = valid(Operator::Exact, filter);
    EXPECT_TRUE(m.matches(str("item0")));
    EXPECT_TRUE(m.matches(str("ITEM49")));
    EXPECT_FALSE(m.matches(str("item50")));
    EXPECT_FALSE(m.matches(missing()));
    ValueMatcher negated = valid(Operator::IsNot, filter);
    EXPECT_FALSE(negated.matches(str("iTeM7")));
    EXPECT_TRUE(negated.matches(str("item")));
}

TEST(Exact, UnicodeCaseFolding) {
    EXPECT_TRUE(match(Operator::Exact, "\"MÜNCHEN\"", str("münchen")));
    EXPECT_TRUE(match(Operator::Exact, "\"straße\"", str("STRAẞE")));
    EXPECT_TRUE(match(Operator::Exact, "\"ΑΘΗΝΑ\"", str("αθηνα")));
    EXPECT_TRUE(match(Operator::Exact, "[\"Zürich\", \"Köln\"]", str("KÖLN")));
    EXPECT_FALSE(match(Operator::Exact, "\"münchen\"", str("munchen")));
    // Invalid UTF-8 in a property compares byte for byte and does not break matching.
    EXPECT_FALSE(match(Operator::Exact, "\"abc\"", str("ab\xC3")));
    EXPECT_TRUE(match(Operator::IsNot, "\"abc\"", str("\xFF\xFE")));
}

TEST(Exact, BooleanNormalisation) {
    EXPECT_TRUE(match(Operator::Exact, "true", boolean(true)));
    EXPECT_TRUE(match(Operator::Exact, "true", str("true")));
    EXPECT_TRUE(match(Operator::Exact, "true", str("TRUE")));
    EXPECT_TRUE(match(Operator::Exact, "\"True\"", boolean(true)));
    EXPECT_TRUE(match(Operator::Exact, "\"false\"", boolean(false)));
    EXPECT_FALSE(match(Operator::Exact, "true", boolean(false)));
    EXPECT_FALSE(match(Operator::Exact, "false", boolean(true)));
    EXPECT_TRUE(match(Operator::IsNot, "true", boolean(false)));
    // The reference compares truthiness, so "false" matches anything that is not true-ish.
    EXPECT_TRUE(match(Operator::Exact, "false", str("yes")));
    EXPECT_TRUE(match(Operator::Exact, "false", num(0, "0")));
    EXPECT_FALSE(match(Operator::Exact, "true", num(1, "1")));
    // Lists of boolean-likes are true only when every element is.
    EXPECT_TRUE(match(Operator::Exact, "[true, \"TRUE\"]", boolean(true)));
    EXPECT_TRUE(match(Operator::Exact, "[true, false]", boolean(false)));
    EXPECT_TRUE(match(Operator::Exact, "true", array("[true, \"true\"]")));
    EXPECT_FALSE(match(Operator::Exact, "true", array("[true, false]")));
    EXPECT_FALSE(match(Operator::Exact, "true", array("not json")));
    // An empty list is boolean-like and true: it never matches an ordinary value.
    EXPECT_FALSE(match(Operator::Exact, "[]", str("us")));
    EXPECT_TRUE(match(Operator::Exact, "[]", boolean(true)));
}

// property_matching_version: PostHog's table of legacy (1) against explicit (2) exact matching
// (PR #90694, @posthog/core's computeExactMatch tests): {filter, property, legacy, explicit}.
TEST(Exact, PropertyMatchingVersions) {
    struct Row {
        const char* filter;
        PropertyValue property;
        bool legacy;
        bool explicit_;
    };
    const Row rows[] = {
        {"false", str("banana"), true, false},
        {"false", num(0, "0"), true, false},
        {"false", null(), true, false},
        {"false", str(""), true, false},
        {"false", str("FALSE"), true, true},
        {"false", boolean(false), true, true},
        {"true", boolean(true), true, true},
        {"true", str("yes"), false, false},
        {R"(["true", "false"])", str("true"), false, true},
        {R"(["true", "false"])", str("pro"), true, false},
        {"[]", boolean(true), true, true},
        {"[]", array("[]"), true, true},
        {"[]", boolean(false), false, false},
        {"[]", num(0, "0"), false, false},
        {"[]", str("banana"), false, false},
        {"true", array("[true]"), true, false},
        {R"([true, "PRO"])", str("TRUE"), true, true},
        {R"(["FREE", "PRO"])", str("pro"), true, true},
        {R"("\u00c4")", str("\u00e4"), true, true},
        {"5", str("5"), true, true},
    };
    for (const Row& row : rows) {
        for (const auto& [matching, expected] :
             {std::pair{PropertyMatching::Legacy, row.legacy},
              std::pair{PropertyMatching::Explicit, row.explicit_}}) {
            Problems problems;
            const ValueMatcher exact = ValueMatcher::compile(
                Operator::Exact, json::parse(row.filter), filter_path, problems, matching);
            const ValueMatcher is_not = ValueMatcher::compile(
                Operator::IsNot, json::parse(row.filter), filter_path, problems, matching);
            const char* version = matching == PropertyMatching::Legacy ? "legacy" : "explicit";
            EXPECT_EQ(exact.matches(row.property), expected)
                << version << " exact " << row.filter << " vs " << row.property.text;
            EXPECT_EQ(is_not.matches(row.property), !expected)
                << version << " is_not " << row.filter << " vs " << row.property.text;
        }
        // A missing property: exact never matches and is_not always does, in both versions.
        for (PropertyMatching matching : {PropertyMatching::Legacy, PropertyMatching::Explicit}) {
            Problems problems;
            EXPECT_FALSE(ValueMatcher::compile(Operator::Exact, json::parse(row.filter),
                                               filter_path, problems, matching)
                             .matches(missing()));
            EXPECT_TRUE(ValueMatcher::compile(Operator::IsNot, json::parse(row.filter), filter_path,
                                              problems, matching)
                            .matches(missing()));
        }
    }
}

TEST(Exact, ArraysAndObjectsCompareTheirJsonText) {
    EXPECT_TRUE(match(Operator::Exact, "\"[1,2]\"", array("[1,2]")));
    EXPECT_TRUE(match(Operator::Exact, "\"{\\\"A\\\":1}\"", object("{\"a\":1}")));
    EXPECT_FALSE(match(Operator::Exact, "\"a\"", object("{\"a\":1}")));
}

// ---------------------------------------------------------------------------------------------

TEST(Icontains, CaseInsensitiveSubstring) {
    const char* filter = "\"valUe\"";
    for (const char* yes : {"value", "value2", "vaLue4", "343tfvalue5"})
        EXPECT_TRUE(match(Operator::Icontains, filter, str(yes))) << yes;
    EXPECT_FALSE(match(Operator::Icontains, filter, str("Alakazam")));
    EXPECT_FALSE(match(Operator::Icontains, filter, num(123, "123")));
    EXPECT_TRUE(match(Operator::NotIcontains, filter, str("Alakazam")));
    EXPECT_FALSE(match(Operator::NotIcontains, filter, str("VALUE")));

    EXPECT_TRUE(match(Operator::Icontains, "\"3\"", str("3")));
    EXPECT_TRUE(match(Operator::Icontains, "\"3\"", num(323, "323")));
    EXPECT_TRUE(match(Operator::Icontains, "3", str("val3")));
    EXPECT_FALSE(match(Operator::Icontains, "\"3\"", str("three")));
    EXPECT_TRUE(match(Operator::Icontains, "\"\"", str("")));
    EXPECT_TRUE(match(Operator::Icontains, "\"rU\"", boolean(true)));
    EXPECT_FALSE(match(Operator::Icontains, "\"longer than the value\"", str("short")));
}

TEST(Icontains, FoldsOnlyAsciiLikeTheReference) {
    EXPECT_TRUE(match(Operator::Icontains, "\"MÜN\"", str("xxMÜNchen")));
    EXPECT_FALSE(
        match(Operator::Icontains, "\"MÜN\"", str("münchen")));  // Ü/ü differ outside ASCII
    EXPECT_TRUE(match(Operator::Icontains, "\"mÜN\"", str("MÜNCHEN")));
}

TEST(IcontainsMulti, AnyElementContained) {
    const char* filter = "[\"@gmail.com\", \"@yahoo.com\"]";
    EXPECT_TRUE(match(Operator::IcontainsMulti, filter, str("user@gmail.com")));
    EXPECT_TRUE(match(Operator::IcontainsMulti, filter, str("USER@YAHOO.COM")));
    EXPECT_FALSE(match(Operator::IcontainsMulti, filter, str("user@hotmail.com")));
    EXPECT_FALSE(match(Operator::NotIcontainsMulti, filter, str("user@gmail.com")));
    EXPECT_TRUE(match(Operator::NotIcontainsMulti, filter, str("user@hotmail.com")));
    // A single value is accepted like a one-element list.
    EXPECT_TRUE(match(Operator::IcontainsMulti, "\"john\"", str("John Doe")));
    EXPECT_FALSE(match(Operator::IcontainsMulti, "\"john\"", str("Jane Doe")));
    EXPECT_FALSE(match(Operator::NotIcontainsMulti, "\"spam\"", str("Spam Email")));
    // An empty list contains nothing.
    EXPECT_FALSE(match(Operator::IcontainsMulti, "[]", str("any value")));
    EXPECT_TRUE(match(Operator::NotIcontainsMulti, "[]", str("any value")));
    EXPECT_TRUE(match(Operator::IcontainsMulti, "[12, \"x\"]", num(3125, "3125")));
}

TEST(StartsEndsWith, CaseInsensitiveAffixes) {
    EXPECT_TRUE(match(Operator::StartsWith, "\"Val\"", str("value")));
    EXPECT_TRUE(match(Operator::StartsWith, "\"Val\"", str("VALUE")));
    EXPECT_FALSE(match(Operator::StartsWith, "\"Val\"", str("prevalue")));
    EXPECT_FALSE(match(Operator::StartsWith, "\"Val\"", str("Va")));
    EXPECT_TRUE(match(Operator::StartsWith, "\"3\"", num(323, "323")));
    EXPECT_FALSE(match(Operator::StartsWith, "\"3\"", num(123, "123")));
    EXPECT_FALSE(match(Operator::NotStartsWith, "\"Val\"", str("value")));
    EXPECT_TRUE(match(Operator::NotStartsWith, "\"Val\"", str("Alakazam")));

    EXPECT_TRUE(match(Operator::EndsWith, "\"Lue\"", str("value")));
    EXPECT_TRUE(match(Operator::EndsWith, "\"Lue\"", str("VALUE")));
    EXPECT_FALSE(match(Operator::EndsWith, "\"Lue\"", str("valueish")));
    EXPECT_TRUE(match(Operator::EndsWith, "\"3\"", num(323, "323")));
    EXPECT_FALSE(match(Operator::EndsWith, "\"3\"", num(321, "321")));
    EXPECT_FALSE(match(Operator::NotEndsWith, "\"Lue\"", str("value")));
    EXPECT_TRUE(match(Operator::NotEndsWith, "\"Lue\"", str("Alakazam")));
    EXPECT_TRUE(match(Operator::EndsWith, "\"\"", str("")));
}

// ---------------------------------------------------------------------------------------------

TEST(Regex, UnanchoredAndCaseSensitive) {
    const char* filter = R"("\\.com$")";
    EXPECT_TRUE(match(Operator::Regex, filter, str("value.com")));
    EXPECT_TRUE(match(Operator::Regex, filter, str("value2.com")));
    EXPECT_FALSE(match(Operator::Regex, filter, str(".com343tfvalue5")));
    EXPECT_FALSE(match(Operator::Regex, filter, str("Alakazam")));
    EXPECT_FALSE(match(Operator::Regex, filter, num(123, "123")));
    EXPECT_TRUE(match(Operator::NotRegex, filter, str("Alakazam")));
    EXPECT_FALSE(match(Operator::NotRegex, filter, str("a.com")));

    EXPECT_TRUE(match(Operator::Regex, "\"3\"", num(323, "323")));
    EXPECT_TRUE(match(Operator::Regex, "\"3\"", str("val3")));
    EXPECT_FALSE(match(Operator::Regex, "\"3\"", str("three")));
    EXPECT_FALSE(match(Operator::Regex, "\"ABC\"", str("abc")));
    EXPECT_TRUE(match(Operator::Regex, "\"(?i)ABC\"", str("xabcx")));
    EXPECT_TRUE(match(Operator::Regex, "\"^true$\"", boolean(true)));
}

TEST(Regex, NumericPatternReadsAsItsText) {
    EXPECT_TRUE(match(Operator::Regex, "4", str("4")));
    EXPECT_TRUE(match(Operator::Regex, "4", num(4, "4")));
    EXPECT_FALSE(match(Operator::Regex, "4", str("value")));
}

TEST(Regex, InvalidPatternWarnsAndNeverMatches) {
    for (const char* pattern : {R"j("?*")j", R"j("foo(?=bar)")j", R"j("(?<=foo)bar")j",
                                R"j("\\b(\\w+)\\s+\\1\\b")j", R"j("(unclosed")j"}) {
        for (Operator op : {Operator::Regex, Operator::NotRegex}) {
            Compiled c = compile(op, pattern);
            ASSERT_EQ(c.problems.items().size(), 1u) << pattern;
            const Problem& problem = c.problems.items().front();
            EXPECT_EQ(problem.severity, Problem::Severity::Warning);
            EXPECT_EQ(problem.path, filter_path);
            EXPECT_EQ(problem.message.rfind("invalid regular expression: ", 0), 0u)
                << problem.message;
            EXPECT_FALSE(c.problems.any_invalid());
            EXPECT_FALSE(c.matcher.matches(str("foobar")));
            EXPECT_FALSE(c.matcher.matches(str("value")));
            EXPECT_FALSE(c.matcher.matches(str("")));
        }
    }
}

TEST(Regex, PatternTooLargeForTheMemoryBudgetIsAnInvalidPattern) {
    std::string pattern = "\"";
    for (int i = 0; i < 20000; ++i) pattern += "[a-z]{50}";
    pattern += "\"";
    Compiled c = compile(Operator::Regex, pattern);
    ASSERT_EQ(c.problems.items().size(), 1u);
    EXPECT_EQ(c.problems.items().front().severity, Problem::Severity::Warning);
    EXPECT_FALSE(c.matcher.matches(str("abc")));
}

TEST(Regex, CatastrophicBacktrackingPatternRunsInLinearTime) {
    ValueMatcher m = valid(Operator::Regex, R"("(a+)+$")");
    ValueMatcher pathological = valid(Operator::Regex, R"("^(a|a)*(a|aa)*(a+)+b$")");
    std::string input(200'000, 'a');
    input += '!';
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(m.matches(str(input)));  // the a's never reach the end of the text
    EXPECT_FALSE(pathological.matches(str(input)));
    EXPECT_TRUE(m.matches(str(std::string(200'000, 'a'))));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 1000);
}

// ---------------------------------------------------------------------------------------------

TEST(Numeric, ComparesNumbersAndNumericStrings) {
    EXPECT_TRUE(match(Operator::Gt, "1", num(2, "2")));
    EXPECT_TRUE(match(Operator::Gt, "1", num(3, "3")));
    EXPECT_FALSE(match(Operator::Gt, "1", num(1, "1")));
    EXPECT_FALSE(match(Operator::Gt, "1", num(0, "0")));
    EXPECT_FALSE(match(Operator::Gt, "1", num(-1, "-1")));
    EXPECT_TRUE(match(Operator::Gt, "1", str("23")));

    EXPECT_TRUE(match(Operator::Lt, "1", num(0, "0")));
    EXPECT_TRUE(match(Operator::Lt, "1", num(-3, "-3")));
    EXPECT_FALSE(match(Operator::Lt, "1", num(1, "1")));
    EXPECT_FALSE(match(Operator::Lt, "1", str("1")));
    EXPECT_FALSE(match(Operator::Lt, "1", str("3")));

    EXPECT_TRUE(match(Operator::Gte, "1", num(1, "1")));
    EXPECT_TRUE(match(Operator::Gte, "1", str("3")));
    EXPECT_FALSE(match(Operator::Gte, "1", num(0, "0")));
    EXPECT_TRUE(match(Operator::Lte, "1", num(1, "1")));
    EXPECT_FALSE(match(Operator::Lte, "1", str("1.0001")));

    EXPECT_TRUE(match(Operator::Lt, "\"43\"", str("41")));
    EXPECT_TRUE(match(Operator::Lt, "\"43\"", num(42, "42")));
    EXPECT_FALSE(match(Operator::Lt, "\"43\"", str("43")));
    EXPECT_FALSE(match(Operator::Lt, "\"43\"", num(44, "44")));
    EXPECT_TRUE(match(Operator::Lt, "\"30\"", str("29")));
    EXPECT_FALSE(match(Operator::Lt, "\"30\"", num(100, "100")));
    EXPECT_TRUE(match(Operator::Gt, "0.5", str("1e3")));
    EXPECT_TRUE(match(Operator::Gt, "\"-2.5\"", str(".5")));
    EXPECT_TRUE(match(Operator::Gt, "1e300", str("inf")));
    EXPECT_TRUE(match(Operator::Gt, "1e300", str("1e400")));  // overflows to infinity, as in Rust
    EXPECT_TRUE(match(Operator::Lt, "1e-300", str("1e-400")));
}

TEST(Numeric, NonNumericPropertiesNeverMatch) {
    for (Operator op : {Operator::Gt, Operator::Gte, Operator::Lt, Operator::Lte}) {
        EXPECT_FALSE(match(op, "1", str("abc")));
        EXPECT_FALSE(match(op, "1", str(" 5")));  // Rust's parse rejects whitespace
        EXPECT_FALSE(match(op, "1", str("5 ")));
        EXPECT_FALSE(match(op, "1", str("0x10")));
        EXPECT_FALSE(match(op, "1", str("")));
        EXPECT_FALSE(match(op, "1", str("NaN")));
        EXPECT_FALSE(match(op, "1", boolean(true)));
        EXPECT_FALSE(match(op, "1", array("[2]")));
        EXPECT_FALSE(match(op, "1", object("{}")));
    }
}

// ---------------------------------------------------------------------------------------------

TEST(Semver, Comparisons) {
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str("1.0.1")));
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str("2.0.0")));
    EXPECT_FALSE(match(Operator::SemverGt, "\"1.0.0\"", str("1.0.0")));
    EXPECT_FALSE(match(Operator::SemverGt, "\"1.0.0\"", str("0.9.9")));
    EXPECT_TRUE(match(Operator::SemverGte, "\"0.0.0\"", str("0.0.0")));
    EXPECT_TRUE(match(Operator::SemverGte, "\"1.0.0\"", str("1.0.1")));
    EXPECT_FALSE(match(Operator::SemverGte, "\"1.0.0\"", str("0.9.9")));
    EXPECT_TRUE(match(Operator::SemverLt, "\"2.0.0\"", str("1.9.9")));
    EXPECT_FALSE(match(Operator::SemverLt, "\"2.0.0\"", str("2.0.1")));
    EXPECT_TRUE(match(Operator::SemverLte, "\"2.0.0\"", str("2.0.0")));
    EXPECT_FALSE(match(Operator::SemverLte, "\"2.0.0\"", str("2.0.1")));
    EXPECT_TRUE(match(Operator::SemverEq, "\"1.2.3\"", str("1.2.3")));
    EXPECT_FALSE(match(Operator::SemverEq, "\"1.2.3\"", str("1.2.4")));
    EXPECT_TRUE(match(Operator::SemverNeq, "\"1.2.3\"", str("1.2.4")));
    EXPECT_FALSE(match(Operator::SemverNeq, "\"1.2.3\"", str("1.2.3")));
}

TEST(Semver, NormalisationOfSdkVersions) {
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str("v1.0.1")));
    EXPECT_TRUE(match(Operator::SemverGt, "\"v1.0.0\"", str("1.0.1")));
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str(" 1.2.3")));
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str("1.2.3 ")));
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str("01.02.03")));
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str("3.07")));
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str("3.0")));
    for (const char* v : {"3.08", "3.8", "3.8.0", "3.9", "3.10", "4.0.0"})
        EXPECT_TRUE(match(Operator::SemverGte, "\"3.08\"", str(v))) << v;
    for (const char* v : {"3.07", "3.7", "2.48", "3.0"})
        EXPECT_FALSE(match(Operator::SemverGte, "\"3.08\"", str(v))) << v;
    EXPECT_TRUE(match(Operator::SemverGt, "\"3.9\"", str("3.10")));
    EXPECT_TRUE(match(Operator::SemverEq, "2", num(2, "2")));
    EXPECT_TRUE(match(Operator::SemverEq, "1.5", num(1.5, "1.5")));
}

// between / not_between: [min, max] inclusive over numbers or strings holding them; a property
// that is no number matches neither; a missing one only not_between.
TEST(Numbers, BetweenAndNotBetween) {
    EXPECT_TRUE(match(Operator::Between, "[10, 20]", num(10, "10")));
    EXPECT_TRUE(match(Operator::Between, "[10, 20]", num(20, "20")));
    EXPECT_TRUE(match(Operator::Between, "[10, \"20.5\"]", str("20.5")));
    EXPECT_FALSE(match(Operator::Between, "[10, 20]", num(20.01, "20.01")));
    EXPECT_FALSE(match(Operator::Between, "[10, 20]", str("fifteen")));
    EXPECT_TRUE(match(Operator::NotBetween, "[10, 20]", num(9, "9")));
    EXPECT_FALSE(match(Operator::NotBetween, "[10, 20]", num(15, "15")));
    EXPECT_FALSE(match(Operator::NotBetween, "[10, 20]", str("fifteen")));
    EXPECT_FALSE(match(Operator::NotBetween, "[10, 20]", boolean(true)));
    EXPECT_FALSE(match(Operator::Between, "[10, 20]", missing()));
    EXPECT_TRUE(match(Operator::NotBetween, "[10, 20]", missing()));
    EXPECT_TRUE(match(Operator::Between, "[5, 5]", num(5, "5")));
    for (const char* bad : {"[20, 10]", "[1]", "[1, 2, 3]", "5", "[\"a\", 2]", "null"}) {
        const Compiled c = compile(Operator::Between, bad);
        ASSERT_FALSE(c.problems.items().empty()) << bad;
        EXPECT_EQ(c.problems.items().front().severity, Problem::Severity::Invalid) << bad;
    }
}

TEST(Semver, PreReleaseAndBuild) {
    EXPECT_FALSE(match(Operator::SemverGt, "\"1.0.0\"", str("1.0.0-alpha.1")));
    EXPECT_TRUE(match(Operator::SemverGt, "\"1.0.0\"", str("1.0.1-beta.2")));
    EXPECT_TRUE(match(Operator::SemverLt, "\"1.0.0-alpha.1\"", str("1.0.0-alpha.0")));
    // Build metadata takes part in equality, as in the semver crate.
    EXPECT_FALSE(match(Operator::SemverEq, "\"1.0.0+a\"", str("1.0.0+b")));
    EXPECT_TRUE(match(Operator::SemverEq, "\"1.0.0+a\"", str("1.0.0+a")));
    EXPECT_TRUE(match(Operator::SemverNeq, "\"1.0.0\"", str("1.0.0+build.1")));
}

TEST(Semver, AVersionReadAgainMatchesAsTheFirstTime) {
    // A request's flags read the same version property one after another (the last one read is
    // remembered): each reading answers as the first did, whatever was read in between and
    // wherever the text lives.
    const ValueMatcher gt_alpha = valid(Operator::SemverGt, "\"1.0.0-alpha.1\"");
    const ValueMatcher eq_build = valid(Operator::SemverEq, "\"1.0.0-beta+b.7\"");
    for (int round = 0; round < 3; ++round) {
        const std::string beta = "1.0.0-beta+b.7";
        EXPECT_TRUE(gt_alpha.matches(str(beta)));
        EXPECT_TRUE(eq_build.matches(str(beta)));
        EXPECT_TRUE(eq_build.matches(str(std::string("v1.0.0-beta+b.7 "))));
        EXPECT_FALSE(gt_alpha.matches(str("1.0.0-alpha.0")));
        EXPECT_FALSE(eq_build.matches(str("1.0.0-beta+b.8")));
        EXPECT_FALSE(gt_alpha.matches(str("not-a-version")));
        EXPECT_FALSE(gt_alpha.matches(str("not-a-version")));
    }
}

TEST(Semver, UnparsablePropertiesNeverMatch) {
    for (const char* v : {"not-a-version", "1.2.abc", "1.2.3.4", "1..2.3", "1.2.3.", ".1.2.3",
                          "1.-2.3", "", "V1.2.3", "1.2.3-"}) {
        EXPECT_FALSE(match(Operator::SemverGt, "\"1.0.0\"", str(v))) << v;
        EXPECT_FALSE(match(Operator::SemverNeq, "\"1.0.0\"", str(v))) << v;
        EXPECT_FALSE(match(Operator::SemverCaret, "\"1.0.0\"", str(v))) << v;
    }
    EXPECT_FALSE(match(Operator::SemverGt, "\"0.0.1\"", boolean(true)));
    EXPECT_FALSE(match(Operator::SemverGt, "\"0.0.1\"", array("[1]")));
}

TEST(Semver, Tilde) {
    const char* filter = "\"1.2.3\"";
    for (const char* v : {"1.2.3", "1.2.4", "1.2.10"})
        EXPECT_TRUE(match(Operator::SemverTilde, filter, str(v))) << v;
    for (const char* v : {"1.3.0", "1.2.2", "2.2.3"})
        EXPECT_FALSE(match(Operator::SemverTilde, filter, str(v))) << v;
    EXPECT_TRUE(match(Operator::SemverTilde, "\"v1.2.3\"", str("v1.2.5")));
    EXPECT_TRUE(match(Operator::SemverTilde, "\"3.08\"", str("3.8.5")));
    EXPECT_FALSE(match(Operator::SemverTilde, "\"3.08\"", str("3.9.0")));
    const char* pre = "\"1.2.3-beta.1\"";
    EXPECT_TRUE(match(Operator::SemverTilde, pre, str("1.2.3-beta.2")));
    EXPECT_TRUE(match(Operator::SemverTilde, pre, str("1.2.3")));
    EXPECT_TRUE(match(Operator::SemverTilde, pre, str("1.2.4")));
    EXPECT_FALSE(match(Operator::SemverTilde, pre, str("1.2.4-alpha")));
}

TEST(Semver, Caret) {
    const char* filter = "\"1.2.3\"";
    for (const char* v : {"1.2.3", "1.2.4", "1.3.0", "1.10.5"})
        EXPECT_TRUE(match(Operator::SemverCaret, filter, str(v))) << v;
    for (const char* v : {"2.0.0", "1.2.2", "1.1.9", "2.0.0-beta"})
        EXPECT_FALSE(match(Operator::SemverCaret, filter, str(v))) << v;
    EXPECT_TRUE(match(Operator::SemverCaret, "\"1.2.0-alpha\"", str("1.2.0")));
    EXPECT_TRUE(match(Operator::SemverCaret, "\"1.2.0-alpha\"", str("1.5.0")));
    EXPECT_TRUE(match(Operator::SemverCaret, "\"0.2.3\"", str("0.2.9")));
    EXPECT_FALSE(match(Operator::SemverCaret, "\"0.2.3\"", str("0.3.0")));
    EXPECT_TRUE(match(Operator::SemverCaret, "\"0.0.3\"", str("0.0.3")));
    EXPECT_FALSE(match(Operator::SemverCaret, "\"0.0.3\"", str("0.0.4")));
}

TEST(Semver, Wildcard) {
    for (const char* v : {"1.2.0", "1.2.5", "1.2.99"})
        EXPECT_TRUE(match(Operator::SemverWildcard, "\"1.2.*\"", str(v))) << v;
    for (const char* v : {"1.3.0", "1.1.9"})
        EXPECT_FALSE(match(Operator::SemverWildcard, "\"1.2.*\"", str(v))) << v;
    for (const char* v : {"1.0.0", "1.5.9", "1.99.99"})
        EXPECT_TRUE(match(Operator::SemverWildcard, "\"1.*.*\"", str(v))) << v;
    for (const char* v : {"2.0.0", "0.9.9"})
        EXPECT_FALSE(match(Operator::SemverWildcard, "\"1.*.*\"", str(v))) << v;
    EXPECT_TRUE(match(Operator::SemverWildcard, "\"1.*\"", str("1.5.0")));
    EXPECT_FALSE(match(Operator::SemverWildcard, "\"1.*\"", str("2.0.0")));
    EXPECT_TRUE(match(Operator::SemverWildcard, "\"*\"", str("1.0.0")));
    EXPECT_TRUE(match(Operator::SemverWildcard, "\"*\"", str("99.99.99")));
    EXPECT_TRUE(match(Operator::SemverWildcard, "\"3.*\"", str("3.08")));
    EXPECT_TRUE(match(Operator::SemverWildcard, "\"3.*\"", str("3.10")));
    EXPECT_FALSE(match(Operator::SemverWildcard, "\"3.*\"", str("2.9")));
    EXPECT_TRUE(match(Operator::SemverWildcard, "\"3.08.*\"", str("3.8.5")));
    EXPECT_FALSE(match(Operator::SemverWildcard, "\"3.08.*\"", str("3.9.0")));
    // Without a wildcard the semver crate reads a bare version as a caret requirement.
    EXPECT_TRUE(match(Operator::SemverWildcard, "\"1.2.3\"", str("1.9.0")));
}

TEST(Semver, InvalidFilterValuesAreReported) {
    struct Case {
        Operator op;
        const char* filter;
    } cases[] = {
        {Operator::SemverGt, "\"invalid-semver\""},
        {Operator::SemverEq, "\"1.2.3.4\""},
        {Operator::SemverEq, "true"},
        {Operator::SemverLt, "[\"1.0.0\"]"},
        {Operator::SemverTilde, "\"not-a-version\""},
        {Operator::SemverCaret, "\"invalid\""},
        {Operator::SemverWildcard, "\"1.*.3\""},
        {Operator::SemverWildcard, "\"*.*\""},
        {Operator::SemverCaret, "null"},
    };
    for (const Case& c : cases) {
        Compiled compiled = compile(c.op, c.filter);
        ASSERT_TRUE(compiled.problems.any_invalid()) << operator_name(c.op) << " " << c.filter;
        EXPECT_EQ(compiled.problems.first_invalid()->path, filter_path);
        EXPECT_FALSE(compiled.matcher.matches(str("1.0.0")));
        EXPECT_FALSE(compiled.matcher.matches(missing()));
    }
}

// ---------------------------------------------------------------------------------------------

TEST(Dates, ExactWithIsoEpochNumberAndEpochString) {
    const char* filter = "\"2024-03-21T00:00:00Z\"";
    EXPECT_TRUE(match(Operator::IsDateExact, filter, str("2024-03-21T00:00:00Z")));
    EXPECT_FALSE(match(Operator::IsDateExact, filter, str("2024-03-22T00:00:00Z")));
    EXPECT_TRUE(match(Operator::IsDateExact, filter, num(1710979200, "1710979200")));
    EXPECT_TRUE(match(Operator::IsDateExact, filter, str("1710979200")));
    EXPECT_TRUE(match(Operator::IsDateExact, filter, num(1710979200.0, "1710979200.0")));
    EXPECT_TRUE(match(Operator::IsDateExact, filter, str("2024-03-21")));
    EXPECT_TRUE(match(Operator::IsDateExact, filter, str("2024-03-21T02:00:00+02:00")));
    EXPECT_FALSE(match(Operator::IsDateExact, filter, str("invalid-date")));
    EXPECT_FALSE(match(Operator::IsDateExact, filter, boolean(true)));
    EXPECT_FALSE(match(Operator::IsDateExact, filter, array("[1710979200]")));
}

TEST(Dates, BeforeAndAfterAbsolute) {
    const char* filter = "\"2023-06-04\"";
    EXPECT_TRUE(match(Operator::IsDateAfter, filter, str("2025-01-24T23:20:24.865148+00:00")));
    EXPECT_FALSE(match(Operator::IsDateAfter, filter, str("2023-01-24T23:20:24.865148+00:00")));
    EXPECT_TRUE(match(Operator::IsDateBefore, filter, str("2023-01-24T23:20:24.865148+00:00")));
    EXPECT_FALSE(match(Operator::IsDateBefore, filter, str("2023-06-04")));
    EXPECT_FALSE(match(Operator::IsDateAfter, filter, str("2023-06-04")));

    const char* target = "\"2027-03-21T00:00:00Z\"";
    EXPECT_TRUE(match(Operator::IsDateAfter, target, num(1836277747, "1836277747")));
    EXPECT_TRUE(match(Operator::IsDateAfter, target, str("1836277747")));
    EXPECT_FALSE(match(Operator::IsDateAfter, target, num(1747793088, "1747793088")));
    EXPECT_FALSE(match(Operator::IsDateAfter, target, str("1747793088")));
}

TEST(Dates, NaiveValuesAreUtc) {
    const char* filter = "\"2024-06-01\"";
    EXPECT_TRUE(match(Operator::IsDateAfter, filter, str("2024-06-01T03:00:00Z")));
    EXPECT_FALSE(match(Operator::IsDateBefore, filter, str("2024-06-01T03:00:00Z")));
    EXPECT_TRUE(match(Operator::IsDateAfter, filter, str("2024-06-01 03:00:00")));
    EXPECT_TRUE(match(Operator::IsDateExact, filter, str("2024-06-01T00:00:00.000")));
    EXPECT_TRUE(
        match(Operator::IsDateAfter, "\"2024-06-01T14:00:00Z\"", str("2024-06-01 14:00:01")));
    EXPECT_TRUE(
        match(Operator::IsDateAfter, "\"2024-06-01T14:00:00Z\"", str("2024-06-01T08:00:00-07:00")));
}

TEST(Dates, RelativeFilterIsRelativeToNow) {
    const char* filter = "\"-3d\"";
    EXPECT_TRUE(match(Operator::IsDateBefore, filter, str(iso_seconds_ago(4 * day))));
    EXPECT_FALSE(match(Operator::IsDateBefore, filter, str(iso_seconds_ago(2 * day))));
    EXPECT_TRUE(match(Operator::IsDateAfter, filter, str(iso_seconds_ago(2 * day))));
    EXPECT_TRUE(match(Operator::IsDateBefore, filter, num(epoch_seconds_ago(4 * day), "0")));
    EXPECT_FALSE(match(Operator::IsDateBefore, filter, str("invalid-date")));
    // Without the minus sign it means the same: that long ago.
    EXPECT_TRUE(match(Operator::IsDateBefore, "\"3d\"", str(iso_seconds_ago(4 * day))));
    EXPECT_FALSE(match(Operator::IsDateBefore, "\"3d\"", str(iso_seconds_ago(2 * day))));
    EXPECT_TRUE(match(Operator::IsDateAfter, "\"6h\"", str(iso_seconds_ago(3'600))));
    EXPECT_FALSE(match(Operator::IsDateAfter, "\"6h\"", str(iso_seconds_ago(7 * 3'600))));
    EXPECT_TRUE(match(Operator::IsDateBefore, "\"-2w\"", str(iso_seconds_ago(15 * day))));
    EXPECT_TRUE(match(Operator::IsDateBefore, "\"-3m\"", str(iso_seconds_ago(100 * day))));
    EXPECT_FALSE(match(Operator::IsDateBefore, "\"-3m\"", str(iso_seconds_ago(80 * day))));
    EXPECT_TRUE(match(Operator::IsDateBefore, "\"1y\"", str(iso_seconds_ago(370 * day))));
    EXPECT_FALSE(match(Operator::IsDateBefore, "\"1y\"", str(iso_seconds_ago(360 * day))));
}

TEST(Dates, RelativePropertyValueIsRelativeToNowToo) {
    EXPECT_TRUE(match(Operator::IsDateBefore, "\"-3d\"", str("-5d")));
    EXPECT_FALSE(match(Operator::IsDateBefore, "\"-3d\"", str("-1d")));
}

TEST(Dates, NumericFilterIsEpochSeconds) {
    EXPECT_TRUE(match(Operator::IsDateExact, "1710979200", str("2024-03-21T00:00:00Z")));
    EXPECT_TRUE(match(Operator::IsDateBefore, "1710979200.5", str("2024-03-21T00:00:00.4Z")));
    EXPECT_FALSE(match(Operator::IsDateBefore, "1710979200.5", str("2024-03-21T00:00:00.5Z")));
    EXPECT_TRUE(match(Operator::IsDateExact, "\"1710979200\"", num(1710979200, "1710979200")));
}

TEST(Dates, InvalidFilterValuesAreReported) {
    for (const char* filter :
         {"\"not a date\"", "\"2023-02-29\"", "\"-3x\"", "\"10000d\"", "true", "null",
          "[\"2024-01-01\"]", "{}", "1e300", "\"2024-01-01T25:00:00Z\""}) {
        Compiled c = compile(Operator::IsDateBefore, filter);
        ASSERT_TRUE(c.problems.any_invalid()) << filter;
        EXPECT_FALSE(c.matcher.matches(str("2020-01-01")));
    }
}

// ---------------------------------------------------------------------------------------------

TEST(IsSet, KeyPresence) {
    for (const char* filter : {"\"is_set\"", "null", "[]", "{}"}) {
        EXPECT_TRUE(match(Operator::IsSet, filter, str("")));
        EXPECT_TRUE(match(Operator::IsSet, filter, null()));
        EXPECT_FALSE(match(Operator::IsSet, filter, missing()));
        EXPECT_FALSE(match(Operator::IsNotSet, filter, str("value")));
        EXPECT_FALSE(match(Operator::IsNotSet, filter, boolean(false)));
        EXPECT_TRUE(match(Operator::IsNotSet, filter, missing()));
    }
}

TEST(EvaluatorOperators, CompileSilentlyAndNeverMatch) {
    for (Operator op : {Operator::In, Operator::NotIn, Operator::FlagEvaluatesTo}) {
        Compiled c = compile(op, "42");
        EXPECT_TRUE(c.problems.items().empty());
        EXPECT_FALSE(c.matcher.matches(str("42")));
        EXPECT_FALSE(c.matcher.matches(missing()));
        EXPECT_EQ(c.matcher.op(), op);
    }
}

// ---------------------------------------------------------------------------------------------

struct StructuralCase {
    Operator op;
    const char* filter;
    const char* problem_path_suffix;  // appended to filter_path
};

TEST(StructuralProblems, WrongShapesAreInvalidWithLowerCaseMessages) {
    const StructuralCase cases[] = {
        {Operator::Exact, "{\"a\": 1}", ""},
        {Operator::Exact, "null", ""},
        {Operator::IsNot, "[\"a\", {\"b\": 1}]", "[1]"},
        {Operator::Exact, "[\"a\", [1]]", "[1]"},
        {Operator::Icontains, "[\"a\"]", ""},
        {Operator::NotIcontains, "{}", ""},
        {Operator::StartsWith, "null", ""},
        {Operator::EndsWith, "[]", ""},
        {Operator::IcontainsMulti, "[\"a\", {}]", "[1]"},
        {Operator::NotIcontainsMulti, "{}", ""},
        {Operator::Regex, "[\"a\"]", ""},
        {Operator::NotRegex, "null", ""},
        {Operator::Gt, "[1, 2]", ""},
        {Operator::Gte, "\"abc\"", ""},
        {Operator::Lt, "true", ""},
        {Operator::Lte, "null", ""},
        {Operator::Lte, "\"NaN\"", ""},
        {Operator::Gt, "\" 5\"", ""},
        {Operator::IsDateAfter, "{}", ""},
    };
    for (const StructuralCase& c : cases) {
        Compiled compiled = compile(c.op, c.filter);
        const Problem* problem = compiled.problems.first_invalid();
        ASSERT_NE(problem, nullptr) << operator_name(c.op) << " " << c.filter;
        EXPECT_EQ(problem->path, filter_path + c.problem_path_suffix) << c.filter;
        ASSERT_FALSE(problem->message.empty());
        EXPECT_TRUE(problem->message[0] >= 'a' && problem->message[0] <= 'z') << problem->message;
        EXPECT_NE(problem->message.find("expected"), std::string::npos) << problem->message;
        // A rejected filter never matches, not even a missing key with a negated operator.
        EXPECT_FALSE(compiled.matcher.matches(missing()));
        EXPECT_FALSE(compiled.matcher.matches(str("a")));
    }
}

TEST(StructuralProblems, MessagesNameWhatWasGiven) {
    Compiled c = compile(Operator::Gt, "\"abc\"");
    ASSERT_TRUE(c.problems.any_invalid());
    EXPECT_EQ(c.problems.first_invalid()->message,
              "expected a number or a string holding one, got \"abc\"");
    Compiled list = compile(Operator::Gt, "[1]");
    EXPECT_EQ(list.problems.first_invalid()->message,
              "expected a number or a string holding one, got a list");
}

TEST(StructuralProblems, ScalarValuesOfOtherTypesAreAccepted) {
    // The reference reads numbers and booleans as their text for text operators.
    for (Operator op : {Operator::Exact, Operator::Icontains, Operator::StartsWith,
                        Operator::IcontainsMulti, Operator::Regex}) {
        for (const char* filter : {"12", "1.5", "true", "\"x\""}) {
            Compiled c = compile(op, filter);
            EXPECT_TRUE(c.problems.items().empty()) << operator_name(op) << " " << filter;
        }
    }
    EXPECT_TRUE(compile(Operator::Gt, "\"12.5\"").problems.items().empty());
    EXPECT_TRUE(compile(Operator::Gt, "-3").problems.items().empty());
}

// ---------------------------------------------------------------------------------------------

TEST(Robustness, MovedFromMatcherDoesNotCrash) {
    ValueMatcher a = valid(Operator::Exact, "\"x\"");
    ValueMatcher b = std::move(a);
    EXPECT_TRUE(b.matches(str("X")));
    EXPECT_FALSE(a.matches(str("X")));  // NOLINT(bugprone-use-after-move): must stay safe
    ValueMatcher c = valid(Operator::Regex, "\"x\"");
    c = std::move(b);
    EXPECT_TRUE(c.matches(str("x")));
    EXPECT_EQ(c.op(), Operator::Exact);
}

TEST(Robustness, EveryOperatorSurvivesArbitraryProperties) {
    const std::pair<Operator, const char*> filters[] = {
        {Operator::Exact, "[\"a\", 1, true, null]"},
        {Operator::IsNot, "\"ü\""},
        {Operator::Icontains, "\"a\""},
        {Operator::NotIcontains, "\"\""},
        {Operator::IcontainsMulti, "[\"a\", \"\"]"},
        {Operator::NotIcontainsMulti, "[]"},
        {Operator::StartsWith, "\"a\""},
        {Operator::NotEndsWith, "\"a\""},
        {Operator::Regex, "\"(a+)+$\""},
        {Operator::NotRegex, "\"[\""},
        {Operator::Gt, "1"},
        {Operator::Lte, "\"-1e5\""},
        {Operator::SemverGt, "\"1.2.3\""},
        {Operator::SemverNeq, "\"1.2.3-rc.1+b\""},
        {Operator::SemverTilde, "\"1.2\""},
        {Operator::SemverCaret, "\"0.0.1\""},
        {Operator::SemverWildcard, "\"*\""},
        {Operator::IsSet, "null"},
        {Operator::IsNotSet, "null"},
        {Operator::IsDateBefore, "\"-7d\""},
        {Operator::IsDateAfter, "\"2020-01-01\""},
        {Operator::IsDateExact, "0"},
        {Operator::In, "1"},
        {Operator::FlagEvaluatesTo, "true"},
    };
    std::vector<ValueMatcher> matchers;
    for (const auto& [op, filter] : filters) {
        Problems problems;
        matchers.push_back(ValueMatcher::compile(op, json::parse(filter), filter_path, problems));
    }
    std::mt19937 random(12345);
    const std::string alphabet =
        std::string("aAzZ09.-+:TtvV*x ,[]{}\"\\") + '\0' + "\xC3\xBC\xFF\xE2\x80\x80";
    std::vector<std::string> texts = {"",
                                      "1.2.3",
                                      "2024-01-01",
                                      "-3d",
                                      "nan",
                                      "1e999",
                                      "18446744073709551616.1.1",
                                      std::string(100'000, 'a') + "!",
                                      "\xC3",
                                      "\xF4\x90\x80\x80"};
    for (int i = 0; i < 3'000; ++i) {
        std::string s;
        const int length = static_cast<int>(random() % 24);
        for (int k = 0; k < length; ++k) s += alphabet[random() % alphabet.size()];
        texts.push_back(std::move(s));
    }
    const double numbers[] = {0.0, -0.0, 1e308, -1e308, 5e-324, 1e19, -1e19, 1710979200.999999999};
    for (const ValueMatcher& m : matchers) {
        for (const std::string& t : texts) {
            m.matches(str(t));
            m.matches(array(t));
            m.matches(object(t));
            m.matches(num(0, t));
        }
        for (double n : numbers) {
            m.matches(num(n, ""));
            m.matches(num(n, "1"));
        }
        m.matches(null());
        m.matches(missing());
        m.matches(boolean(true));
    }
    SUCCEED();
}

}  // namespace
}  // namespace flag_eval
