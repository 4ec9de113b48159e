// The definitions cache: applying service_definitions() text, looking teams up, keeping what it
// had when a document or one team's definitions are bad.
#include "decide/definitions/definitions_cache.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace flag_eval;
using namespace flag_eval::decide;
namespace json = boost::json;

namespace {

json::value flag(std::string_view key, double rollout = 50, std::string_view bucketing = "xxh3") {
    return json::parse(std::string(R"({"id": 1, "key": ")") + std::string(key) +
                       R"(", "active": true, "deleted": false, "version": 1, "bucketing": ")" +
                       std::string(bucketing) +
                       R"(", "filters": {"groups": [{"properties": [], "rollout_percentage": )" +
                       std::to_string(rollout) + "}]}}");
}

// A flag the core refuses (an operator it does not know).
json::value broken_flag(std::string_view key) {
    return json::parse(std::string(R"({"key": ")") + std::string(key) +
                       R"(", "active": true, "filters": {"groups": [{"properties": [
                           {"key": "plan", "type": "person", "operator": "resembles", "value": "pro"}]}]}})");
}

json::object team(std::int64_t id, std::vector<json::value> flags,
                  std::string_view bucketing = "xxh3") {
    json::object definitions;
    definitions["flags"] = json::array(flags.begin(), flags.end());
    definitions["group_type_mapping"] = json::object{{"0", "organization"}};
    definitions["cohorts"] = json::object{};
    definitions["static_cohort_ids"] = json::array{id * 10, id * 10 + 1};
    json::object t;
    t["id"] = id;
    t["api_token"] = "phc_" + std::to_string(id);
    t["secret_token"] = "phs_" + std::to_string(id);
    t["bucketing"] = bucketing;
    t["definitions"] = std::move(definitions);
    return t;
}

std::string document(std::int64_t version, std::vector<json::object> teams) {
    json::object doc;
    doc["version"] = version;
    doc["teams"] = json::array(teams.begin(), teams.end());
    return json::serialize(doc);
}

std::vector<std::string> keys(const TeamDefinitions& team) {
    std::vector<std::string> out;
    for (const auto& f : team.flags.flags()) out.push_back(f->key);
    return out;
}

}  // namespace

TEST(DefinitionsCache, EmptyUntilApplied) {
    DefinitionsCache cache;
    EXPECT_FALSE(cache.loaded());
    EXPECT_EQ(cache.version(), 0);
    EXPECT_EQ(cache.by_api_token("phc_1"), nullptr);
    EXPECT_EQ(cache.current(), nullptr);
}

TEST(DefinitionsCache, ApplyAndLookUpByToken) {
    DefinitionsCache cache;
    const ApplyReport report = cache.apply(
        document(41, {team(1, {flag("a"), flag("b")}), team(2, {flag("c", 10, "sha1")}, "sha1")}));
    ASSERT_TRUE(report.ok) << report.error;
    EXPECT_EQ(report.version, 41);
    EXPECT_EQ(report.teams, 2u);
    EXPECT_EQ(report.teams_compiled, 2u);
    EXPECT_TRUE(report.team_errors.empty());
    EXPECT_TRUE(cache.loaded());
    EXPECT_EQ(cache.version(), 41);

    const auto one = cache.by_api_token("phc_1");
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->id, 1);
    EXPECT_EQ(one->secret_token, "phs_1");
    EXPECT_EQ(one->bucketing, Bucketing::Xxh3);
    EXPECT_EQ(keys(*one), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(one->static_cohort_ids, (std::vector<std::int64_t>{10, 11}));
    EXPECT_EQ(one->flags.group_type_mapping()[0], std::optional<std::string>("organization"));
    // The feed is built: xxh3 flags are handed to SDKs as needing the server.
    const json::value feed = json::parse(one->sdk_feed_body);
    EXPECT_EQ(feed.at("flags").at(0).at("ensure_experience_continuity"), json::value(true));
    EXPECT_EQ(one->sdk_feed_etag.front(), '"');

    const auto two = cache.by_secret_token("phs_2");
    ASSERT_NE(two, nullptr);
    EXPECT_EQ(two->id, 2);
    EXPECT_EQ(two->bucketing, Bucketing::Sha1);
    EXPECT_EQ(cache.current()->by_id(2), two);

    EXPECT_EQ(cache.by_api_token("phs_1"), nullptr);  // a secret token is not a public one
    EXPECT_EQ(cache.by_api_token(""), nullptr);
    EXPECT_EQ(cache.by_secret_token("phc_1"), nullptr);
}

TEST(DefinitionsCache, ARefreshNeverChangesWhatAReaderHolds) {
    DefinitionsCache cache;
    ASSERT_TRUE(cache.apply(document(1, {team(1, {flag("old")})})).ok);
    const auto held = cache.by_api_token("phc_1");
    const auto generation = cache.current();
    ASSERT_TRUE(cache.apply(document(2, {team(1, {flag("new")})})).ok);
    EXPECT_EQ(keys(*held), std::vector<std::string>{"old"});
    EXPECT_EQ(generation->version(), 1);
    EXPECT_EQ(keys(*cache.by_api_token("phc_1")), std::vector<std::string>{"new"});
}

TEST(DefinitionsCache, UnchangedTeamsAreNotCompiledAgain) {
    DefinitionsCache cache;
    ASSERT_TRUE(cache.apply(document(1, {team(1, {flag("a")}), team(2, {flag("b")})})).ok);
    const auto one = cache.by_api_token("phc_1");
    const ApplyReport report =
        cache.apply(document(2, {team(1, {flag("a")}), team(2, {flag("b", 60)})}));
    ASSERT_TRUE(report.ok);
    EXPECT_EQ(report.teams_compiled, 1u);
    EXPECT_EQ(cache.by_api_token("phc_1"), one);  // the same object
    EXPECT_EQ(cache.version(), 2);
}

TEST(DefinitionsCache, ABadDocumentKeepsTheOldContents) {
    DefinitionsCache cache;
    ASSERT_TRUE(cache.apply(document(5, {team(1, {flag("a")})})).ok);
    const auto before = cache.current();
    const std::vector<std::string> bad = {
        "",
        "not json",
        R"({"version": 6, "teams": [)",  // truncated
        "[]",
        R"({"teams": []})",  // no version
        R"({"version": "6", "teams": []})",
        R"({"version": 6.5, "teams": []})",
        R"({"version": 6})",  // no teams
        R"({"version": 6, "teams": {}})",
        R"({"version": 6, "teams": [{"api_token": "phc_1"}]})",  // a team without id
        R"({"version": 6, "teams": [1]})",
        std::string(100000, '[') + std::string(100000, ']'),  // deeper than any document
    };
    for (const auto& text : bad) {
        SCOPED_TRACE(text.substr(0, 60));
        const ApplyReport report = cache.apply(text);
        EXPECT_FALSE(report.ok);
        EXPECT_NE(report.error, "");
        EXPECT_EQ(cache.current(), before);
        EXPECT_EQ(cache.version(), 5);
        EXPECT_NE(cache.by_api_token("phc_1"), nullptr);
    }
}

TEST(DefinitionsCache, ATeamWithABrokenFlagDoesNotHideOtherTeams) {
    DefinitionsCache cache;
    ASSERT_TRUE(cache.apply(document(1, {team(1, {flag("a")}), team(2, {flag("b")})})).ok);

    // Team 1's new definitions do not compile; team 2 changes; team 3 is new and broken.
    const ApplyReport report =
        cache.apply(document(2, {team(1, {flag("a2"), broken_flag("bad")}), team(2, {flag("b2")}),
                                 team(3, {broken_flag("worse")})}));
    ASSERT_TRUE(report.ok) << report.error;
    EXPECT_EQ(cache.version(), 2);
    ASSERT_EQ(report.team_errors.size(), 2u);
    EXPECT_EQ(report.team_errors[0].team_id, 1);
    EXPECT_TRUE(report.team_errors[0].kept_previous);
    EXPECT_NE(report.team_errors[0].message.find("resembles"), std::string::npos)
        << report.team_errors[0].message;
    EXPECT_EQ(report.team_errors[1].team_id, 3);
    EXPECT_FALSE(report.team_errors[1].kept_previous);
    EXPECT_EQ(report.teams, 2u);

    EXPECT_EQ(keys(*cache.by_api_token("phc_1")),
              std::vector<std::string>{"a"});  // its previous definitions
    EXPECT_EQ(keys(*cache.by_api_token("phc_2")), std::vector<std::string>{"b2"});
    EXPECT_EQ(cache.by_api_token("phc_3"), nullptr);

    // Fixed later: served anew.
    ASSERT_TRUE(cache.apply(document(3, {team(1, {flag("a3")}), team(2, {flag("b2")})}))
                    .team_errors.empty());
    EXPECT_EQ(keys(*cache.by_api_token("phc_1")), std::vector<std::string>{"a3"});
}

TEST(DefinitionsCache, TeamsWithBadFieldsAreReportedAlone) {
    DefinitionsCache cache;
    json::object no_token = team(2, {flag("x")});
    no_token.erase("api_token");
    json::object empty_token = team(3, {flag("x")});
    empty_token["api_token"] = "";
    json::object unknown_bucketing = team(4, {flag("x")});
    unknown_bucketing["bucketing"] = "md5";
    json::object no_definitions = team(5, {});
    no_definitions["definitions"] = "none";
    json::object bad_static = team(6, {});
    bad_static["definitions"].as_object()["static_cohort_ids"] = json::array{"seven"};
    json::object same_token = team(7, {flag("x")});
    same_token["api_token"] = "phc_1";
    json::object same_id = team(1, {flag("y")});
    same_id["api_token"] = "phc_other";
    same_id["secret_token"] = "phs_other";

    const ApplyReport report =
        cache.apply(document(9, {team(1, {flag("ok")}), no_token, empty_token, unknown_bucketing,
                                 no_definitions, bad_static, same_token, same_id}));
    ASSERT_TRUE(report.ok) << report.error;
    EXPECT_EQ(report.teams, 1u);
    std::vector<std::int64_t> failed;
    for (const auto& e : report.team_errors) failed.push_back(e.team_id);
    EXPECT_EQ(failed, (std::vector<std::int64_t>{2, 3, 4, 5, 6, 7, 1}));
    EXPECT_EQ(keys(*cache.by_api_token("phc_1")), std::vector<std::string>{"ok"});
    EXPECT_EQ(cache.by_api_token("phc_other"), nullptr);
}

TEST(DefinitionsCache, PreparedOffTheLoopInstalledOnIt) {
    DefinitionsCache cache;
    ASSERT_TRUE(cache.apply(document(1, {team(1, {flag("a")})})).ok);
    const PreparedDefinitions refused = prepare_definitions("{", cache.current());
    EXPECT_EQ(refused.generation, nullptr);
    cache.install(refused);  // installs nothing
    EXPECT_EQ(cache.version(), 1);

    const PreparedDefinitions next =
        prepare_definitions(document(2, {team(1, {flag("b")})}), cache.current());
    EXPECT_EQ(cache.version(), 1);  // nothing changes until installed
    cache.install(next);
    EXPECT_EQ(cache.version(), 2);
    EXPECT_EQ(keys(*cache.by_api_token("phc_1")), std::vector<std::string>{"b"});
}

TEST(DefinitionsCache, AnEmptyTeamListIsLoaded) {
    DefinitionsCache cache;
    const ApplyReport report = cache.apply(R"({"version": 3, "teams": []})");
    ASSERT_TRUE(report.ok);
    EXPECT_TRUE(cache.loaded());
    EXPECT_EQ(cache.current()->team_count(), 0u);
}

// Every event-loop thread reads the cache while the refresher installs the next generation: a
// reader sees one whole generation or the next, never a mix, and keeps what it took.
TEST(DefinitionsCache, ReadersOnOtherThreadsSeeWholeGenerations) {
    DefinitionsCache cache;
    ASSERT_TRUE(cache.apply(document(1, {team(1, {flag("v1")})})).ok);
    std::atomic<bool> done{false};
    std::atomic<int> reads{0}, torn{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 3; ++r) {
        readers.emplace_back([&] {
            while (!done.load()) {
                const auto generation = cache.current();
                const auto team1 = generation->by_api_token("phc_1");
                // Generation n has flag "v<n>" alone.
                if (!team1 || keys(*team1) != std::vector<std::string>{
                                                  "v" + std::to_string(generation->version())})
                    ++torn;
                ++reads;
            }
        });
    }
    for (std::int64_t version = 2; version <= 200; ++version)
        ASSERT_TRUE(
            cache.apply(document(version, {team(1, {flag("v" + std::to_string(version))})})).ok);
    while (reads.load() < 1000) std::this_thread::yield();  // the readers ran, whatever the machine
    done = true;
    for (auto& reader : readers) reader.join();
    EXPECT_EQ(torn.load(), 0);
    EXPECT_EQ(cache.version(), 200);
}
