// The routes to the database in their configured order (PgBouncer, replicas directly, the
// primary) and the one call the request handler makes: run this statement for this purpose by
// this deadline. RouteSet picks the route (breakers, lag gate, primary-ness), moves on to the
// next route at once when one fails fast, sends a slow query on a second route that shares no
// server with it (a hedge), keeps trying while the deadline allows, and always answers by it.
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

#include <array>
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
    int attempts = 0;   // routes tried: 0 when none was eligible; each route at most once
    int hedges = 0;     // of those, started beside a slow attempt rather than after a failure
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
    std::uint64_t batches = 0;             // statements that carried several requests' calls
    std::uint64_t batched_calls = 0;       // the calls they carried
    std::uint64_t connections_opened = 0;  // by the pool since start (connection churn)
    std::array<std::uint64_t, kAttemptKinds> attempts{};  // request queries sent, by AttemptKind
    std::string last_error;  // the route's latest failure, "" if none yet
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
    // eligible, and otherwise by `deadline` plus scheduling slack. After a retryable result (a
    // lost or refused connection, a hot-standby conflict 40001, 57P01-57P03, 08xxx, 53300,
    // 25006) the next eligible route is tried at once. An attempt unanswered after hedge_after
    // gets a second one beside it, preferably on a route sharing no server with those still
    // running, and never on a route the purpose only falls back to; the first answer that is
    // not retryable wins. Attempts left behind run on to
    // their own end and feed their route's breaker. `sql` is one statement with $n text
    // parameters; with `batch` (which must outlive the call), a route whose pool is busy may
    // send it together with other calls of it (Route::query).
    boost::asio::awaitable<QueryOutcome> query(Purpose purpose, std::string sql, QueryParams params,
                                               Clock::time_point deadline,
                                               const BatchForm* batch = nullptr);

    std::vector<RouteStatus> status() const;
    const RouteOptions& options() const { return options_; }
    // Where query(), status() and the probes run; callers on other threads go through it.
    const boost::asio::any_io_executor& executor() const { return executor_; }

private:
    // Staleness of what the route last reported; nullopt before its first probe.
    std::optional<Clock::duration> staleness(const Route& route, Clock::time_point now) const;
    bool eligible(const Route& route, Purpose purpose, Clock::time_point now) const;
    // Inline for the usual handful of routes: these run for every query.
    using Tried = boost::container::small_vector<const Route*, 8>;
    // The next eligible route not in `tried`, in trying order; with `avoid`, the first one that
    // shares no server with any of those if there is one. With `preferred_only`, none of the
    // routes a purpose uses only when its preferred ones are gone (stale replicas for
    // definitions, a promoted standby for writes). Null when none is left.
    std::shared_ptr<Route> next_route(Purpose purpose, Clock::time_point now, const Tried& tried,
                                      const Tried& avoid, bool preferred_only) const;

    // Hedges are rationed, so that a database slow for everyone is not asked everything twice:
    // each first attempt earns kHedgeShare of a hedge, up to kHedgeBurst saved (a burst of
    // hedges while a hung route's breaker has not opened yet). The set starts with the burst.
    static constexpr double kHedgeShare = 0.1;
    static constexpr double kHedgeBurst = 1000;
    bool take_hedge_token();

    // Keeps a successful person-data statement, at most once a second, for warming connections.
    void remember_for_warm_up(const std::string& sql, const QueryParams& params,
                              Clock::time_point now);

    boost::asio::any_io_executor executor_;
    RouteOptions options_;
    double hedge_tokens_ = kHedgeBurst;
    std::shared_ptr<WarmUpSource> warm_up_ = std::make_shared<WarmUpSource>();
    Clock::time_point warm_up_taken_{};
    std::vector<std::shared_ptr<Route>> routes_;
    std::shared_ptr<WalProgressHistory> wal_history_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace flag_eval::decide
