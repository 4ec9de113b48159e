// Which flags a request is answered, as PostHog's /flags narrows them: a flag's
// evaluation_runtime against the request's runtime, its evaluation_contexts against the
// request's; a flag left out is absent and counts as off for the flags depending on it.
#include "core/flag_model.hpp"
#include "core/flag_set.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace flag_eval;
using namespace flag_eval::testing_support;
namespace json = boost::json;

namespace {

const std::string kFlags = R"({"flags": [
  {"key": "untagged", "filters": {"groups": [{"rollout_percentage": 100}]}},
  {"key": "for-all", "evaluation_runtime": "all", "filters": {"groups": [{"rollout_percentage": 100}]}},
  {"key": "for-client", "evaluation_runtime": "CLIENT", "filters": {"groups": [{"rollout_percentage": 100}]}},
  {"key": "for-server", "evaluation_runtime": "server", "filters": {"groups": [{"rollout_percentage": 100}]}},
  {"key": "for-robots", "evaluation_runtime": "robots", "filters": {"groups": [{"rollout_percentage": 100}]}},
  {"key": "checkout", "evaluation_contexts": ["checkout", "cart"], "filters": {"groups": [{"rollout_percentage": 100}]}},
  {"key": "legacy-tags", "evaluation_tags": ["Checkout"], "filters": {"groups": [{"rollout_percentage": 100}]}},
  {"key": "unless-client-flag", "filters": {"groups": [{"rollout_percentage": 100, "properties": [
    {"key": "for-client", "type": "flag", "operator": "flag_evaluates_to", "value": false}]}]}}
]})";

// The keys answered for a context carrying the given scope fields.
std::string answered(const std::string& scope_fields) {
    const std::string context =
        R"({"distinct_id": "u1")" + (scope_fields.empty() ? "" : ", " + scope_fields) + "}";
    const json::object result = evaluate_all(kFlags, context);
    std::string keys;
    for (const auto& [key, detail] : result.at("flags").as_object()) {
        if (!keys.empty()) keys += ' ';
        keys += std::string(key);
        if (!detail.at("enabled").as_bool()) keys += "(off)";
    }
    return keys;
}

TEST(RequestScope, WithoutAScopeEveryFlagIsAnswered) {
    EXPECT_EQ(answered(""),
              "untagged for-all for-client for-server for-robots checkout legacy-tags "
              "unless-client-flag(off)");
    EXPECT_EQ(answered(R"("evaluation_runtime": "all")"), answered(""));
}

TEST(RequestScope, RuntimeKeepsFlagsForEveryRuntimeAndItsOwn) {
    // An unknown flag runtime ("robots") means every runtime, as PostHog reads it.
    EXPECT_EQ(answered(R"("evaluation_runtime": "client")"),
              "untagged for-all for-client for-robots checkout legacy-tags "
              "unless-client-flag(off)");
    // A flag left out counts as off for its dependents: unless-client-flag matches.
    EXPECT_EQ(answered(R"("evaluation_runtime": "Server")"),
              "untagged for-all for-server for-robots checkout legacy-tags unless-client-flag");
    EXPECT_EQ(answered(R"("evaluation_runtime": "unknown")"),
              "untagged for-all for-robots checkout legacy-tags unless-client-flag");
}

TEST(RequestScope, ContextsKeepUntaggedFlagsAndThoseSharingOneExactly) {
    EXPECT_EQ(answered(R"("evaluation_contexts": ["cart"])"),
              "untagged for-all for-client for-server for-robots checkout "
              "unless-client-flag(off)");
    // Case matters; the old name evaluation_tags still counts; the request may say
    // evaluation_environments.
    EXPECT_EQ(answered(R"("evaluation_environments": ["Checkout"])"),
              "untagged for-all for-client for-server for-robots legacy-tags "
              "unless-client-flag(off)");
    EXPECT_EQ(answered(R"("evaluation_contexts": [])"), answered(""));
    EXPECT_EQ(answered(R"("evaluation_runtime": "server", "evaluation_contexts": ["nowhere"])"),
              "untagged for-all for-server for-robots unless-client-flag");
}

TEST(RequestScope, AdmitsFollowsPostHogsTable) {
    Flag flag;
    RequestScope scope;
    const struct {
        EvaluationRuntime flag;
        RequestRuntime request;
        bool admitted;
    } table[] = {
        {EvaluationRuntime::All, RequestRuntime::All, true},
        {EvaluationRuntime::All, RequestRuntime::Client, true},
        {EvaluationRuntime::All, RequestRuntime::Server, true},
        {EvaluationRuntime::All, RequestRuntime::Unknown, true},
        {EvaluationRuntime::Client, RequestRuntime::All, true},
        {EvaluationRuntime::Client, RequestRuntime::Client, true},
        {EvaluationRuntime::Client, RequestRuntime::Server, false},
        {EvaluationRuntime::Client, RequestRuntime::Unknown, false},
        {EvaluationRuntime::Server, RequestRuntime::All, true},
        {EvaluationRuntime::Server, RequestRuntime::Client, false},
        {EvaluationRuntime::Server, RequestRuntime::Server, true},
        {EvaluationRuntime::Server, RequestRuntime::Unknown, false},
    };
    for (const auto& row : table) {
        flag.evaluation_runtime = row.flag;
        scope.runtime = row.request;
        EXPECT_EQ(scope.admits(flag), row.admitted)
            << static_cast<int>(row.flag) << " / " << request_runtime_name(row.request);
    }
}

TEST(RequestScope, ContextsMustBeStringsAndRuntimeKnownInAContext) {
    EXPECT_THROW(evaluate_all(R"({"flags": [{"key": "f", "evaluation_contexts": [1],
        "filters": {"groups": []}}]})",
                              R"({"distinct_id": "u"})"),
                 InvalidDefinition);
    EXPECT_THROW(evaluate_all(kFlags, R"({"distinct_id": "u", "evaluation_runtime": "edge"})"),
                 InvalidDefinition);
    EXPECT_THROW(evaluate_all(kFlags, R"({"distinct_id": "u", "evaluation_contexts": "cart"})"),
                 InvalidDefinition);
}

}  // namespace
