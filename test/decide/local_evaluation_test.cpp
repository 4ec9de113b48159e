// Which flags the service may answer in process, and that those answers are the ones the
// database would give whatever it stores about the subject.
#include "decide/api/local_evaluation.hpp"

#include "core/json_properties.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace flag_eval;
using namespace flag_eval::decide;
namespace json = boost::json;

namespace {

// flags: a pure rollout, a person-property flag, a static-cohort flag, a dynamic-cohort flag, a
// continuity flag, a flag that depends on the person-property flag, a group flag.
const char* kFeed = R"({
  "flags": [
    {"id": 1, "key": "rollout", "active": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}},
    {"id": 2, "key": "plan-pro", "active": true, "filters": {"groups": [{"properties": [
        {"key": "plan", "type": "person", "operator": "exact", "value": ["pro"]},
        {"key": "age", "type": "person", "operator": "gt", "value": 30}]}]}},
    {"id": 3, "key": "static-cohort", "active": true, "filters": {"groups": [{"properties": [
        {"key": "id", "type": "cohort", "value": 70}]}]}},
    {"id": 4, "key": "dynamic-cohort", "active": true, "filters": {"groups": [{"properties": [
        {"key": "id", "type": "cohort", "value": 71}]}]}},
    {"id": 5, "key": "continuity", "active": true, "ensure_experience_continuity": true,
     "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}},
    {"id": 6, "key": "depends", "active": true, "filters": {"groups": [{"properties": [
        {"key": "plan-pro", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}},
    {"id": 7, "key": "org-flag", "active": true, "filters": {"aggregation_group_type_index": 0,
        "groups": [{"properties": [{"key": "size", "type": "group", "group_type_index": 0,
                                    "operator": "gte", "value": 10}], "rollout_percentage": 100}]}}
  ],
  "group_type_mapping": {"0": "organization"},
  "cohorts": {"71": {"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "country", "type": "person", "operator": "exact", "value": ["NZ"]}]}]}}
})";

struct Request {
    json::object person, groups, group_properties;
    Subject subject(std::string_view id) const {
        return {id, {}, &person, &groups, &group_properties};
    }
};

std::map<std::string, bool> needs_database(const FlagSet& set, const Request& r,
                                           std::string_view id = "u1") {
    const LocalEvaluation local = evaluate_locally(set, r.subject(id));
    std::map<std::string, bool> out;
    for (std::size_t i = 0; i < local.summary.flags.size(); ++i)
        out[local.summary.flags[i].flag->key] = local.needs_database[i];
    return out;
}

FlagSet feed() { return FlagSet::parse(json::parse(kFeed), Bucketing::Sha1); }

TEST(LocalEvaluation, AnEmptyRequestNeedsTheDatabaseForEveryPropertyFlag) {
    const FlagSet set = feed();
    const auto needs = needs_database(set, Request{});
    EXPECT_FALSE(needs.at("rollout"));
    EXPECT_TRUE(needs.at("plan-pro"));
    EXPECT_TRUE(needs.at("static-cohort"));
    EXPECT_TRUE(needs.at("dynamic-cohort"));
    EXPECT_TRUE(needs.at("continuity"));
    EXPECT_TRUE(needs.at("depends"));
    EXPECT_FALSE(needs.at("org-flag"))
        << "no organization in the request: no group type, whatever is stored";
}

TEST(LocalEvaluation, PropertiesTheRequestCarriesAnswerInProcess) {
    const FlagSet set = feed();
    Request r;
    r.person = json::parse(R"({"plan": "pro", "age": 40, "country": "NZ"})").as_object();
    r.groups = json::parse(R"({"organization": "acme"})").as_object();
    r.group_properties = json::parse(R"({"organization": {"size": 12}})").as_object();
    const auto needs = needs_database(set, r);
    EXPECT_FALSE(needs.at("plan-pro"));
    EXPECT_FALSE(needs.at("dynamic-cohort"));
    EXPECT_FALSE(needs.at("depends"));
    EXPECT_FALSE(needs.at("org-flag"));
    EXPECT_TRUE(needs.at("static-cohort"));
    EXPECT_TRUE(needs.at("continuity"));
}

TEST(LocalEvaluation, AFilterThatFailsOnASuppliedPropertyNeedsNoMore) {
    const FlagSet set = feed();
    Request r;
    r.person = json::parse(R"({"plan": "free"})").as_object();  // age never read: plan decides
    EXPECT_FALSE(needs_database(set, r).at("plan-pro"));
    r.person = json::parse(R"({"plan": "pro"})").as_object();  // age read and missing
    EXPECT_TRUE(needs_database(set, r).at("plan-pro"));
    EXPECT_TRUE(needs_database(set, r).at("depends"));
}

TEST(LocalEvaluation, AGroupInTheRequestWithoutPropertiesNeedsTheDatabase) {
    const FlagSet set = feed();
    Request r;
    r.groups = json::parse(R"({"organization": "acme"})").as_object();
    EXPECT_TRUE(needs_database(set, r).at("org-flag"));
}

// The promise the service relies on: whatever the database stores under the request's
// properties, an answer marked exact is the answer evaluation with the stored data gives.
TEST(LocalEvaluation, ExactAnswersMatchEvaluationWithAnyStoredProperties) {
    const FlagSet set = feed();
    std::mt19937 random(7);
    const std::vector<std::string> keys = {"plan", "age", "country", "size"};
    const std::vector<json::value> values = {"pro", "free", "NZ", 5, 31, 40, nullptr, true};
    auto random_object = [&] {
        json::object o;
        for (const auto& k : keys)
            if (random() % 2) o[k] = values[random() % values.size()];
        return o;
    };
    int exact_checked = 0;
    for (int round = 0; round < 2000; ++round) {
        Request r;
        r.person = random_object();
        if (random() % 2) r.groups["organization"] = "org-" + std::to_string(random() % 5);
        if (random() % 2) r.group_properties["organization"] = random_object();
        const std::string id = "user-" + std::to_string(round);
        const LocalEvaluation local = evaluate_locally(set, r.subject(id));

        // The database's view: stored properties under the request's.
        json::object stored_person = random_object(), stored_org = random_object();
        json::object person = stored_person;
        for (const auto& [k, v] : r.person) person[k] = v;
        json::object org = stored_org;
        if (const auto* given = r.group_properties.if_contains("organization"))
            for (const auto& [k, v] : given->as_object()) org[k] = v;
        json::object context{{"distinct_id", id},
                             {"person_properties", person},
                             {"groups", r.groups},
                             {"group_properties", json::object{{"organization", org}}}};
        const JsonContext full(context);
        const EvaluationSummary with_stored = set.evaluate_all(full.context());

        for (std::size_t i = 0; i < local.summary.flags.size(); ++i) {
            if (local.needs_database[i]) continue;
            const auto& mine = local.summary.flags[i].result;
            const auto& theirs = with_stored.flags[i].result;
            ASSERT_EQ(local.summary.flags[i].flag, with_stored.flags[i].flag);
            EXPECT_EQ(mine.enabled, theirs.enabled)
                << local.summary.flags[i].flag->key << " " << json::serialize(context);
            EXPECT_EQ(mine.variant, theirs.variant);
            EXPECT_EQ(mine.reason, theirs.reason);
            EXPECT_EQ(mine.condition_index, theirs.condition_index);
            ++exact_checked;
        }
    }
    EXPECT_GT(exact_checked, 5000);  // the property shows something
}

}  // namespace
