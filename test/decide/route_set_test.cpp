// RouteSet against the throw-away PostgreSQL cluster of `make decide-unit` (PGHOST, PGPORT, PGUSER,
// PGDATABASE), plus listeners the tests control: a black hole (accepts, never answers), a refuser
// (accepts, hangs up) and a forwarder to the real server. Everything runs on one io_context;
// waits poll a condition with a deadline, never sleep.
#include "decide/database/route_set.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace flag_eval::decide;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto as_awaitable_tuple = asio::as_tuple(asio::use_awaitable);

std::string env(const char* name, const char* fallback = "") {
    const char* value = std::getenv(name);
    return value ? value : fallback;
}

bool have_postgres() { return !env("PGPORT").empty(); }

std::string conninfo_for(const std::string& host, unsigned short port,
                         const std::string& application = "route_set_test") {
    return "host=" + host + " port=" + std::to_string(port) + " user=" + env("PGUSER", "postgres") +
           " dbname=" + env("PGDATABASE", "postgres") + " application_name=" + application;
}

std::string postgres_conninfo(const std::string& application = "route_set_test") {
    return conninfo_for(env("PGHOST", "127.0.0.1"),
                        static_cast<unsigned short>(std::stoi(env("PGPORT"))), application);
}

// A port nothing listens on: bound, read, released.
unsigned short closed_port(asio::io_context& io) {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return probe.local_endpoint().port();
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

asio::awaitable<bool> poll_until(std::function<bool()> condition, Clock::duration limit) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = Clock::now() + limit;
    while (!condition()) {
        if (Clock::now() >= until) co_return false;
        timer.expires_after(5ms);
        co_await timer.async_wait(as_awaitable_tuple);
    }
    co_return true;
}

// Asks the server directly (not through the routes under test) until `sql` answers true.
asio::awaitable<bool> server_says(std::string sql, Clock::duration limit) {
    auto executor = co_await asio::this_coro::executor;
    auto connected = co_await PgConnection::connect(
        executor, postgres_conninfo("route_set_observer"), Clock::now() + 2s);
    if (!connected.connection) co_return false;
    asio::steady_timer timer(executor);
    const auto until = Clock::now() + limit;
    for (;;) {
        const QueryParams no_params;
        auto answer = co_await connected.connection->query(sql, no_params, Clock::now() + 1s);
        if (answer.ok() && answer.rows.size() == 1 && answer.rows[0][0] == "t") co_return true;
        if (Clock::now() >= until) co_return false;
        timer.expires_after(5ms);
        co_await timer.async_wait(as_awaitable_tuple);
    }
}

const RouteStatus& status_of(const std::vector<RouteStatus>& all, const std::string& name) {
    for (const auto& status : all)
        if (status.name == name) return status;
    throw std::runtime_error("no route " + name);
}

// A TCP listener on 127.0.0.1 whose behaviour the test switches.
class TestListener {
public:
    enum class Mode { Forward, BlackHole, Refuse };

    TestListener(asio::io_context& io, Mode mode)
        : io_(io),
          acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          mode_(mode) {
        if (have_postgres()) target_port_ = static_cast<unsigned short>(std::stoi(env("PGPORT")));
        asio::co_spawn(io_, accept_loop(), asio::detached);
    }
    unsigned short port() const { return port_; }
    void set_mode(Mode mode) { mode_ = mode; }
    std::size_t accepted() const { return accepted_; }
    void drop_connections() {
        for (auto& socket : sockets_) {
            boost::system::error_code ignored;
            socket->close(ignored);
        }
        sockets_.clear();
    }
    void close() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        drop_connections();
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(as_awaitable_tuple);
            if (ec) co_return;
            ++accepted_;
            auto client = std::make_shared<tcp::socket>(std::move(socket));
            if (mode_ == Mode::Refuse) continue;  // dropped here: the client sees EOF
            sockets_.push_back(client);
            if (mode_ == Mode::Forward) asio::co_spawn(io_, forward(client), asio::detached);
        }
    }
    asio::awaitable<void> forward(std::shared_ptr<tcp::socket> client) {
        auto server = std::make_shared<tcp::socket>(io_);
        auto [ec] = co_await server->async_connect(
            {asio::ip::make_address("127.0.0.1"), target_port_}, as_awaitable_tuple);
        if (ec) {
            client->close(ec);
            co_return;
        }
        sockets_.push_back(server);
        asio::co_spawn(io_, pipe(client, server), asio::detached);
        asio::co_spawn(io_, pipe(server, client), asio::detached);
    }
    static asio::awaitable<void> pipe(std::shared_ptr<tcp::socket> from,
                                      std::shared_ptr<tcp::socket> to) {
        std::array<char, 8192> buffer;
        for (;;) {
            auto [read_error, n] =
                co_await from->async_read_some(asio::buffer(buffer), as_awaitable_tuple);
            if (read_error) break;
            auto [write_error, written] =
                co_await asio::async_write(*to, asio::buffer(buffer, n), as_awaitable_tuple);
            if (write_error) break;
        }
        boost::system::error_code ignored;
        from->close(ignored);
        to->close(ignored);
    }

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    unsigned short port_ = acceptor_.local_endpoint().port();
    unsigned short target_port_ = 0;
    Mode mode_;
    std::size_t accepted_ = 0;
    std::vector<std::shared_ptr<tcp::socket>> sockets_;
};

class RouteSetTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_postgres()) GTEST_SKIP() << "needs PostgreSQL: run through `make decide-unit`";
    }

    // Runs the test body on the io_context until it finishes (probes keep the context busy, so
    // run() alone would not return), then checks that stopping lets the context run dry.
    void run(std::function<asio::awaitable<void>()> body, std::function<void()> stop_everything,
             Clock::duration limit = 8s) {
        bool done = false;
        std::exception_ptr failure;
        asio::co_spawn(io, body(), [&](std::exception_ptr e) {
            done = true;
            failure = e;
        });
        const auto until = Clock::now() + limit;
        while (!done && Clock::now() < until) io.run_one_for(50ms);
        EXPECT_TRUE(done) << "the test body did not finish in time";
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& error) {
                ADD_FAILURE() << "the test body threw: " << error.what();
            }
        }
        stop_everything();
        const auto stopping = Clock::now();
        io.run_for(5s);
        EXPECT_TRUE(io.stopped()) << "the io_context still had work after stop()";
        EXPECT_LT(ms_since(stopping), 1000.0) << "stopping took too long";
    }

    asio::io_context io;
};

RouteOptions quick_options() {
    RouteOptions options{Config{}};
    options.max_pool_size = 4;  // small enough for the pool tests to fill
    options.probe_interval = 50ms;
    options.probe_timeout = 500ms;
    options.hedge_after = 20ms;
    options.warm_idle = 1;
    return options;
}

}  // namespace

TEST(RouteClassification, RetryAndBreakerRules) {
    auto server_error = [](const char* sqlstate) {
        return QueryResult::failure(QueryStatus::ServerError, "x", sqlstate);
    };
    EXPECT_TRUE(is_route_failure(QueryResult::failure(QueryStatus::ConnectionLost, "x")));
    EXPECT_TRUE(is_route_failure(QueryResult::failure(QueryStatus::Timeout, "x")));
    for (const char* state : {"08006", "08P01", "57P01", "57P02", "57P03", "53300"}) {
        EXPECT_TRUE(is_route_failure(server_error(state))) << state;
        EXPECT_TRUE(is_retryable(server_error(state))) << state;
    }
    for (const char* state : {"40001", "25006"}) {
        EXPECT_FALSE(is_route_failure(server_error(state))) << state;
        EXPECT_TRUE(is_retryable(server_error(state))) << state;
    }
    for (const char* state : {"28000", "22023", "22P02", "42P01", "57014"}) {
        EXPECT_FALSE(is_route_failure(server_error(state))) << state;
        EXPECT_FALSE(is_retryable(server_error(state))) << state;
    }
    QueryResult ok;
    ok.status = QueryStatus::Ok;
    EXPECT_FALSE(is_retryable(ok));
}

TEST(RouteSetConfig, OptionsThatAreSettingsComeFromTheConfig) {
    Config config;
    config.pool_size = 9;
    config.probe_interval = 77ms;
    config.max_replica_lag = 5ms;
    const RouteOptions options(config);
    EXPECT_EQ(options.max_pool_size, 9u);
    EXPECT_EQ(options.probe_interval, 77ms);
    EXPECT_EQ(options.max_lag, 5ms);
}

TEST(RouteSetConfig, RejectsBadRouteLists) {
    asio::io_context io;
    EXPECT_THROW(RouteSet(io.get_executor(), {{"", RouteRole::Primary, "host=x"}}, quick_options()),
                 std::invalid_argument);
    EXPECT_THROW(RouteSet(io.get_executor(), {{"a", RouteRole::Primary, ""}}, quick_options()),
                 std::invalid_argument);
    EXPECT_THROW(
        RouteSet(io.get_executor(),
                 {{"a", RouteRole::Primary, "host=x"}, {"a", RouteRole::Replica, "host=y"}},
                 quick_options()),
        std::invalid_argument);
    EXPECT_EQ(route_role_from_name("pooler"), RouteRole::Pooler);
    EXPECT_EQ(route_role_from_name("primary"), RouteRole::Primary);
    EXPECT_FALSE(route_role_from_name("master"));
}

