// PgConnection against the throw-away cluster of `make decide-unit` (PGHOST, PGPORT, PGUSER,
// PGDATABASE): libpq driven without blocking, results and errors, and what breaks a connection.
#include "decide/database/pg_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

using namespace flag_eval::decide;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::string env(const char* name, const char* fallback = "") {
    const char* value = std::getenv(name);
    return value ? value : fallback;
}

std::string conninfo_via(const std::string& host) {
    return "host=" + host + " port=" + env("PGPORT") + " user=" + env("PGUSER", "postgres") +
           " dbname=" + env("PGDATABASE", "postgres");
}

class PgConnectionTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (env("PGPORT").empty())
            GTEST_SKIP() << "needs PostgreSQL: run through `make decide-unit`";
    }
    // Runs the body to completion; nothing else is on this io_context, so run() returns.
    void run(std::function<asio::awaitable<void>()> body) {
        bool done = false;
        io.restart();
        asio::co_spawn(io, body(), [&](std::exception_ptr e) {
            done = true;
            if (e) ADD_FAILURE() << "the test body threw";
        });
        io.run_for(10s);
        EXPECT_TRUE(done);
    }
    asio::io_context io;
};

// A connection to the test cluster, or null after reporting why not.
asio::awaitable<std::unique_ptr<PgConnection>> connect_to(const std::string& conninfo) {
    auto connected = co_await PgConnection::connect(co_await asio::this_coro::executor, conninfo,
                                                    Clock::now() + 3s);
    if (!connected.connection) ADD_FAILURE() << "could not connect: " << connected.failure.error;
    co_return std::move(connected.connection);
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

TEST_F(PgConnectionTest, ConnectsThroughAResolvedHostNameAndReadsRows) {
    run([&]() -> asio::awaitable<void> {
        // "localhost" goes through Asio's resolver; the server listens on 127.0.0.1 only, so
        // libpq must be handed every address, not just the first (which may be ::1).
        auto connection = co_await connect_to(conninfo_via("localhost"));
        if (!connection) co_return;
        const QueryParams params{"3", std::nullopt};
        auto result = co_await connection->query(
            "SELECT g, $2::text AS missing FROM generate_series(1, $1::int) g", params,
            Clock::now() + 2s);
        EXPECT_TRUE(result.ok()) << result.error;
        EXPECT_EQ(result.columns, (std::vector<std::string>{"g", "missing"}));
        EXPECT_EQ(result.rows, (std::vector<QueryRow>{
                                   {"1", std::nullopt}, {"2", std::nullopt}, {"3", std::nullopt}}));
        EXPECT_FALSE(connection->broken());
        EXPECT_TRUE(connection->healthy_when_idle());
    });
}

TEST_F(PgConnectionTest, BadConninfoIsAClearFailure) {
    run([&]() -> asio::awaitable<void> {
        auto connected = co_await PgConnection::connect(
            io.get_executor(), "host=127.0.0.1 nonsense_option=1", Clock::now() + 1s);
        EXPECT_FALSE(connected.connection);
        EXPECT_EQ(connected.failure.status, QueryStatus::ConnectionLost);
        EXPECT_NE(connected.failure.error.find("invalid conninfo"), std::string::npos)
            << connected.failure.error;

        const auto start = Clock::now();
        connected = co_await PgConnection::connect(
            io.get_executor(), conninfo_via("no-such-host.invalid"), start + 500ms);
        EXPECT_FALSE(connected.connection);
        EXPECT_NE(connected.failure.status, QueryStatus::Ok);
        EXPECT_LT(ms_since(start), 530.0) << "a slow resolver is abandoned at the deadline too";
    });
}

TEST_F(PgConnectionTest, ErrorsKeepTheConnectionButOpenTransactionsAndCopyBreakIt) {
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await connect_to(conninfo_via("127.0.0.1"));
        if (!connection) co_return;
        const QueryParams none;
        auto result = co_await connection->query("SELECT 1/0", none, Clock::now() + 2s);
        EXPECT_EQ(result.status, QueryStatus::ServerError);
        EXPECT_EQ(result.sqlstate, "22012");
        EXPECT_EQ(result.error, "division by zero");
        EXPECT_FALSE(connection->broken());

        // Two statements in one extended-protocol query are refused by the server.
        result = co_await connection->query("SELECT 1; SELECT 2", none, Clock::now() + 2s);
        EXPECT_EQ(result.sqlstate, "42601");
        EXPECT_FALSE(connection->broken());

        // A query whose deadline has passed is not sent and costs nothing.
        result = co_await connection->query("SELECT 1", none, Clock::now() - 1ms);
        EXPECT_EQ(result.status, QueryStatus::Timeout);
        EXPECT_FALSE(connection->broken());

        // Session state must not outlive a query (PgBouncer transaction pooling).
        result = co_await connection->query("BEGIN", none, Clock::now() + 2s);
        EXPECT_TRUE(result.ok()) << result.error;
        EXPECT_TRUE(connection->broken());
        result = co_await connection->query("SELECT 1", none, Clock::now() + 2s);
        EXPECT_EQ(result.status, QueryStatus::ConnectionLost);

        // COPY needs an exchange PgConnection does not speak.
        connection = co_await connect_to(conninfo_via("127.0.0.1"));
        if (!connection) co_return;
        result = co_await connection->query("COPY (SELECT 1) TO STDOUT", none, Clock::now() + 2s);
        EXPECT_EQ(result.status, QueryStatus::ServerError);
        EXPECT_EQ(result.sqlstate, "0A000");
        EXPECT_TRUE(connection->broken());
    });
}

