// Answers: from the core, from decide()'s body, and written as /flags v2 and v1 bodies.
#include "decide/api/answer_shapes.hpp"

#include "core/flag_parser.hpp"
#include "core/flag_set.hpp"
#include "core/json_properties.hpp"
#include "core/result_json.hpp"
#include "../unit/flags_v2_reference.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

using namespace flag_eval;
using namespace flag_eval::decide;
using flag_eval::testing_support::flags_v2_json;
namespace json = boost::json;

namespace {

// Three flags with a payload, a variant, a miss and a failure (an unknown cohort).
const char* kDefinitions = R"([
    {"id": 7, "version": 3, "key": "on",
     "filters": {"groups": [{"properties": []}], "payloads": {"true": "{\"a\":[1,\"x\"]}"}}},
    {"id": 8, "version": 2, "key": "multi",
     "filters": {"groups": [{"properties": [], "variant": "b"}],
                 "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50},
                                               {"key": "b", "rollout_percentage": 50}]},
                 "payloads": {"b": "\"text \\\"quoted\\\" \\u00e9\""}}},
    {"id": 9, "version": 1, "key": "miss",
     "filters": {"groups": [{"properties": [{"key": "plan", "value": "pro", "type": "person"}]}],
                 "payloads": {"true": "1"}}},
    {"id": 10, "version": 4, "key": "broken",
     "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 5}]}]}}])";

struct Evaluated {
    FlagSet set = FlagSet::parse(json::parse(kDefinitions), Bucketing::Xxh3);
    JsonContext context{
        json::parse(R"({"distinct_id": "user-1", "person_properties": {"plan": "free"}})")};
    EvaluationSummary summary = set.evaluate_all(context.context());
};

Answer answer_of(const EvaluationSummary& summary) {
    Answer answer;
    for (const auto& [flag, result] : summary.flags) answer.add(flag_answer(*flag, result));
    answer.errors_while_computing = summary.errors_while_computing;
    return answer;
}

Answer parsed(std::string_view text) {
    auto result = parse_v2_body(text);
    if (const auto* error = std::get_if<std::string>(&result)) {
        ADD_FAILURE() << *error;
        return {};
    }
    return std::get<Answer>(std::move(result));
}

std::string error_of(std::string_view text) {
    auto result = parse_v2_body(text);
    if (std::holds_alternative<Answer>(result)) {
        ADD_FAILURE() << "expected an error for " << text;
        return {};
    }
    return std::get<std::string>(result);
}

void expect_same(const FlagAnswerView& a, const FlagAnswerView& b) {
    SCOPED_TRACE(a.key);
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.enabled, b.enabled);
    EXPECT_EQ(a.variant, b.variant);
    EXPECT_EQ(a.reason_code, b.reason_code);
    EXPECT_EQ(a.condition_index, b.condition_index);
    EXPECT_EQ(a.reason_description, b.reason_description);
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.payload, b.payload);
    EXPECT_EQ(a.failed, b.failed);
}

TEST(FlagAnswer, CarriesTheCoreResult) {
    const Evaluated e;
    const Answer answer = answer_of(e.summary);
    ASSERT_EQ(answer.flags.size(), 4u);
    const FlagAnswerView& on = answer.flags[0];
    EXPECT_EQ(on.key, "on");
    EXPECT_TRUE(on.enabled);
    EXPECT_FALSE(on.variant);
    EXPECT_EQ(on.reason_code, "condition_match");
    EXPECT_EQ(on.condition_index, 0);
    EXPECT_EQ(on.reason_description, "Matched condition set 1");
    EXPECT_EQ(on.id, 7);
    EXPECT_EQ(on.version, 3);
    EXPECT_EQ(on.payload, R"({"a":[1,"x"]})");
    EXPECT_FALSE(on.failed);
    EXPECT_EQ(answer.flags[1].variant, "b");
    EXPECT_EQ(answer.flags[2].reason_code, "no_condition_match");
    EXPECT_FALSE(answer.flags[2].payload);
    EXPECT_TRUE(answer.flags[3].failed);
    EXPECT_TRUE(answer.errors_while_computing);
}