TEST_F(RouteSetTest, QueryReturnsRows) {
    RouteSet routes(io.get_executor(), {{"direct", RouteRole::Primary, postgres_conninfo()}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            // Braced lists are built outside co_await expressions: GCC 12 miscompiles them there.
            const QueryParams params41{"41", std::nullopt};
            auto outcome = co_await routes.query(
                Purpose::Definitions,
                "SELECT $1::int + 1 AS n, NULL::text AS nothing, $2::text AS t", params41,
                Clock::now() + 2s);
            EXPECT_EQ(outcome.result.status, QueryStatus::Ok) << outcome.result.error;
            EXPECT_EQ(outcome.route, "direct");
            EXPECT_EQ(outcome.attempts, 1);
            EXPECT_EQ(outcome.result.columns, (std::vector<std::string>{"n", "nothing", "t"}));
            if (outcome.result.rows.size() != 1) {
                ADD_FAILURE() << "expected one row";
                co_return;
            }
            EXPECT_EQ(outcome.result.rows[0], (QueryRow{"42", std::nullopt, std::nullopt}));
            // The connection went back to the pool.
            EXPECT_EQ(routes.status()[0].idle_connections, 1u);
            EXPECT_EQ(routes.status()[0].busy_connections, 0u);
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, ServerErrorReturnsItsSqlstateWithoutRetryOrBreakerFailure) {
    RouteSet routes(io.get_executor(),
                    {{"first", RouteRole::Replica, postgres_conninfo()},
                     {"second", RouteRole::Primary, postgres_conninfo()}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            const QueryParams not_a_number{"not a number"};
            auto outcome = co_await routes.query(Purpose::PersonData, "SELECT $1::int",
                                                 not_a_number, Clock::now() + 2s);
            EXPECT_EQ(outcome.result.status, QueryStatus::ServerError);
            EXPECT_EQ(outcome.result.sqlstate, "22P02");
            EXPECT_NE(outcome.result.error.find("invalid input syntax"), std::string::npos)
                << outcome.result.error;
            EXPECT_EQ(outcome.attempts, 1);
            EXPECT_EQ(outcome.route, "first");

            outcome = co_await routes.query(
                Purpose::PersonData,
                "DO $$BEGIN RAISE EXCEPTION 'bad flag' USING ERRCODE = '22023'; END$$", {},
                Clock::now() + 2s);
            EXPECT_EQ(outcome.result.sqlstate, "22023");
            EXPECT_EQ(outcome.result.error, "bad flag");
            EXPECT_EQ(outcome.attempts, 1);
            const auto status = routes.status();
            EXPECT_EQ(status_of(status, "first").consecutive_failures, 0);
            EXPECT_EQ(status_of(status, "first").breaker, BreakerState::Closed);
            EXPECT_EQ(status_of(status, "first").idle_connections, 1u)
                << "an ordinary error keeps the connection";

            // The connection is still good for the next query.
            outcome = co_await routes.query(Purpose::PersonData, "SELECT 1", {}, Clock::now() + 2s);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, HotStandbyConflictAndTerminationRetryOnTheNextRoute) {
    RouteSet routes(io.get_executor(),
                    {{"first", RouteRole::Replica, postgres_conninfo()},
                     {"second", RouteRole::Primary, postgres_conninfo()}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            auto outcome = co_await routes.query(
                Purpose::PersonData,
                "DO $$BEGIN RAISE EXCEPTION 'canceling statement due to conflict with recovery' "
                "USING ERRCODE = '40001'; END$$",
                {}, Clock::now() + 2s);
            EXPECT_EQ(outcome.result.sqlstate, "40001");
            EXPECT_EQ(outcome.attempts, 2) << "each route once, not more";
            EXPECT_EQ(outcome.route, "second");

            // The backend is terminated under the query (57P01, then the connection closes).
            outcome = co_await routes.query(Purpose::Definitions,
                                            "SELECT pg_terminate_backend(pg_backend_pid())", {},
                                            Clock::now() + 2s);
            EXPECT_FALSE(outcome.result.ok());
            EXPECT_TRUE(outcome.result.sqlstate == "57P01" ||
                        outcome.result.status == QueryStatus::ConnectionLost)
                << outcome.result.sqlstate << " " << outcome.result.error;
            EXPECT_EQ(outcome.attempts, 2);
            EXPECT_EQ(outcome.route, "second");
            const auto status = routes.status();
            EXPECT_EQ(status_of(status, "first").consecutive_failures, 1);
            EXPECT_EQ(status_of(status, "first").idle_connections, 0u)
                << "a terminated connection is not pooled";

            // The routes still answer (a fresh connection replaces the dead one).
            outcome =
                co_await routes.query(Purpose::Definitions, "SELECT 1", {}, Clock::now() + 2s);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(outcome.route, "first");
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, DroppedConnectionRetriesOnTheNextRoute) {
    TestListener forwarder(io, TestListener::Mode::Forward);
    RouteOptions options = quick_options();
    options.hedge_after = 10s;  // the retry after the failure, not a hedge, must answer
    RouteSet routes(io.get_executor(),
                    {{"pooler", RouteRole::Pooler,
                      conninfo_for("127.0.0.1", forwarder.port(), "route_set_drop_test")},
                     {"direct", RouteRole::Primary, postgres_conninfo()}},
                    options);
    run(
        [&]() -> asio::awaitable<void> {
            bool finished = false;
            QueryOutcome outcome;
            asio::co_spawn(
                io,
                [&]() -> asio::awaitable<void> {
                    outcome = co_await routes.query(Purpose::PersonData,
                                                    "SELECT pg_sleep(0.3), 'answered'", {},
                                                    Clock::now() + 3s);
                    finished = true;
                },
                asio::detached);
            // Cut the pooler's connection while the query is running on it.
            EXPECT_TRUE(co_await server_says(
                "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = "
                "'route_set_drop_test' AND state = 'active' AND query LIKE '%pg_sleep%'",
                2s));
            forwarder.drop_connections();
            EXPECT_TRUE(co_await poll_until([&] { return finished; }, 3s));
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(outcome.attempts, 2);
            EXPECT_EQ(outcome.hedges, 0);
            EXPECT_EQ(outcome.route, "direct");
            EXPECT_EQ(status_of(routes.status(), "pooler").consecutive_failures, 1);
            EXPECT_EQ(status_of(routes.status(), "direct")
                          .attempts[static_cast<std::size_t>(AttemptKind::Retry)],
                      1u);
        },
        [&] {
            routes.stop();
            forwarder.close();
        });
}

TEST_F(RouteSetTest, BlackHoledRouteIsAbandonedAtTheDeadline) {
    TestListener black_hole(io, TestListener::Mode::BlackHole);
    RouteSet routes(
        io.get_executor(),
        {{"stopped-pgbouncer", RouteRole::Pooler, conninfo_for("127.0.0.1", black_hole.port())}},
        quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            const auto start = Clock::now();
            auto outcome =
                co_await routes.query(Purpose::PersonData, "SELECT 1", {}, start + 100ms);
            const double elapsed = ms_since(start);
            EXPECT_EQ(outcome.result.status, QueryStatus::Timeout) << outcome.result.error;
            EXPECT_GE(elapsed, 95.0);
            EXPECT_LT(elapsed, 130.0) << "abandoned at the deadline";
            EXPECT_EQ(black_hole.accepted(), 1u)
                << "the connection reached the listener and hung there";
        },
        [&] {
            routes.stop();
            black_hole.close();
        });
}

TEST_F(RouteSetTest, HungRouteIsHedgedAndItsBreakerOpensWhenItsAttemptsTimeOut) {
    TestListener black_hole(io, TestListener::Mode::BlackHole);
    RouteOptions options = quick_options();
    options.failure_threshold = 2;
    RouteSet routes(
        io.get_executor(),
        {{"stopped-pgbouncer", RouteRole::Pooler, conninfo_for("127.0.0.1", black_hole.port())},
         {"direct", RouteRole::Primary, postgres_conninfo()}},
        options);
    run(
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 2; ++i) {
                const auto start = Clock::now();
                auto outcome =
                    co_await routes.query(Purpose::PersonData, "SELECT 7", {}, start + 300ms);
                const double elapsed = ms_since(start);
                EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
                EXPECT_EQ(outcome.route, "direct");
                EXPECT_EQ(outcome.attempts, 2);
                EXPECT_EQ(outcome.hedges, 1);
                // The hedge went out after hedge_after and answered; the black hole's attempt
                // was not waited for.
                EXPECT_GE(elapsed, 19.0);
                EXPECT_LT(elapsed, 300.0);
            }
            // The attempts left in the black hole time out at their deadline and count against
            // its breaker: then it costs nothing.
            EXPECT_TRUE(co_await poll_until(
                [&] { return routes.status()[0].breaker == BreakerState::Open; }, 2s));
            const auto start = Clock::now();
            auto outcome =
                co_await routes.query(Purpose::PersonData, "SELECT 7", {}, start + 300ms);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(outcome.attempts, 1);
            EXPECT_EQ(outcome.route, "direct");
            EXPECT_LT(ms_since(start), 30.0);
            EXPECT_EQ(status_of(routes.status(), "direct")
                          .attempts[static_cast<std::size_t>(AttemptKind::Hedge)],
                      2u);
        },
        [&] {
            routes.stop();
            black_hole.close();
        });
}

TEST_F(RouteSetTest, TwoHungPoolersThenAServerThatAnswersBeforeTheDeadline) {
    // Both PgBouncers hang (PAUSE, SIGSTOP): the request moves on twice within its deadline.
    TestListener hole1(io, TestListener::Mode::BlackHole);
    TestListener hole2(io, TestListener::Mode::BlackHole);
    RouteSet routes(io.get_executor(),
                    {{"pgbouncer1", RouteRole::Pooler, conninfo_for("127.0.0.1", hole1.port())},
                     {"pgbouncer2", RouteRole::Pooler, conninfo_for("127.0.0.1", hole2.port())},
                     {"direct", RouteRole::Primary, postgres_conninfo()}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            const auto start = Clock::now();
            auto outcome =
                co_await routes.query(Purpose::PersonData, "SELECT 7", {}, start + 200ms);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(outcome.route, "direct");
            EXPECT_EQ(outcome.attempts, 3);
            EXPECT_EQ(outcome.hedges, 2);
            EXPECT_GE(ms_since(start), 39.0) << "two hedges, hedge_after apart";
            EXPECT_LT(ms_since(start), 200.0);
        },
        [&] {
            routes.stop();
            hole1.close();
            hole2.close();
        });
}

TEST_F(RouteSetTest, HedgeGoesToARouteSharingNoServerWithTheSlowOne) {
    // pgbouncer1 fronts standby1. When it hangs, the hedge skips the direct route to standby1
    // (perhaps the server is what hangs) for a route to another server.
    TestListener hole(io, TestListener::Mode::BlackHole);
    RouteConfig pgbouncer1{"pgbouncer1", RouteRole::Pooler, conninfo_for("127.0.0.1", hole.port())};
    pgbouncer1.backend = "standby1";
    RouteSet routes(io.get_executor(),
                    {pgbouncer1,
                     {"standby1", RouteRole::Replica, postgres_conninfo()},
                     {"standby2", RouteRole::Replica, postgres_conninfo()}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            auto outcome =
                co_await routes.query(Purpose::PersonData, "SELECT 7", {}, Clock::now() + 300ms);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(outcome.route, "standby2");
            EXPECT_EQ(outcome.hedges, 1);
            EXPECT_EQ(status_of(routes.status(), "standby1").attempts,
                      (std::array<std::uint64_t, kAttemptKinds>{}))
                << "never asked";
        },
        [&] {
            routes.stop();
            hole.close();
        });
}

TEST_F(RouteSetTest, RefusedRoutesAreSkippedAtOnceUntilOneAnswers) {
    // Both PgBouncers killed: each refusal costs microseconds, and the request goes on.
    asio::io_context spare;
    const auto port1 = closed_port(spare);
    const auto port2 = closed_port(spare);
    RouteSet routes(io.get_executor(),
                    {{"pgbouncer1", RouteRole::Pooler, conninfo_for("127.0.0.1", port1)},
                     {"pgbouncer2", RouteRole::Pooler, conninfo_for("127.0.0.1", port2)},
                     {"direct", RouteRole::Primary, postgres_conninfo()}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            const auto start = Clock::now();
            auto outcome = co_await routes.query(Purpose::PersonData, "SELECT 7", {}, start + 1s);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(outcome.route, "direct");
            EXPECT_EQ(outcome.attempts, 3);
            EXPECT_EQ(outcome.hedges, 0) << "retries after failures, no waiting";
            const auto status = routes.status();
            EXPECT_EQ(status_of(status, "pgbouncer1").consecutive_failures, 1);
            EXPECT_EQ(status_of(status, "pgbouncer2").consecutive_failures, 1);
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, EveryRouteFailingReturnsTheLastFailure) {
    asio::io_context spare;
    const auto port1 = closed_port(spare);
    const auto port2 = closed_port(spare);
    RouteSet routes(io.get_executor(),
                    {{"a", RouteRole::Replica, conninfo_for("127.0.0.1", port1)},
                     {"b", RouteRole::Replica, conninfo_for("127.0.0.1", port2)}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            const auto start = Clock::now();
            auto outcome = co_await routes.query(Purpose::PersonData, "SELECT 7", {}, start + 1s);
            EXPECT_EQ(outcome.result.status, QueryStatus::ConnectionLost) << outcome.result.error;
            EXPECT_EQ(outcome.route, "b");
            EXPECT_EQ(outcome.attempts, 2);
            EXPECT_LT(ms_since(start), 500.0) << "no waiting for the deadline";
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, ClosedPortOpensTheBreakerAndLaterRequestsSkipIt) {
    const auto port = closed_port(io);
    RouteSet routes(io.get_executor(),
                    {{"dead-replica", RouteRole::Replica, conninfo_for("127.0.0.1", port)},
                     {"direct", RouteRole::Primary, postgres_conninfo()}},
                    quick_options());  // not started: only requests feed the breaker here
    run(
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 3; ++i) {
                auto outcome =
                    co_await routes.query(Purpose::PersonData, "SELECT 1", {}, Clock::now() + 1s);
                EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
                EXPECT_EQ(outcome.attempts, 2) << "refused on the dead route, answered by the next";
                EXPECT_EQ(outcome.route, "direct");
            }
            const auto status = routes.status();
            EXPECT_EQ(status_of(status, "dead-replica").breaker, BreakerState::Open);
            EXPECT_EQ(status_of(status, "dead-replica").times_opened, 1u);
            EXPECT_NE(status_of(status, "dead-replica").last_error.find("connection_lost"),
                      std::string::npos)
                << status_of(status, "dead-replica").last_error;
            for (int i = 0; i < 3; ++i) {
                auto outcome =
                    co_await routes.query(Purpose::PersonData, "SELECT 1", {}, Clock::now() + 1s);
                EXPECT_TRUE(outcome.result.ok());
                EXPECT_EQ(outcome.attempts, 1) << "the open breaker skips the dead route";
                EXPECT_EQ(outcome.route, "direct");
            }
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, AllBreakersOpenAnswersAtOnceAndTheProbeClosesThemAgain) {
    TestListener listener(io, TestListener::Mode::Refuse);
    RouteSet routes(io.get_executor(),
                    {{"pooler", RouteRole::Pooler, conninfo_for("127.0.0.1", listener.port())}},
                    quick_options());
    routes.start();
    run(
        [&]() -> asio::awaitable<void> {
            // The probes alone open the breaker of a route that hangs up on every connection.
            EXPECT_TRUE(co_await poll_until(
                [&] { return routes.status()[0].breaker == BreakerState::Open; }, 3s));
            const auto start = Clock::now();
            auto outcome = co_await routes.query(Purpose::PersonData, "SELECT 1", {}, start + 1s);
            EXPECT_EQ(outcome.result.status, QueryStatus::NoRoute);
            EXPECT_EQ(outcome.attempts, 0);
            EXPECT_LT(ms_since(start), 5.0) << "no route means no waiting";

            // The route comes back: the next probe closes the breaker and warms a connection.
            listener.set_mode(TestListener::Mode::Forward);
            EXPECT_TRUE(co_await poll_until(
                [&] { return routes.status()[0].breaker == BreakerState::Closed; }, 3s));
            EXPECT_TRUE(
                co_await poll_until([&] { return routes.status()[0].idle_connections >= 1; }, 3s));
            const auto status = routes.status()[0];
            EXPECT_EQ(status.in_recovery, false);
            EXPECT_EQ(status.lag_seconds, 0.0);
            EXPECT_EQ(status.connections_opened, 1u) << "the warm connection";
            outcome = co_await routes.query(Purpose::PersonData, "SELECT 1", {}, Clock::now() + 1s);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(routes.status()[0].connections_opened, 1u)
                << "the first request used the warm connection";
        },
        [&] {
            routes.stop();
            listener.close();
        });
}

TEST_F(RouteSetTest, ProbeKeepsIdleConnectionsWarmWithARecentRequestsStatement) {
    RouteOptions options = quick_options();
    options.warm_idle = 3;
    RouteSet routes(io.get_executor(),
                    {{"direct", RouteRole::Replica, postgres_conninfo("route_set_warm_test")}},
                    options);
    run(
        [&]() -> asio::awaitable<void> {
            const QueryParams params{"warm"};
            auto outcome =
                co_await routes.query(Purpose::PersonData, "SELECT $1::text AS warm_up_marker",
                                      params, Clock::now() + 2s);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            routes.start();
            EXPECT_TRUE(
                co_await poll_until([&] { return routes.status()[0].idle_connections == 3; }, 3s));
            // The request's own connection, and two the probe opened and warmed with its
            // statement (pg_stat_activity shows an idle backend's last statement).
            EXPECT_TRUE(co_await server_says(
                "SELECT count(*) = 3 FROM pg_stat_activity WHERE application_name = "
                "'route_set_warm_test' AND state = 'idle' AND query LIKE '%warm_up_marker%'",
                2s));
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, PrimaryWriteGoesOnlyWhereTheProbeSaysNotInRecovery) {
    // A route configured as a replica that answers as a primary (a promoted standby).
    RouteSet routes(io.get_executor(), {{"promoted", RouteRole::Replica, postgres_conninfo()}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            auto outcome =
                co_await routes.query(Purpose::PrimaryWrite, "SELECT 1", {}, Clock::now() + 1s);
            EXPECT_EQ(outcome.result.status, QueryStatus::NoRoute)
                << "not probed yet: not known to be a primary";
            routes.start();
            EXPECT_TRUE(co_await poll_until(
                [&] { return routes.status()[0].in_recovery.has_value(); }, 3s));
            outcome =
                co_await routes.query(Purpose::PrimaryWrite, "SELECT 1", {}, Clock::now() + 1s);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(outcome.route, "promoted");
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, AHedgeNeverGoesToARouteThePurposeOnlyFallsBackTo) {
    // A slow write on the configured primary is not hedged on a promoted standby (a route a write
    // uses only once the primary is gone); as a stale replica's definitions would, its answer
    // could win the race and be the wrong one.
    RouteSet routes(io.get_executor(),
                    {{"primary", RouteRole::Primary, postgres_conninfo()},
                     {"promoted", RouteRole::Replica, postgres_conninfo()}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            routes.start();
            EXPECT_TRUE(co_await poll_until(
                [&] {
                    const auto status = routes.status();
                    return status[0].in_recovery.has_value() && status[1].in_recovery.has_value();
                },
                3s));
            auto outcome = co_await routes.query(Purpose::PrimaryWrite, "SELECT pg_sleep(0.1)", {},
                                                 Clock::now() + 2s);
            EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
            EXPECT_EQ(outcome.route, "primary");
            EXPECT_EQ(outcome.hedges, 0) << "hedge_after is 20 ms, the write took 100";
            EXPECT_EQ(status_of(routes.status(), "promoted")
                          .attempts[static_cast<std::size_t>(AttemptKind::Hedge)],
                      0u);
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, FiftyConcurrentQueriesShareAPoolOfFour) {
    const std::string application = "route_set_pool_test";
    RouteSet routes(io.get_executor(),
                    {{"direct", RouteRole::Primary, postgres_conninfo(application)}},
                    quick_options());
    run(
        [&]() -> asio::awaitable<void> {
            constexpr int total = 50;
            int finished = 0, answered = 0;
            std::size_t most_busy = 0;
            for (int i = 0; i < total; ++i) {
                asio::co_spawn(
                    io,
                    [&, i]() -> asio::awaitable<void> {
                        const QueryParams params{std::to_string(i)};
                        auto outcome = co_await routes.query(Purpose::PersonData,
                                                             "SELECT $1::int, pg_sleep(0.01)",
                                                             params, Clock::now() + 5s);
                        if (outcome.result.ok() && outcome.result.rows.size() == 1 &&
                            outcome.result.rows[0][0] == std::to_string(i))
                            ++answered;
                        else
                            ADD_FAILURE() << "query " << i << ": " << outcome.result.error;
                        ++finished;
                    },
                    asio::detached);
            }
            EXPECT_TRUE(co_await poll_until(
                [&] {
                    most_busy = std::max(most_busy, routes.status()[0].busy_connections);
                    return finished == total;
                },
                5s));
            EXPECT_EQ(answered, total);
            EXPECT_LE(most_busy, 4u);
            EXPECT_GE(most_busy, 2u) << "queries did run side by side";
            EXPECT_LE(routes.status()[0].idle_connections, 4u);
            EXPECT_LE(routes.status()[0].connections_opened, 4u)
                << "connections are reused, not reopened";

            // The server saw at most four connections from the pool.
            const QueryParams application_param{application};
            auto count = co_await routes.query(
                Purpose::Definitions,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                application_param, Clock::now() + 2s);
            if (count.result.ok())
                EXPECT_LE(std::stoi(count.result.rows.at(0).at(0).value()), 4);
            else
                ADD_FAILURE() << count.result.error;
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, QueriesBeyondMaxConnectingWaitInsteadOfOpeningMoreConnections) {
    // A burst of queries on a route with no idle connection forks no more backends at once than
    // max_connecting (a server that hangs on connect shows how many were tried).
    TestListener black_hole(io, TestListener::Mode::BlackHole);
    RouteOptions options = quick_options();
    options.max_connecting = 1;
    RouteSet routes(io.get_executor(),
                    {{"hung", RouteRole::Replica, conninfo_for("127.0.0.1", black_hole.port())}},
                    options);
    run(
        [&]() -> asio::awaitable<void> {
            int timed_out = 0;
            for (int i = 0; i < 3; ++i) {
                asio::co_spawn(
                    io,
                    [&]() -> asio::awaitable<void> {
                        auto outcome = co_await routes.query(Purpose::PersonData, "SELECT 1", {},
                                                             Clock::now() + 200ms);
                        EXPECT_EQ(outcome.result.status, QueryStatus::Timeout)
                            << outcome.result.error;
                        ++timed_out;
                    },
                    asio::detached);
            }
            EXPECT_TRUE(co_await poll_until([&] { return timed_out == 3; }, 3s));
            EXPECT_EQ(black_hole.accepted(), 1u) << "one connect; the other two waited for it";
        },
        [&] {
            routes.stop();
            black_hole.close();
        });
}

TEST_F(RouteSetTest, AFailedConnectFailsThoseWaitingForAConnectionAtOnce) {
    asio::io_context spare;
    const auto port = closed_port(spare);
    RouteOptions options = quick_options();
    options.max_connecting = 1;
    RouteSet routes(io.get_executor(),
                    {{"dead", RouteRole::Replica, conninfo_for("127.0.0.1", port)}}, options);
    run(
        [&]() -> asio::awaitable<void> {
            int failed = 0;
            const auto start = Clock::now();
            for (int i = 0; i < 3; ++i) {
                asio::co_spawn(
                    io,
                    [&]() -> asio::awaitable<void> {
                        auto outcome = co_await routes.query(Purpose::PersonData, "SELECT 1", {},
                                                             Clock::now() + 3s);
                        EXPECT_EQ(outcome.result.status, QueryStatus::ConnectionLost)
                            << outcome.result.error;
                        ++failed;
                    },
                    asio::detached);
            }
            EXPECT_TRUE(co_await poll_until([&] { return failed == 3; }, 3s));
            EXPECT_LT(ms_since(start), 1000.0) << "nobody waited for the deadline";
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, StopEndsProbesAndLaterQueriesGetNoRoute) {
    TestListener black_hole(io, TestListener::Mode::BlackHole);
    RouteOptions options = quick_options();
    options.probe_timeout = 5s;  // a probe stuck in the black hole must still stop at once
    RouteSet routes(io.get_executor(),
                    {{"hole", RouteRole::Pooler, conninfo_for("127.0.0.1", black_hole.port())},
                     {"direct", RouteRole::Primary, postgres_conninfo()}},
                    options);
    routes.start();
    run(
        [&]() -> asio::awaitable<void> {
            EXPECT_TRUE(co_await poll_until(
                [&] { return routes.status()[1].in_recovery.has_value(); }, 3s));
            EXPECT_TRUE(co_await poll_until([&] { return black_hole.accepted() >= 1; }, 3s));
            routes.stop();
            auto outcome =
                co_await routes.query(Purpose::Definitions, "SELECT 1", {}, Clock::now() + 1s);
            EXPECT_EQ(outcome.result.status, QueryStatus::NoRoute);
            EXPECT_EQ(routes.status()[1].idle_connections, 0u);
        },
        [&] { black_hole.close(); });
}

TEST_F(RouteSetTest, DestroyingTheRouteSetWhileProbesAreInFlightIsSafe) {
    // The probes outlive the RouteSet by a few turns of the event loop: their state must too
    // (run under AddressSanitizer to see the difference).
    TestListener black_hole(io, TestListener::Mode::BlackHole);
    auto routes = std::make_unique<RouteSet>(
        io.get_executor(),
        std::vector<RouteConfig>{
            {"hole", RouteRole::Pooler, conninfo_for("127.0.0.1", black_hole.port())},
            {"direct", RouteRole::Primary, postgres_conninfo()}},
        quick_options());
    routes->start();
    run(
        [&]() -> asio::awaitable<void> {
            EXPECT_TRUE(co_await poll_until(
                [&] { return routes->status()[1].in_recovery.has_value(); }, 3s));
            EXPECT_TRUE(co_await poll_until([&] { return black_hole.accepted() >= 1; }, 3s));
            routes.reset();  // mid-probe on the black hole, idle between probes on the other
        },
        [&] { black_hole.close(); });
}

// ---- batches: calls that find every pooled connection busy share one statement ----

namespace {

constexpr const char* kDoubleSql = "SELECT $1::int * 2 AS doubled";
constexpr BatchForm kDoubleBatch{
    "SELECT c.v::int * 2 AS doubled FROM unnest($1::text[]) WITH ORDINALITY AS c(v, n) "
    "ORDER BY c.n"};

// Holds the route's only pooled connection for `seconds`, then counts itself finished.
asio::awaitable<void> hold_the_connection(RouteSet& routes, const char* seconds, int& finished) {
    const QueryParams params{seconds};
    auto outcome = co_await routes.query(Purpose::PersonData, "SELECT pg_sleep($1::float8)", params,
                                         Clock::now() + 5s);
    EXPECT_TRUE(outcome.result.ok()) << outcome.result.error;
    ++finished;
}

// Holds the route's only pooled connection for `seconds` (counted in `finished` when done); true
// once the route reports it busy.
asio::awaitable<bool> occupy_the_connection(asio::io_context& io, RouteSet& routes,
                                            const char* seconds, int& finished) {
    asio::co_spawn(io, hold_the_connection(routes, seconds, finished), asio::detached);
    co_return co_await poll_until([&] { return routes.status()[0].busy_connections == 1; }, 2s);
}

// Another statement form, batched apart from kDoubleBatch.
constexpr const char* kTripleSql = "SELECT $1::int * 3 AS tripled";
constexpr BatchForm kTripleBatch{
    "SELECT c.v::int * 3 AS tripled FROM unnest($1::text[]) WITH ORDINALITY AS c(v, n) "
    "ORDER BY c.n"};

// One batchable call of `sql` in `form` with `value`; its result goes to `into`, then it counts
// itself.
asio::awaitable<void> batchable_call(RouteSet& routes, const char* sql, const BatchForm& form,
                                     std::optional<std::string> value, Clock::duration wait,
                                     QueryResult& into, int& finished) {
    const QueryParams params{std::move(value)};
    auto outcome =
        co_await routes.query(Purpose::PersonData, sql, params, Clock::now() + wait, &form);
    into = std::move(outcome.result);
    ++finished;
}

asio::awaitable<void> doubling_call(RouteSet& routes, std::optional<std::string> value,
                                    Clock::duration wait, QueryResult& into, int& finished) {
    co_await batchable_call(routes, kDoubleSql, kDoubleBatch, std::move(value), wait, into,
                            finished);
}

// A call for each value, all spawned in this turn of the event loop; results in their order.
void spawn_doubling_calls(asio::io_context& io, RouteSet& routes,
                          const std::vector<std::optional<std::string>>& values,
                          std::vector<QueryResult>& results, int& finished) {
    results.resize(values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
        asio::co_spawn(io, doubling_call(routes, values[i], 5s, results[i], finished),
                       asio::detached);
}

RouteOptions one_connection() {
    RouteOptions options = quick_options();
    options.max_pool_size = 1;
    return options;
}

}  // namespace

TEST_F(RouteSetTest, CallsWaitingForABusyPoolGoAsOneBatchAndEachGetsItsOwnRow) {
    RouteSet routes(io.get_executor(), {{"direct", RouteRole::Primary, postgres_conninfo()}},
                    one_connection());
    run(
        [&]() -> asio::awaitable<void> {
            int finished = 0;
            EXPECT_TRUE(co_await occupy_the_connection(io, routes, "0.3", finished));
            constexpr int calls = 20;
            std::vector<std::optional<std::string>> values;
            for (int i = 0; i < calls; ++i) values.push_back(" " + std::to_string(i));
            std::vector<QueryResult> results;
            spawn_doubling_calls(io, routes, values, results, finished);
            EXPECT_TRUE(co_await poll_until([&] { return finished == calls + 1; }, 5s));
            for (int i = 0; i < calls; ++i) {
                EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].error;
                EXPECT_EQ(results[i].columns, std::vector<std::string>{"doubled"});
                EXPECT_EQ(results[i].rows, (std::vector<QueryRow>{{std::to_string(2 * i)}})) << i;
            }
            const RouteStatus status = routes.status()[0];
            EXPECT_EQ(status.batches, 1u) << "every call arrived while the connection was held";
            EXPECT_EQ(status.batched_calls, static_cast<std::uint64_t>(calls));
            EXPECT_EQ(status.connections_opened, 1u);
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, CallsOfTwoFormsArrivingInTurnMakeOneBatchEach) {
    // As person-data reads and continuity writes do on a primary: a call of the other form must
    // not end the batch gathering this form's calls.
    RouteSet routes(io.get_executor(), {{"direct", RouteRole::Primary, postgres_conninfo()}},
                    one_connection());
    run(
        [&]() -> asio::awaitable<void> {
            int finished = 0;
            EXPECT_TRUE(co_await occupy_the_connection(io, routes, "0.3", finished));
            constexpr int pairs = 8;
            std::vector<QueryResult> doubled(pairs), tripled(pairs);
            for (int i = 0; i < pairs; ++i) {
                asio::co_spawn(io,
                               batchable_call(routes, kDoubleSql, kDoubleBatch, std::to_string(i),
                                              5s, doubled[i], finished),
                               asio::detached);
                asio::co_spawn(io,
                               batchable_call(routes, kTripleSql, kTripleBatch, std::to_string(i),
                                              5s, tripled[i], finished),
                               asio::detached);
            }
            EXPECT_TRUE(co_await poll_until([&] { return finished == 2 * pairs + 1; }, 5s));
            for (int i = 0; i < pairs; ++i) {
                EXPECT_EQ(doubled[i].rows, (std::vector<QueryRow>{{std::to_string(2 * i)}})) << i;
                EXPECT_EQ(tripled[i].rows, (std::vector<QueryRow>{{std::to_string(3 * i)}})) << i;
            }
            const RouteStatus status = routes.status()[0];
            EXPECT_EQ(status.batches, 2u);
            EXPECT_EQ(status.batched_calls, static_cast<std::uint64_t>(2 * pairs));
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, ABatchFailingOnOneCallsInputFailsThatCallOnly) {
    RouteSet routes(io.get_executor(), {{"direct", RouteRole::Primary, postgres_conninfo()}},
                    one_connection());
    run(
        [&]() -> asio::awaitable<void> {
            int finished = 0;
            EXPECT_TRUE(co_await occupy_the_connection(io, routes, "0.2", finished));
            // Values with quotes, backslashes, commas and braces must survive the array literal.
            const std::vector<std::optional<std::string>> values{"1", "two\"\\,{}", "3",
                                                                 std::nullopt};
            std::vector<QueryResult> results;
            spawn_doubling_calls(io, routes, values, results, finished);
            EXPECT_TRUE(co_await poll_until(
                [&] { return finished == static_cast<int>(values.size()) + 1; }, 5s));
            EXPECT_EQ(results[0].rows, (std::vector<QueryRow>{{"2"}})) << results[0].error;
            EXPECT_EQ(results[1].status, QueryStatus::ServerError);
            EXPECT_EQ(results[1].sqlstate, "22P02");
            EXPECT_NE(results[1].error.find("two\"\\,{}"), std::string::npos) << results[1].error;
            EXPECT_EQ(results[2].rows, (std::vector<QueryRow>{{"6"}})) << results[2].error;
            EXPECT_EQ(results[3].rows, (std::vector<QueryRow>{{std::nullopt}}))
                << "NULL stays NULL: " << results[3].error;
            const RouteStatus status = routes.status()[0];
            EXPECT_EQ(status.batches, 1u);
            EXPECT_EQ(status.breaker, BreakerState::Closed);
            EXPECT_EQ(status.consecutive_failures, 0);
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, ACallOnAQuietRouteIsSentAloneAtOnce) {
    RouteSet routes(io.get_executor(), {{"direct", RouteRole::Primary, postgres_conninfo()}},
                    one_connection());
    run(
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 3; ++i) {
                const QueryParams params{std::to_string(i)};
                auto outcome = co_await routes.query(Purpose::PersonData, kDoubleSql, params,
                                                     Clock::now() + 2s, &kDoubleBatch);
                EXPECT_EQ(outcome.result.rows, (std::vector<QueryRow>{{std::to_string(2 * i)}}))
                    << outcome.result.error;
            }
            EXPECT_EQ(routes.status()[0].batches, 0u);
            EXPECT_EQ(routes.status()[0].batched_calls, 0u);
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, CallsArrivingTogetherOnAQuietRouteShareOneStatement) {
    // The leader waits one turn of the event loop before sending: calls queued in that turn join.
    RouteSet routes(io.get_executor(), {{"direct", RouteRole::Primary, postgres_conninfo()}},
                    one_connection());
    run(
        [&]() -> asio::awaitable<void> {
            constexpr int calls = 5;
            int finished = 0;
            std::vector<std::optional<std::string>> values;
            for (int i = 0; i < calls; ++i) values.push_back(std::to_string(i));
            std::vector<QueryResult> results;
            spawn_doubling_calls(io, routes, values, results, finished);
            EXPECT_TRUE(co_await poll_until([&] { return finished == calls; }, 5s));
            for (int i = 0; i < calls; ++i)
                EXPECT_EQ(results[i].rows, (std::vector<QueryRow>{{std::to_string(2 * i)}}))
                    << results[i].error;
            EXPECT_EQ(routes.status()[0].batches, 1u);
            EXPECT_EQ(routes.status()[0].batched_calls, static_cast<std::uint64_t>(calls));
        },
        [&] { routes.stop(); });
}

TEST_F(RouteSetTest, ABatchedCallWhoseDeadlinePassesInTheQueueTimesOutAlone) {
    RouteSet routes(io.get_executor(), {{"direct", RouteRole::Primary, postgres_conninfo()}},
                    one_connection());
    run(
        [&]() -> asio::awaitable<void> {
            int finished = 0;
            EXPECT_TRUE(co_await occupy_the_connection(io, routes, "0.3", finished));
            QueryResult patient, hurried;
            asio::co_spawn(io, doubling_call(routes, "5", 3s, patient, finished),
                           asio::detached);  // leads the batch
            asio::co_spawn(io, doubling_call(routes, "6", 100ms, hurried, finished),
                           asio::detached);
            EXPECT_TRUE(co_await poll_until([&] { return finished == 3; }, 5s));
            EXPECT_EQ(hurried.status, QueryStatus::Timeout) << hurried.error;
            EXPECT_EQ(patient.rows, (std::vector<QueryRow>{{"10"}})) << patient.error;
            EXPECT_EQ(routes.status()[0].batches, 0u) << "the leader went alone";
        },
        [&] { routes.stop(); });
}
