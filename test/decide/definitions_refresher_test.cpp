// The definitions refresher: polls the version, fetches only on change, never goes back to an
// older version, survives failures, writes and restores the snapshot. First against a fake
// database, then (when PGHOST is set and the extension is installed) against PostgreSQL.
#include "decide/definitions/definitions_refresher.hpp"

#include "decide/definitions/snapshot.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace flag_eval;
using namespace flag_eval::decide;
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kVersionQuery = "SELECT flag_eval.definitions_version()";
constexpr std::string_view kDefinitionsQuery = "SELECT flag_eval.service_definitions()::text";

// service_definitions() text: one team per token, each with one flag of the given key.
std::string document(std::int64_t version, std::string_view flag_key = "f") {
    return R"({"version": )" + std::to_string(version) +
           R"(, "teams": [{"id": 1, "api_token": "phc_1",
        "secret_token": "phs_1", "bucketing": "sha1", "definitions": {"flags": [{"key": ")" +
           std::string(flag_key) +
           R"(", "active": true, "filters": {"groups": [{"rollout_percentage": 50}]}}],
        "group_type_mapping": {}, "cohorts": {}, "static_cohort_ids": []}}]})";
}

struct FakeDatabase {
    std::optional<std::string> version;
    std::optional<std::string> definitions;
    std::chrono::system_clock::duration staleness{};  // of the server answering
    bool throws = false;
    int version_queries = 0;
    int definitions_queries = 0;

    // Serves `version` and `document(version)` as a database at that version would.
    void at(std::int64_t v, std::string_view flag_key = "f") {
        version = std::to_string(v);
        definitions = document(v, flag_key);
    }

    QueryText query() {
        return [this](std::string sql) -> asio::awaitable<std::optional<TextRead>> {
            if (throws) throw std::runtime_error("connection reset by peer");
            std::optional<std::string> answer;
            if (sql == kVersionQuery) {
                ++version_queries;
                answer = version;
            } else if (sql == kDefinitionsQuery) {
                ++definitions_queries;
                answer = definitions;
            } else {
                ADD_FAILURE() << "unexpected query " << sql;
            }
            if (!answer) co_return std::nullopt;
            co_return TextRead{*answer, staleness};
        };
    }
};

template <class T>
T run(asio::io_context& io, asio::awaitable<T> work) {
    auto result = asio::co_spawn(io, std::move(work), asio::use_future);
    io.restart();
    io.run();
    return result.get();
}

