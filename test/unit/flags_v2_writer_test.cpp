// The one writer of the /flags v2 answer (src/core/flags_v2_writer): byte for byte what jsonb_out
// prints for the answer's document (decide()), and what boost::json::serialize printed for it
// (the service), for every reason code, variants, payloads and every kind of escape.
#include "core/flag_answer.hpp"
#include "core/flags_v2_writer.hpp"
#include "flags_v2_reference.hpp"
#include "jsonb_text.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace flag_eval;
using namespace flag_eval::testing_support;
namespace json = boost::json;

namespace {

std::string written(const std::vector<FlagAnswerView>& flags, bool errors, V2Style style,
                    FlagKeys keys = FlagKeys::MayRepeat) {
    // twice the bound: BoundHoldsTheWorstCase checks the bound without overrunning the buffer
    std::string out(2 * (2 + flags_v2_members_max_size(flags)), '\0');
    JsonTextWriter w(out.data());
    w.literal("{");
    write_flags_v2_members(w, flags, errors, style, keys);
    w.literal("}");
    out.resize(static_cast<std::size_t>(w.end() - out.data()));
    return out;
}

std::string written(const std::vector<FlagAnswer>& answers, bool errors, V2Style style) {
    std::vector<FlagAnswerView> views;
    for (const FlagAnswer& a : answers) views.push_back(view_of(a));
    return written(views, errors, style);
}

// Both styles against their references.
void expect_both_styles(const std::vector<FlagAnswer>& answers, bool errors) {
    const json::object document = flags_v2_json(answers, errors);
    EXPECT_EQ(written(answers, errors, V2Style::Jsonb), jsonb_text(document));
    EXPECT_EQ(written(answers, errors, V2Style::Document), json::serialize(document));
}

// Every string byte that is escaped, and some that are not: quotes, backslashes, every control
// character, '/', DEL, UTF-8 of two, three and four bytes, long plain runs (the 8-byte path).
std::string hostile_text() {
    std::string s = "\"quoted\" back\\slash /slash \x7f é € 😀 ";
    for (int c = 1; c < 0x20; ++c) s += static_cast<char>(c);
    s += " a run of more than eight plain bytes\"then\\more plain bytes after it";
    return s;
}

TEST(JsonbText, PrintsWhatPostgresPrinted) {
    // test/expected/decide.out: decide()'s answer for a flag with a hostile key and payload.
    const std::string golden =
        R"({"flags": {"a \"quoted\" key\\with a backslash, é": {"key": "a \"quoted\" key\\with a backslash, é", )"
        R"("failed": false, "reason": {"code": "condition_match", "description": "Matched condition set 1", )"
        R"("condition_index": 0}, "enabled": true, "variant": null, "metadata": {"id": 1220, "payload": )"
        R"("{\"text\": \"tab\\t\"} \\ \u0001\u001f\b\f\r\t\n é 😀", "version": 1, "description": null, )"
        R"("has_experiment": false}}}, "errorsWhileComputingFlags": false})";
    const json::value document = json::parse(golden);
    EXPECT_EQ(jsonb_text(document), golden);

    const json::object& flag = document.at("flags").as_object().begin()->value().as_object();
    const FlagAnswer answer{std::string(flag.at("key").as_string()),
                            true,
                            std::nullopt,
                            "condition_match",
                            0,
                            "Matched condition set 1",
                            1220,
                            1,
                            std::string(flag.at("metadata").at("payload").as_string()),
                            false};
    EXPECT_EQ(written({answer}, false, V2Style::Jsonb), golden);
}

TEST(FlagsV2Writer, EveryReasonCode) {
    std::vector<FlagAnswer> answers;
    const Flag flag{};
    for (const Reason reason :
         {Reason::SuperConditionValue, Reason::HoldoutConditionValue, Reason::ConditionMatch,
          Reason::NoGroupType, Reason::OutOfRolloutBound, Reason::NoConditionMatch,
          Reason::FlagDisabled, Reason::MissingDependency}) {
        for (const std::optional<int> index :
             {std::optional<int>(), std::optional<int>(0), std::optional<int>(11)}) {
            FlagResult result;
            result.reason = reason;
            result.condition_index = index;
            result.enabled = reason == Reason::ConditionMatch;
            FlagAnswer answer = flag_answer(flag, result);
            answer.key = std::string(reason_code(reason)) + (index ? std::to_string(*index) : "-");
            answer.id = static_cast<std::int64_t>(answers.size()) - 3;  // negative ids too
            answer.version = std::numeric_limits<std::int64_t>::max() - answer.id * answer.id;
            answers.push_back(std::move(answer));
        }
    }
    answers.push_back({"server", false, std::nullopt, "database_error", std::nullopt,
                       "Database connection error", 1, 1, std::nullopt, true});
    answers.push_back({"continuity", false, std::nullopt, "hash_key_override_error", std::nullopt,
                       "could not write", std::numeric_limits<std::int64_t>::min(), 0, std::nullopt,
                       true});
    expect_both_styles(answers, true);
    expect_both_styles(answers, false);
}

TEST(FlagsV2Writer, VariantsPayloadsAndEscapes) {
    const std::string hostile = hostile_text();
    std::vector<FlagAnswer> answers = {
        {"multi", true, "control", "condition_match", 1, "Matched condition set 2", 8, 2,
         std::nullopt, false},
        {"with-payload", true, "test", "condition_match", 0, "Matched condition set 1", 9, 1,
         R"({"a": [1, "x"], "b": {"c": null}})", false},
        {"plain", true, std::nullopt, "condition_match", 0, "Matched condition set 1", 10, 1, "1",
         false},
        {"string-payload", true, std::nullopt, "condition_match", 0, "Matched condition set 1", 11,
         1, R"("text \"quoted\" \u00e9")", false},
        {"empty", false, std::nullopt, "no_condition_match", std::nullopt, "", 12, 1, "", false},
        {hostile, true, hostile, "condition_match", 0, hostile, 13, 1, hostile, false},
        {"", true, "", "condition_match", 0, "empty key", 14, 1, "{}", false},
        {"described", true, std::nullopt, "condition_match", 0, "Matched condition set 1", 15, 1,
         std::nullopt, false, hostile, true},
        {"experiment", false, std::nullopt, "no_condition_match", 0, "No matching condition set",
         16, 1, std::nullopt, false, "", true},
    };
    expect_both_styles(answers, false);
}

TEST(FlagsV2Writer, KeysInJsonbOrder) {
    // Shorter first, then bytewise (UTF-8 and control bytes included), not by code point or locale.
    std::vector<FlagAnswer> answers;
    for (const char* key : {"bb", "a", "ab", "Z", "é", "\x01", "zz", "aaa", "\x7f", "b"})
        answers.push_back({key, true, std::nullopt, "condition_match", 0, "Matched condition set 1",
                           1, 1, std::nullopt, false});
    expect_both_styles(answers, false);
}

TEST(FlagsV2Writer, EqualKeysAsJsonbAndBoostKeepThem) {
    // jsonb keeps the last of equal keys; boost::json::object the last value at the first place.
    const std::vector<FlagAnswer> answers = {
        {"dup", true, std::nullopt, "condition_match", 0, "first", 1, 1, std::nullopt, false},
        {"other", false, std::nullopt, "no_condition_match", std::nullopt, "x", 2, 1, std::nullopt,
         false},
        {"dup", false, "v", "condition_match", 2, "second", 3, 1, "\"p\"", false},
        {"a", true, std::nullopt, "condition_match", 0, "y", 4, 1, std::nullopt, false},
        {"dup", true, "w", "condition_match", 1, "third", 5, 1, std::nullopt, true},
    };
    expect_both_styles(answers, true);
}

TEST(FlagsV2Writer, NoFlags) {
    EXPECT_EQ(written(std::vector<FlagAnswer>{}, false, V2Style::Jsonb),
              R"({"flags": {}, "errorsWhileComputingFlags": false})");
    EXPECT_EQ(written(std::vector<FlagAnswer>{}, true, V2Style::Document),
              R"({"flags":{},"errorsWhileComputingFlags":true})");
}

TEST(FlagsV2Writer, AnEvaluatedTeam) {
    // Payloads, a variant, a miss, a failure (an unknown cohort), a disabled flag and a missing
    // dependency, as decide() writes them: views of the core's results.
    const FlagSet set = FlagSet::parse(parse(R"([
        {"id": 7, "version": 3, "key": "on",
         "filters": {"groups": [{"properties": []}], "payloads": {"true": "{\"a\":[1,\"x\\n\"]}"}}},
        {"id": 8, "version": 2, "key": "multi",
         "filters": {"groups": [{"properties": [], "variant": "b"}],
                     "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50},
                                                   {"key": "b", "rollout_percentage": 50}]},
                     "payloads": {"b": "\"text \\\"quoted\\\" \\u00e9 \\u0001\""}}},
        {"id": 9, "version": 1, "key": "miss",
         "filters": {"groups": [{"properties": [{"key": "plan", "value": "pro", "type": "person"}]}]}},
        {"id": 10, "version": 4, "key": "broken",
         "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 5}]}]}},
        {"id": 11, "version": 1, "key": "half", "filters": {"groups": [{"rollout_percentage": 50}]}},
        {"id": 12, "version": 1, "key": "needs-missing",
         "filters": {"groups": [{"properties": [{"key": "gone", "type": "flag", "value": true}]}]}}])"),
                                       Bucketing::Xxh3);
    const JsonContext context(
        parse(R"({"distinct_id": "user-1", "person_properties": {"plan": "free"}})"));
    const EvaluationSummary summary = set.evaluate_all(context.context());

    std::vector<std::string> descriptions;
    descriptions.reserve(summary.flags.size());
    std::vector<FlagAnswerView> views;
    for (const auto& [flag, result] : summary.flags) {
        descriptions.push_back(reason_description(result));
        views.push_back(flag_answer_view(*flag, result, descriptions.back()));
    }
    const json::object document = flags_v2_json(summary);
    EXPECT_EQ(written(views, summary.errors_while_computing, V2Style::Jsonb), jsonb_text(document));
    EXPECT_EQ(written(views, summary.errors_while_computing, V2Style::Document),
              json::serialize(document));
    ASSERT_TRUE(set.keys_unique());  // the promise the service makes for its teams' answers
    EXPECT_EQ(written(views, summary.errors_while_computing, V2Style::Document, FlagKeys::Unique),
              json::serialize(document));

    std::vector<FlagAnswer> answers;
    for (const auto& [flag, result] : summary.flags) answers.push_back(flag_answer(*flag, result));
    EXPECT_EQ(written(answers, summary.errors_while_computing, V2Style::Document),
              json::serialize(document));
}

