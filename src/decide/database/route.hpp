// One way to reach the database (PgBouncer, a replica directly, the primary): a small pool of
// idle connections, a circuit breaker, and what the background probe last saw (in recovery?
// which WAL position?). Route does not choose between routes: RouteSet does.
//
// Everything here runs on one executor (one thread); nothing is locked.
#pragma once

#include "decide/config.hpp"
#include "decide/database/circuit_breaker.hpp"
#include "decide/database/pg_connection.hpp"
#include "decide/database/replica_lag.hpp"
#include "decide/database/route_config.hpp"
#include "decide/database/statement_batch.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

// The pool size, probe interval, lag bound and hedge delay are settings, taken from the
// configuration; the other fields are not settings and keep their values here.
struct RouteOptions {
    explicit RouteOptions(const Config& config)
        : max_pool_size(config.pool_size),
          probe_interval(config.probe_interval),
          max_lag(config.max_replica_lag),
          hedge_after(config.hedge_after) {}

    std::size_t max_pool_size;                 // connections per route, one per in-flight query
    int failure_threshold = 3;                 // consecutive failures that open a breaker
    std::chrono::milliseconds probe_interval;  // every route is probed this often
    std::chrono::milliseconds probe_timeout{1000};  // a probe (connect + query) gives up after this
    std::chrono::milliseconds max_lag;              // staler replicas get no person-data queries
    // A query unanswered this long is sent on another route too (a hedge); the first answer
    // wins. At or past the deadline: never.
    std::chrono::milliseconds hedge_after;
    // Idle connections the probe keeps open and warm (one more per probe round at most), so
    // that a route taking over from a failed one does not start from cold backends.
    std::size_t warm_idle = 2;
    // Connections being opened at once; further queries wait for one another query gives back.
    // A burst of connects is what makes new backends slow (each forks and loads the library).
    std::size_t max_connecting = 2;
};

// A recent request's statement, replayed on each connection the probe opens ahead of demand:
// the backend then has the library loaded and the team's definitions compiled (about 10 ms on
// a cold backend, a fifth of the deadline), so a failover onto this route finds it warm.
struct WarmUpQuery {
    std::string sql;
    QueryParams params;
};
// Shared by a RouteSet and its routes: the latest statement to warm up with, null until one.
struct WarmUpSource {
    std::shared_ptr<const WarmUpQuery> query;
};

// What the last successful probe saw.
struct ProbeSnapshot {
    std::chrono::steady_clock::time_point at;
    bool in_recovery = false;
    Lsn position = 0;             // replay LSN on a standby, current WAL LSN otherwise
    std::optional<Lsn> received;  // a standby's receive LSN (null when not streaming)
};

// The probe's statement: one row (in_recovery, position, received), all text. pg_current_wal_lsn()
// fails during recovery, hence the CASE.
inline constexpr std::string_view probe_sql =
    "SELECT pg_is_in_recovery(), "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() "
    "END::text, "
    "pg_last_wal_receive_lsn()::text";

// Does this result say the route itself is unwell (counts against its breaker)? Lost or
// refused connections, timeouts, and SQLSTATEs 08xxx, 57P01-57P03 (shutdown, cannot connect
// now) and 53300 (too many connections). An ordinary server error is the route answering.
bool is_route_failure(const QueryResult& result);
// May another route answer instead? Route failures, plus 40001 (a hot-standby conflict
// surfaces as serialization_failure) and 25006 (a write reached a read-only server).
bool is_retryable(const QueryResult& result);

// Why a request's query went to a route: the first try, after a fast failure elsewhere, or
// beside an attempt that had not answered within hedge_after.
enum class AttemptKind { First, Retry, Hedge };
inline constexpr std::size_t kAttemptKinds = 3;

class Route {
public:
    using Clock = std::chrono::steady_clock;

    Route(boost::asio::any_io_executor executor, RouteConfig config, const RouteOptions& options);
    Route(const Route&) = delete;
    Route& operator=(const Route&) = delete;
    ~Route();