TEST_F(PgConnectionTest, SlowQueryIsAbandonedAtTheDeadlineAndBreaksTheConnection) {
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await connect_to(conninfo_via("127.0.0.1"));
        if (!connection) co_return;
        const QueryParams none;
        const auto start = Clock::now();
        auto result = co_await connection->query("SELECT pg_sleep(2)", none, start + 80ms);
        const double elapsed = ms_since(start);
        EXPECT_EQ(result.status, QueryStatus::Timeout);
        EXPECT_GE(elapsed, 78.0);
        EXPECT_LT(elapsed, 110.0);
        EXPECT_TRUE(connection->broken()) << "a half-finished exchange is never reused";
    });
}

TEST_F(PgConnectionTest, TerminatedIdleConnectionIsNoticedBeforeUse) {
    run([&]() -> asio::awaitable<void> {
        auto victim = co_await connect_to(conninfo_via("127.0.0.1") + " application_name=victim");
        auto killer = co_await connect_to(conninfo_via("127.0.0.1"));
        if (!victim || !killer) co_return;
        EXPECT_TRUE(victim->healthy_when_idle());
        const QueryParams none;
        auto result = co_await killer->query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
            "'victim'",
            none, Clock::now() + 2s);
        EXPECT_TRUE(result.ok()) << result.error;
        // The backend's goodbye reaches the victim's socket shortly after; poll, never sleep.
        asio::steady_timer timer(io);
        const auto until = Clock::now() + 2s;
        while (victim->healthy_when_idle() && Clock::now() < until) {
            timer.expires_after(5ms);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        EXPECT_FALSE(victim->healthy_when_idle());
    });
}

TEST(QueryStatusNames, AreStable) {
    EXPECT_EQ(query_status_name(QueryStatus::Ok), "ok");
    EXPECT_EQ(query_status_name(QueryStatus::ServerError), "server_error");
    EXPECT_EQ(query_status_name(QueryStatus::ConnectionLost), "connection_lost");
    EXPECT_EQ(query_status_name(QueryStatus::Timeout), "timeout");
    EXPECT_EQ(query_status_name(QueryStatus::NoRoute), "no_route");
}