TEST(FlagsV2Body, IsTheCoresFlagsV2JsonPlusRequestId) {
    const Evaluated e;
    json::object expected = flags_v2_json(e.summary);
    expected["requestId"] = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    const json::value body =
        json::parse(flags_v2_body(answer_of(e.summary), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));
    EXPECT_EQ(body, json::value(expected)) << body;
}

TEST(FlagsV2Body, BytesAsBoostJsonSerializedTheDocument) {
    // The body was json::serialize() of this document: the writer gives the same bytes.
    const Evaluated e;
    const std::string request_id = "r\"id\\\x01\u00e9";
    json::object expected = flags_v2_json(e.summary);
    expected["requestId"] = request_id;
    EXPECT_EQ(flags_v2_body(answer_of(e.summary), request_id), json::serialize(expected));
    expected["evaluatedAt"] = 1700000000123;
    EXPECT_EQ(flags_v2_body(answer_of(e.summary), request_id, 1700000000123),
              json::serialize(expected));
}

TEST(FlagsV2Body, ExactShape) {
    Answer answer;
    answer.flags.push_back({"on", true, std::nullopt, "condition_match", 0,
                            "Matched condition set 1", 7, 3, R"({"a":1})", false});
    answer.flags.push_back({"multi", true, "b", "condition_match", 1, "Matched condition set 2", 8,
                            2, std::nullopt, false});
    const json::value body = json::parse(flags_v2_body(answer, "req-1", 1700000000123));
    EXPECT_EQ(body, json::parse(R"({
        "flags": {
            "on": {"key": "on", "enabled": true, "variant": null,
                   "reason": {"code": "condition_match", "condition_index": 0,
                              "description": "Matched condition set 1"},
                   "metadata": {"id": 7, "version": 3, "description": null, "payload": "{\"a\":1}",
                                "has_experiment": false}, "failed": false},
            "multi": {"key": "multi", "enabled": true, "variant": "b",
                      "reason": {"code": "condition_match", "condition_index": 1,
                                 "description": "Matched condition set 2"},
                      "metadata": {"id": 8, "version": 2, "description": null, "payload": null,
                                   "has_experiment": false}, "failed": false}},
        "errorsWhileComputingFlags": false,
        "requestId": "req-1",
        "evaluatedAt": 1700000000123})"))
        << body;
    EXPECT_FALSE(json::parse(flags_v2_body(answer, "req-1")).as_object().contains("evaluatedAt"));
}

TEST(FlagsV2Body, EscapesEverything) {
    Answer answer;
    const std::string key = "k\"\\\n\t\x01/é";
    answer.flags.push_back(
        {key, true, "v\"\x1f", "condition_match", 0, "d\u2028", 1, 1, "\"s\\\"\"", false});
    const json::value body = json::parse(flags_v2_body(answer, "r\"id"));
    const json::object& flag = body.at("flags").at(key).as_object();
    EXPECT_EQ(flag.at("key").as_string(), key);
    EXPECT_EQ(flag.at("variant"), "v\"\x1f");
    EXPECT_EQ(flag.at("metadata").at("payload"), "\"s\\\"\"");
    EXPECT_EQ(body.at("requestId"), "r\"id");
}

TEST(FlagsV2Body, NoFlags) {
    EXPECT_EQ(
        json::parse(flags_v2_body(Answer{}, "r")),
        json::parse(R"({"flags": {}, "errorsWhileComputingFlags": false, "requestId": "r"})"));
}