class TempDir {
public:
    TempDir() {
        std::string pattern =
            (fs::temp_directory_path() / "flag_eval_refresher_test.XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

class Refresher : public ::testing::Test {
protected:
    RefresherOptions options(fs::path snapshot = {}) {
        RefresherOptions o{Config{}};
        o.interval = std::chrono::milliseconds(1);
        o.snapshot_path = std::move(snapshot);
        o.log = [this](std::string_view line) { logged.emplace_back(line); };
        return o;
    }

    asio::io_context io;
    DefinitionsCache cache;
    FakeDatabase db;
    std::vector<std::string> logged;
};

}  // namespace

TEST_F(Refresher, FetchesOnlyWhenTheVersionChanges) {
    DefinitionsRefresher refresher(io.get_executor(), cache, db.query(), options());
    db.at(10);
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(cache.version(), 10);
    EXPECT_EQ(db.definitions_queries, 1);

    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(db.version_queries, 3);
    EXPECT_EQ(db.definitions_queries, 1);  // same version: nothing fetched

    db.at(11, "g");
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(db.definitions_queries, 2);
    EXPECT_EQ(cache.version(), 11);
    EXPECT_EQ(cache.by_api_token("phc_1")->flags.flags().at(0)->key, "g");
    EXPECT_EQ(refresher.stats().applied, 2u);
    EXPECT_TRUE(refresher.stats().last_success);
}

TEST_F(Refresher, APollThatFindsTheDefinitionsCurrentConfirmsTheirFreshness) {
    using namespace std::chrono_literals;
    using SystemClock = std::chrono::system_clock;
    DefinitionsRefresher refresher(io.get_executor(), cache, db.query(), options());
    EXPECT_FALSE(cache.freshness().age(SystemClock::now())) << "nothing confirmed yet";

    db.at(10);
    db.staleness = 5s;  // a replica 5 s behind: what it says was true 5 s ago
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    auto age = cache.freshness().age(SystemClock::now());
    ASSERT_TRUE(age);
    EXPECT_GE(*age, 5s);
    EXPECT_LT(*age, 6s);

    db.staleness = 0s;  // the same version, from a server that is current
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_LT(*cache.freshness().age(SystemClock::now()), 1s);

    // The database unreachable: the age grows from the last confirmation.
    const auto confirmed_age = *cache.freshness().age(SystemClock::now());
    db.version.reset();
    EXPECT_FALSE(run(io, refresher.refresh_once()));
    EXPECT_GE(*cache.freshness().age(SystemClock::now() + 60s), confirmed_age + 60s);
}

TEST_F(Refresher, ALaggingVersionConfirmsNothing) {
    using namespace std::chrono_literals;
    DefinitionsRefresher refresher(io.get_executor(), cache, db.query(), options());
    db.at(20);
    db.staleness = 30s;
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    const auto confirmed = *cache.freshness().age(std::chrono::system_clock::now());
    db.at(19);  // a replica further behind: it proves nothing about version 20
    db.staleness = 0s;
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_GE(*cache.freshness().age(std::chrono::system_clock::now()), confirmed);
}

TEST(DefinitionsFreshness, KeepsTheLatestConfirmationAndNeverGoesNegative) {
    using namespace std::chrono_literals;
    DefinitionsFreshness freshness;
    const auto now = std::chrono::system_clock::now();
    freshness.confirm(now - 10s);
    freshness.confirm(now - 20s);  // older: ignored
    EXPECT_EQ(*freshness.age(now), 10s);
    freshness.confirm(now + 1s);  // clocks disagree a little: the age is 0, not negative
    EXPECT_EQ(*freshness.age(now), 0s);
}

TEST_F(Refresher, NeverAppliesALowerVersion) {
    DefinitionsRefresher refresher(io.get_executor(), cache, db.query(), options());
    db.at(20, "new");
    ASSERT_TRUE(run(io, refresher.refresh_once()));

    // A lagging replica reports an older version: nothing is fetched, the cache stays.
    db.at(19, "old");
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(db.definitions_queries, 1);
    EXPECT_EQ(cache.version(), 20);
    EXPECT_EQ(refresher.stats().lagging_versions, 1u);

    // The version query reaches a fresh node, the fetch a lagging one: not applied.
    db.version = "21";
    db.definitions = document(18, "older");
    EXPECT_FALSE(run(io, refresher.refresh_once()));
    EXPECT_EQ(cache.version(), 20);
    EXPECT_EQ(cache.by_api_token("phc_1")->flags.flags().at(0)->key, "new");
}

TEST_F(Refresher, SurvivesFailures) {
    DefinitionsRefresher refresher(io.get_executor(), cache, db.query(), options());
    // Nothing answers.
    EXPECT_FALSE(run(io, refresher.refresh_once()));
    EXPECT_FALSE(cache.loaded());
    db.at(5);
    ASSERT_TRUE(run(io, refresher.refresh_once()));

    const auto before = cache.current();
    auto expect_failure_keeps_cache = [&](const char* what) {
        SCOPED_TRACE(what);
        EXPECT_FALSE(run(io, refresher.refresh_once()));
        EXPECT_EQ(cache.current(), before);
    };
    db.version = std::nullopt;
    expect_failure_keeps_cache("version query fails");
    db.version = "six";
    expect_failure_keeps_cache("version is not a number");
    db.version = "6";
    db.definitions = std::nullopt;
    expect_failure_keeps_cache("fetch fails");
    db.definitions = R"({"version": 6, "teams": [)";
    expect_failure_keeps_cache("truncated document");
    db.throws = true;
    expect_failure_keeps_cache("the query function throws");
    db.throws = false;

    db.at(6, "back");
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(cache.version(), 6);
    EXPECT_GE(refresher.stats().poll_failures, 6u);
    // An outage is logged when it starts and when it ends, not once per poll.
    int failures_logged = 0;
    for (const auto& line : logged)
        failures_logged += line.find("refresh failed") != std::string::npos;
    EXPECT_LE(failures_logged, 3);
}

TEST_F(Refresher, WritesTheSnapshotAndAStartWithoutDatabaseServesFromIt) {
    TempDir dir;
    const fs::path snapshot = dir.path() / "definitions.snapshot";
    {
        DefinitionsRefresher refresher(io.get_executor(), cache, db.query(), options(snapshot));
        EXPECT_FALSE(refresher.restore_from_snapshot());  // none yet
        db.at(30, "saved");
        ASSERT_TRUE(run(io, refresher.refresh_once()));
        EXPECT_EQ(refresher.stats().snapshot_writes, 1u);
        ASSERT_TRUE(read_snapshot(snapshot).text);
        EXPECT_EQ(*read_snapshot(snapshot).text, document(30, "saved"));
        ASSERT_TRUE(run(io, refresher.refresh_once()));
        EXPECT_EQ(refresher.stats().snapshot_writes, 1u);  // same version: not written again
    }

    // A restart with every database down, an hour after the snapshot was written: the
    // definitions count as an hour old.
    using namespace std::chrono_literals;
    fs::last_write_time(snapshot, fs::file_time_type::clock::now() - 1h);
    DefinitionsCache restarted;
    FakeDatabase down;
    DefinitionsRefresher refresher(io.get_executor(), restarted, down.query(), options(snapshot));
    EXPECT_TRUE(refresher.restore_from_snapshot());
    EXPECT_EQ(restarted.version(), 30);
    const auto age = restarted.freshness().age(std::chrono::system_clock::now());
    ASSERT_TRUE(age);
    EXPECT_GE(*age, 1h);
    EXPECT_LT(*age, 1h + 1min);
    EXPECT_EQ(restarted.by_api_token("phc_1")->flags.flags().at(0)->key, "saved");
    EXPECT_FALSE(run(io, refresher.refresh_once()));
    EXPECT_EQ(restarted.version(), 30);  // still serving

    // Back up at the same version: nothing to fetch.
    down.at(30);
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(down.definitions_queries, 0);
}

TEST_F(Refresher, ACorruptSnapshotIsIgnored) {
    TempDir dir;
    const fs::path snapshot = dir.path() / "definitions.snapshot";
    std::ofstream(snapshot)
        << "flag_eval-definitions-snapshot 1 999 0000000000000000\n{\"version\": 1";
    DefinitionsRefresher refresher(io.get_executor(), cache, db.query(), options(snapshot));
    EXPECT_FALSE(refresher.restore_from_snapshot());
    EXPECT_FALSE(cache.loaded());
    ASSERT_FALSE(logged.empty());
    EXPECT_NE(logged.back().find("ignoring"), std::string::npos) << logged.back();

    // Whole but not definitions: also ignored.
    ASSERT_EQ(write_snapshot(snapshot, "[1, 2, 3]"), "");
    EXPECT_FALSE(refresher.restore_from_snapshot());
    EXPECT_FALSE(cache.loaded());
}

TEST_F(Refresher, SnapshotWriteFailureDoesNotStopServing) {
    TempDir dir;
    DefinitionsRefresher refresher(io.get_executor(), cache, db.query(),
                                   options(dir.path() / "no" / "such" / "dir"));
    db.at(3);
    EXPECT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(cache.version(), 3);
    EXPECT_EQ(refresher.stats().snapshot_write_failures, 1u);
}

TEST_F(Refresher, RunsUntilStopped) {
    DefinitionsRefresher refresher(io.get_executor(), cache, db.query(), options());
    bool finished = false;
    asio::co_spawn(io, refresher.run(), [&](std::exception_ptr) { finished = true; });
    db.at(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    // Polls keep coming: wait for a change made while it runs to be picked up.
    while (!cache.loaded() && std::chrono::steady_clock::now() < deadline)
        io.run_one_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(cache.loaded());
    db.at(2);
    while (cache.version() != 2 && std::chrono::steady_clock::now() < deadline)
        io.run_one_for(std::chrono::milliseconds(50));
    EXPECT_EQ(cache.version(), 2);

    refresher.stop();
    while (!finished && std::chrono::steady_clock::now() < deadline)
        io.run_one_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(finished);
}

// ---- against PostgreSQL: the SQL functions and the cache agree ----

namespace {

// A blocking libpq connection; first column of the first row, as QueryText returns it.
class Connection {
public:
    explicit Connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
        PQsetNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);  // NOTICEs are not failures
    }
    ~Connection() { PQfinish(conn_); }
    bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
    std::string error() const { return PQerrorMessage(conn_); }

    std::optional<std::string> value(const std::string& sql) {
        PGresult* r = PQexec(conn_, sql.c_str());
        std::optional<std::string> out;
        const auto status = PQresultStatus(r);
        if (status == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            out = std::string(PQgetvalue(r, 0, 0), PQgetlength(r, 0, 0));
        last_ok_ = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
        if (!last_ok_) last_error_ = PQresultErrorMessage(r);
        PQclear(r);
        return out;
    }
    bool exec(const std::string& sql) {
        value(sql);
        return last_ok_;
    }
    const std::string& last_error() const { return last_error_; }

private:
    PGconn* conn_;
    bool last_ok_ = false;
    std::string last_error_;
};

}  // namespace

TEST(RefresherAgainstPostgres, FollowsTheDatabase) {
    if (!std::getenv("PGHOST")) GTEST_SKIP() << "no PostgreSQL (PGHOST is not set)";
    const std::string database = "flag_eval_refresher_test";
    Connection admin("");
    ASSERT_TRUE(admin.ok()) << admin.error();
    ASSERT_TRUE(admin.exec("DROP DATABASE IF EXISTS " + database)) << admin.last_error();
    ASSERT_TRUE(admin.exec("CREATE DATABASE " + database)) << admin.last_error();
    struct Drop {
        Connection& admin;
        std::string database;
        ~Drop() { admin.exec("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)"); }
    } drop{admin, database};

    auto db = std::make_unique<Connection>("dbname=" + database);
    ASSERT_TRUE(db->ok()) << db->error();
    if (!db->exec("CREATE EXTENSION flag_eval"))
        GTEST_SKIP() << "the extension is not installed (make install): " << db->last_error();
    ASSERT_TRUE(db->exec(R"(
        INSERT INTO flag_eval.teams (id, name, api_token, secret_token, bucketing)
        VALUES (1, 'one', 'phc_one', 'phs_one', 'sha1'), (2, 'two', 'phc_two', 'phs_two', 'xxh3');
        INSERT INTO flag_eval.flags (team_id, key, definition) VALUES
          (1, 'rollout', '{"filters": {"groups": [{"rollout_percentage": 30}]}}'),
          (2, 'fast', '{"filters": {"groups": [{"rollout_percentage": 30}]}}'))"))
        << db->last_error();

    asio::io_context io;
    DefinitionsCache cache;
    int fetches = 0;
    QueryText query = [&](std::string sql) -> asio::awaitable<std::optional<TextRead>> {
        fetches += sql == kDefinitionsQuery;
        const std::optional<std::string> value = db->value(sql);
        if (!value) co_return std::nullopt;
        co_return TextRead{*value};
    };
    TempDir dir;
    RefresherOptions options{Config{}};
    options.snapshot_path = dir.path() / "definitions.snapshot";
    options.log = [](std::string_view) {};
    DefinitionsRefresher refresher(io.get_executor(), cache, query, options);

    ASSERT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(std::to_string(cache.version()),
              *db->value("SELECT flag_eval.definitions_version()"));
    const auto one = cache.by_api_token("phc_one");
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->secret_token, "phs_one");
    EXPECT_EQ(one->flags.flags().at(0)->key, "rollout");
    // The feed: sha1 flags as stored, xxh3 flags sent to the server.
    EXPECT_FALSE(json::parse(one->sdk_feed_body)
                     .at("flags")
                     .at(0)
                     .as_object()
                     .contains("ensure_experience_continuity"));
    const auto two = cache.by_secret_token("phs_two");
    ASSERT_NE(two, nullptr);
    EXPECT_EQ(json::parse(two->sdk_feed_body).at("flags").at(0).at("ensure_experience_continuity"),
              json::value(true));

    ASSERT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(fetches, 1);  // nothing changed

    ASSERT_TRUE(db->exec(R"(INSERT INTO flag_eval.flags (team_id, key, definition)
                            VALUES (1, 'later', '{"filters": {"groups": []}}'))"))
        << db->last_error();
    const std::int64_t before = cache.version();
    ASSERT_TRUE(run(io, refresher.refresh_once()));
    EXPECT_EQ(fetches, 2);
    EXPECT_GT(cache.version(), before);
    EXPECT_EQ(cache.by_api_token("phc_one")->flags.flags().size(), 2u);

    // The snapshot holds what was applied.
    DefinitionsCache restarted;
    DefinitionsRefresher offline(
        io.get_executor(), restarted,
        [](std::string) -> asio::awaitable<std::optional<TextRead>> { co_return std::nullopt; },
        options);
    ASSERT_TRUE(offline.restore_from_snapshot());
    EXPECT_EQ(restarted.version(), cache.version());
    EXPECT_EQ(restarted.by_api_token("phc_two")->sdk_feed_etag,
              cache.by_api_token("phc_two")->sdk_feed_etag);
    db.reset();
}