    const RouteConfig& config() const { return config_; }
    const std::string& name() const { return config_.name; }
    // Do the two routes reach the database through a common pooler or server?
    bool shares_server_with(const Route& other) const;
    RouteRole role() const { return config_.role; }
    const CircuitBreaker& breaker() const { return breaker_; }
    const std::optional<ProbeSnapshot>& last_probe() const { return last_probe_; }
    const std::string& last_error() const { return last_error_; }
    std::size_t idle_connections() const { return idle_.size(); }
    std::size_t busy_connections() const { return busy_; }  // pool slots in use
    std::size_t waiting_queries() const { return waiters_.size(); }
    std::uint64_t connections_opened() const { return connections_opened_; }  // by the pool, ever
    std::uint64_t attempts(AttemptKind kind) const {
        return attempts_[static_cast<std::size_t>(kind)];
    }
    void count_attempt(AttemptKind kind) { ++attempts_[static_cast<std::size_t>(kind)]; }
    std::uint64_t batches() const { return batches_; }  // statements that carried several calls
    std::uint64_t batched_calls() const { return batched_calls_; }  // calls they carried
    bool closed() const { return closed_; }

    // Runs one statement on a pooled connection (waiting FIFO for a free one, opening one if
    // none is idle) and records the outcome into the breaker. Returns by the deadline.
    // With `batch`, calls of the same statement that arrive together, or while every pooled
    // connection is busy, are sent as one statement (statement_batch.hpp); a batch that fails
    // with an ordinary server error is run again call by call, so that one call's bad input
    // fails that call only.
    boost::asio::awaitable<QueryResult> query(std::string_view sql, const QueryParams& params,
                                              Clock::time_point deadline,
                                              const BatchForm* batch = nullptr);

    // Spawns the background probe: every probe_interval, on a connection of its own (not the
    // pool), until close(). Success closes the breaker and tops the idle pooled connections up
    // towards warm_idle, each warmed with `warm_up`'s statement; failure counts against the
    // breaker. WAL positions seen go into `history`.
    static void start_probing(const std::shared_ptr<Route>& route,
                              std::shared_ptr<WalProgressHistory> history,
                              std::shared_ptr<const WarmUpSource> warm_up);

    // A write was refused as read-only (25006): the route is a standby now, whatever the last
    // probe said; the next probe will confirm.
    void note_read_only();

    // Stops the probe loop, drops idle connections, releases waiting queries. In-flight queries
    // end by their deadlines and their connections are then discarded.
    void close();

private:
    class SlotWaiter;
    class ConnectionWaiter;
    class Lease;
    class Connecting;
    struct ProbeControl;

    static boost::asio::awaitable<void> probe_loop(std::shared_ptr<Route> route,
                                                   std::shared_ptr<WalProgressHistory> history,
                                                   std::shared_ptr<const WarmUpSource> warm_up);

    boost::asio::awaitable<bool> acquire_slot(Clock::time_point deadline);
    // A pool slot and a connection for `lease`; the failure when either did not come in time.
    boost::asio::awaitable<std::optional<QueryResult>> lease_connection(Lease& lease,
                                                                        Clock::time_point deadline);
    // The first call of a batch: gathers followers while it waits for a connection, then sends.
    boost::asio::awaitable<QueryResult> lead_batch(std::string_view sql, const QueryParams& params,
                                                   Clock::time_point deadline,
                                                   const BatchForm& form);
    QueryResult closed_failure() const;
    void release_slot();
    std::unique_ptr<PgConnection> take_idle();
    void give_back(std::unique_ptr<PgConnection> connection);
    void record(const QueryResult& result, bool from_probe);
    boost::asio::awaitable<void> probe_once(std::unique_ptr<PgConnection>& connection,
                                            WalProgressHistory& history,
                                            Clock::time_point deadline);
    boost::asio::awaitable<void> keep_warm(const WarmUpSource& warm_up, Clock::time_point deadline);

    boost::asio::any_io_executor executor_;
    RouteConfig config_;
    RouteOptions options_;
    CircuitBreaker breaker_;
    std::optional<ProbeSnapshot> last_probe_;
    std::string last_error_;
    std::vector<std::unique_ptr<PgConnection>> idle_;  // most recently used last
    std::size_t busy_ = 0;
    std::uint64_t connections_opened_ = 0;
    std::array<std::uint64_t, kAttemptKinds> attempts_{};  // request queries sent here, by kind
    std::uint64_t batches_ = 0;
    std::uint64_t batched_calls_ = 0;
    // Batches gathering calls, not sent yet: one per statement form (a primary takes both the
    // person-data reads and the continuity writes), and another once one is full.
    std::vector<std::shared_ptr<StatementBatch>> pending_batches_;
    std::list<SlotWaiter*> waiters_;  // FIFO
    std::size_t connecting_ = 0;      // connects in flight (requests' and keep_warm's)
    std::list<ConnectionWaiter*> connection_waiters_;  // FIFO, each holding a slot
    std::shared_ptr<ProbeControl>
        probe_control_;  // outlives the probe coroutine: see start_probing
    bool closed_ = false;
};

}  // namespace flag_eval::decide