TEST(FailedAnswer, ShapedLikePosthogsErroredFlag) {
    const auto flag = compile_flag(json::parse(R"({"id": 12, "version": 5, "key": "needs-db",
        "description": "Needs the database", "has_experiment": true,
        "filters": {"groups": [{"properties": []}], "payloads": {"true": "{}"}}})"),
                                   Bucketing::Xxh3);
    Answer answer;
    answer.flags.push_back(failed_answer(*flag, "Database connection error during evaluation"));
    answer.errors_while_computing = true;
    EXPECT_EQ(json::parse(flags_v2_body(answer, "r")), json::parse(R"({
        "flags": {"needs-db": {"key": "needs-db", "enabled": false, "variant": null,
            "reason": {"code": "database_error", "condition_index": null,
                       "description": "Database connection error during evaluation"},
            "metadata": {"id": 12, "version": 5, "description": "Needs the database",
                         "payload": null, "has_experiment": true}, "failed": true}},
        "errorsWhileComputingFlags": true, "requestId": "r"})"));
    EXPECT_EQ(failed_answer(*flag, "Timeout", "timeout").reason_code, "timeout");
}

// What decide_outcomes() sends back, completed from the service's flags, is the answer the
// service would have written had it evaluated the flags itself.
TEST(StoredAnswer, EqualsTheAnswerOfTheSameEvaluation) {
    const Evaluated e;
    std::string text;
    for (const auto& [flag, result] : e.summary.flags) append_outcome_line(text, *flag, result);
    auto read = read_outcome_lines(text);
    ASSERT_TRUE(std::holds_alternative<OutcomeLines>(read)) << std::get<std::string>(read);
    const auto& lines = std::get<OutcomeLines>(read).lines;
    ASSERT_EQ(lines.size(), e.summary.flags.size());
    Answer stored;
    for (std::size_t i = 0; i < lines.size(); ++i)
        stored.flags.push_back(stored_answer(*e.summary.flags[i].flag, lines[i], stored));
    stored.errors_while_computing = e.summary.errors_while_computing;
    EXPECT_EQ(flags_v2_body(stored, "r"), flags_v2_body(answer_of(e.summary), "r"));
}

TEST(FlagsV1Body, ValuesPayloadsAndFailedFlagsOmitted) {
    const Evaluated e;
    const json::value body = json::parse(flags_v1_body(answer_of(e.summary)));
    EXPECT_EQ(body, json::parse(R"({
        "featureFlags": {"on": true, "multi": "b", "miss": false},
        "featureFlagPayloads": {"on": "{\"a\":[1,\"x\"]}", "multi": "\"text \\\"quoted\\\" \\u00e9\""},
        "errorsWhileComputingFlags": true})"))
        << body;
    EXPECT_EQ(json::parse(flags_v1_body(answer_of(e.summary), "req-9")).at("requestId"), "req-9");
}

TEST(FlagsV1Body, PayloadOnlyForEnabledFlags) {
    Answer answer;
    answer.flags.push_back({"off", false, std::nullopt, "out_of_rollout_bound", 0,
                            "Out of rollout bound", 1, 1, "{\"stale\":true}", false});
    answer.flags.push_back({"gone", false, std::nullopt, "database_error", std::nullopt, "down", 2,
                            1, std::nullopt, true});
    EXPECT_EQ(json::parse(flags_v1_body(answer)), json::parse(R"({"featureFlags": {"off": false},
        "featureFlagPayloads": {}, "errorsWhileComputingFlags": false})"));
}

TEST(ParseV2Body, RoundTripsARealFlagsV2Json) {
    const Evaluated e;
    const Answer expected = answer_of(e.summary);
    const Answer answer = parsed(json::serialize(flags_v2_json(e.summary)));
    ASSERT_EQ(answer.flags.size(), expected.flags.size());
    for (std::size_t i = 0; i < expected.flags.size(); ++i)
        expect_same(answer.flags[i], expected.flags[i]);
    EXPECT_TRUE(answer.errors_while_computing);
}

