// The routes to the database in their configured order (PgBouncer, replicas directly, the
// primary) and the one call the request handler makes: run this statement for this purpose by
// this deadline. RouteSet picks the route (breakers, lag gate, primary-ness), retries once on
// the next route when that can help, and always answers by the deadline.
//
// Not thread-safe: construct, start, query, read status and stop on the executor's thread.
// Like any Asio I/O object, destroy it before its io_context.
#pragma once

#include "decide/database/pg_connection.hpp"
#include "decide/database/replica_lag.hpp"
#include "decide/database/route.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/container/small_vector.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

enum class Purpose {
    PersonData,    // stored persons/groups/cohorts: a closed route whose lag is within max_lag
    Definitions,   // flags and teams: any closed route, however stale
    PrimaryWrite,  // experience-continuity writes: a route whose probe says it is not in recovery
};

std::string_view purpose_name(Purpose purpose);  // "person_data" / "definitions" / "primary_write"

struct QueryOutcome {
    QueryResult result;
    std::string route;  // the route that produced `result`; empty when none was tried
    int attempts = 0;   // 0 (no eligible route), 1, or 2 (retried once on the next route)
};

// One route, for /metrics and /readyz.
struct RouteStatus {
    std::string name;
    RouteRole role = RouteRole::Replica;
    BreakerState breaker = BreakerState::Closed;
    int consecutive_failures = 0;
    std::uint64_t times_opened = 0;
    std::optional<bool> in_recovery;    // nullopt until a probe has answered
    std::optional<double> lag_seconds;  // staleness; 0 on a primary; nullopt until a probe answered
    bool lag_within_bound = true;       // may take person-data queries as far as lag goes
    std::size_t idle_connections = 0;
    std::size_t busy_connections = 0;
    std::size_t waiting_queries = 0;
    std::uint64_t connections_opened = 0;  // by the pool since start (connection churn)
    std::string last_error;                // the route's latest failure, "" if none yet
};

class RouteSet {
public:
    using Clock = std::chrono::steady_clock;

    // Throws std::invalid_argument for a route without a name or conninfo, or a repeated name.
    RouteSet(boost::asio::any_io_executor executor, std::vector<RouteConfig> routes,
             RouteOptions options);
    RouteSet(const RouteSet&) = delete;
    RouteSet& operator=(const RouteSet&) = delete;
    ~RouteSet();  // stop()

    void start();  // spawns the background probes (once)
    // Stops the probes and closes every route's connections; queries still in flight end by
    // their deadlines, later ones get NoRoute. The io_context can then run dry.
    void stop();

    // Never throws (a cancelled caller gets Timeout). Returns NoRoute at once when no route is
    // eligible, and otherwise by `deadline` plus scheduling slack. On a lost connection, a
    // timeout, a hot-standby conflict (40001), 57P01/57P03, 08xxx or 25006 it retries once on
    // the next eligible route if time remains. `sql` is one statement with $n text parameters.
    boost::asio::awaitable<QueryOutcome> query(Purpose purpose, std::string sql, QueryParams params,
                                               Clock::time_point deadline);

    std::vector<RouteStatus> status() const;
    const RouteOptions& options() const { return options_; }
    // Where query(), status() and the probes run; callers on other threads go through it.
    const boost::asio::any_io_executor& executor() const { return executor_; }

private:
    // Staleness of what the route last reported; nullopt before its first probe.
    std::optional<Clock::duration> staleness(const Route& route, Clock::time_point now) const;
    bool eligible(const Route& route, Purpose purpose, Clock::time_point now) const;
    // Eligible routes in trying order, leaving out `tried`.
    // Inline for the usual handful of routes: this runs for every query.
    using Candidates = boost::container::small_vector<std::shared_ptr<Route>, 8>;
    Candidates candidates(Purpose purpose, Clock::time_point now, const Route* tried) const;

    boost::asio::any_io_executor executor_;
    RouteOptions options_;
    std::vector<std::shared_ptr<Route>> routes_;
    std::shared_ptr<WalProgressHistory> wal_history_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace flag_eval::decide