TEST(FlagsV2Writer, PreparedPartsWriteWhatTheFieldsWould) {
    // A flag's prepared head and metadata (made once per definitions load) against the same
    // member written from the fields, for a hostile key and description and extreme integers.
    const std::string hostile = hostile_text();
    json::object definition{
        {"key", hostile},
        {"id", std::numeric_limits<std::int64_t>::min()},
        {"version", std::numeric_limits<std::int64_t>::max()},
        {"description", hostile},
        {"filters", {{"groups", json::array{{{"properties", json::array{}}}}}}}};
    const json::array plain{json::object{{"key", "plain"}, {"id", 1}, {"version", 2}}};
    for (const json::value& definitions :
         {json::value(json::array{definition}), json::value(plain)}) {
        const FlagSet set = FlagSet::parse(definitions, Bucketing::Xxh3);
        const JsonContext context(parse(R"({"distinct_id": "user-1"})"));
        const EvaluationSummary summary = set.evaluate_all(context.context());
        ASSERT_EQ(summary.flags.size(), 1u);
        const auto& [flag, result] = summary.flags[0];
        const std::string description = reason_description(result);
        const FlagAnswerView prepared = flag_answer_view(*flag, result, description);
        ASSERT_FALSE(prepared.v2_head.empty());
        FlagAnswerView from_fields = prepared;
        from_fields.v2_head = from_fields.v2_metadata = {};
        EXPECT_EQ(written({prepared}, false, V2Style::Document, FlagKeys::Unique),
                  written({from_fields}, false, V2Style::Document));
    }
}

TEST(FlagsV2Writer, BoundHoldsTheWorstCase) {
    // Every string byte escaped as \u00xx, integers at their longest.
    const std::string controls(300, '\x01');
    const std::vector<FlagAnswer> answers = {
        {controls, false, controls, controls, std::numeric_limits<int>::min(), controls,
         std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::min(),
         controls, true}};
    std::vector<FlagAnswerView> views = {view_of(answers[0])};
    for (const V2Style style : {V2Style::Jsonb, V2Style::Document})
        EXPECT_LE(written(views, true, style).size(), 2 + flags_v2_members_max_size(views));
}

}  // namespace