TEST(ParseV2Body, ReadsJsonbTextInItsOrder) {
    // As PostgreSQL prints jsonb: keys sorted by length, spaces after separators.
    const Answer answer = parsed(
        R"({"flags": {"on": {"key": "on", "failed": false, "reason": {"code": "condition_match",
        "description": "Matched condition set 1", "condition_index": 0}, "enabled": true, "variant": null,
        "metadata": {"id": 7, "payload": "{\"a\": 1}", "version": 3}}, "beta": {"key": "beta", "failed": true,
        "reason": {"code": "no_condition_match", "description": "cohort 5 is not defined", "condition_index": null},
        "enabled": false, "variant": null, "metadata": {"id": 8, "payload": null, "version": 1}}, "multi": {"key":
        "multi", "failed": false, "reason": {"code": "condition_match", "description": "Matched condition set 2",
        "condition_index": 1}, "enabled": true, "variant": "b", "metadata": {"id": 9, "payload": null, "version":
        12}}}, "errorsWhileComputingFlags": true})");
    ASSERT_EQ(answer.flags.size(), 3u);
    expect_same(answer.flags[0], {"on", true, std::nullopt, "condition_match", 0,
                                  "Matched condition set 1", 7, 3, "{\"a\": 1}", false});
    expect_same(answer.flags[1], {"beta", false, std::nullopt, "no_condition_match", std::nullopt,
                                  "cohort 5 is not defined", 8, 1, std::nullopt, true});
    expect_same(answer.flags[2], {"multi", true, "b", "condition_match", 1,
                                  "Matched condition set 2", 9, 12, std::nullopt, false});
    EXPECT_TRUE(answer.errors_while_computing);
}

TEST(ParseV2Body, EmptyFlags) {
    const Answer answer = parsed(R"({"flags": {}, "errorsWhileComputingFlags": false})");
    EXPECT_TRUE(answer.flags.empty());
    EXPECT_FALSE(answer.errors_while_computing);
}

TEST(ParseV2Body, OtherShapesAreErrorsNamingThePath) {
    EXPECT_NE(error_of("not json").find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of("[]").find("$ must be an object"), std::string::npos);
    EXPECT_NE(error_of(R"({"errorsWhileComputingFlags": false})").find(R"($["flags"] is missing)"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"flags": {"f": {"key": "f"}}})")
                  .find(R"($["flags"]["f"]["enabled"] is missing)"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"flags": {"f": {"enabled": "yes"}}})")
                  .find(R"($["flags"]["f"]["enabled"] must be a boolean)"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"flags": {"f": {"enabled": true, "metadata": {"id": "x"}}}})")
                  .find(R"($["flags"]["f"]["metadata"]["id"] must be an integer)"),
              std::string::npos);
    EXPECT_NE(
        error_of(R"({"flags": {"f": {"enabled": true, "variant": 3}}})").find(R"(["variant"])"),
        std::string::npos);
    EXPECT_NE(
        error_of(
            R"({"flags": {"f": {"enabled": true, "reason": {"code": "x", "condition_index": -1}}}})")
            .find("condition_index"),
        std::string::npos);
}

}  // namespace

TEST(StaleDefinitions, EveryReasonDescriptionSaysSoAndNothingElseChanges) {
    Evaluated evaluated;
    Answer answer = answer_of(evaluated.summary);
    const Answer before = answer_of(evaluated.summary);
    note_stale_definitions(answer, std::chrono::seconds(312));
    ASSERT_EQ(answer.flags.size(), before.flags.size());
    for (std::size_t i = 0; i < answer.flags.size(); ++i) {
        const FlagAnswerView& stale = answer.flags[i];
        const FlagAnswerView& fresh = before.flags[i];
        SCOPED_TRACE(stale.key);
        EXPECT_EQ(stale.reason_description,
                  std::string(fresh.reason_description) +
                      " (stale definitions: last confirmed current 312 s ago)");
        EXPECT_EQ(stale.reason_code, fresh.reason_code);
        EXPECT_EQ(stale.enabled, fresh.enabled);
        EXPECT_EQ(stale.variant, fresh.variant);
        EXPECT_EQ(stale.failed, fresh.failed);
    }
    EXPECT_EQ(answer.errors_while_computing, before.errors_while_computing)
        << "stale is not an error";
}
