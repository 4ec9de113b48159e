#include "decide/database/route.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <utility>

namespace flag_eval::decide {

namespace asio = boost::asio;

namespace {

constexpr auto as_awaitable_tuple = asio::as_tuple(asio::use_awaitable);

// The probe's one row: in_recovery ("t"/"f"), position, received (both pg_lsn text or null).
std::optional<ProbeSnapshot> parse_probe_row(const QueryResult& result) {
    if (result.rows.size() != 1 || result.rows[0].size() != 3 || !result.rows[0][0])
        return std::nullopt;
    const QueryRow& row = result.rows[0];
    ProbeSnapshot snapshot;
    snapshot.in_recovery = *row[0] == "t";
    if (row[1]) {
        const auto position = parse_lsn(*row[1]);
        if (!position) return std::nullopt;
        snapshot.position = *position;
    }  // null: a standby that has replayed nothing yet, maximally stale
    if (row[2]) {
        snapshot.received = parse_lsn(*row[2]);
        if (!snapshot.received) return std::nullopt;
    }
    return snapshot;
}

}  // namespace

bool is_route_failure(const QueryResult& result) {
    switch (result.status) {
        case QueryStatus::ConnectionLost:
        case QueryStatus::Timeout: return true;
        case QueryStatus::ServerError: {
            const std::string_view state = result.sqlstate;
            return state.starts_with("08") || state == "57P01" || state == "57P02" ||
                   state == "57P03" || state == "53300";
        }
        case QueryStatus::Ok:
        case QueryStatus::NoRoute: return false;
    }
    return false;
}

bool is_retryable(const QueryResult& result) {
    return is_route_failure(result) || result.sqlstate == "40001" || result.sqlstate == "25006";
}

bool Route::shares_server_with(const Route& other) const {
    const std::string& mine = config_.backend_name();
    const std::string& theirs = other.config_.backend_name();
    return name() == other.name() || mine == theirs || name() == theirs || mine == other.name();
}

// ---- pool slots: at most max_pool_size queries hold one; the rest wait in FIFO order ----

class Route::SlotWaiter {
public:
    SlotWaiter(Route& route, Clock::time_point deadline)
        : route_(route), timer_(route.executor_, deadline) {
        position_ = route_.waiters_.insert(route_.waiters_.end(), this);
    }
    ~SlotWaiter() {
        if (queued_) route_.waiters_.erase(position_);
    }
    SlotWaiter(const SlotWaiter&) = delete;
    SlotWaiter& operator=(const SlotWaiter&) = delete;

    // True when a slot was handed over; false at the deadline or when the route closed.
    asio::awaitable<bool> wait() {
        co_await timer_.async_wait(as_awaitable_tuple);
        co_return granted_;
    }
    // Called by release_slot() after taking this waiter off the queue.
    void grant() {
        queued_ = false;
        granted_ = true;
        timer_.cancel();
    }
    void wake() { timer_.cancel(); }

private:
    Route& route_;
    asio::steady_timer timer_;
    std::list<SlotWaiter*>::iterator position_;
    bool queued_ = true;
    bool granted_ = false;
};

// ---- connections: at most max_connecting opened at once; other queries wait for one ----

class Route::ConnectionWaiter {
public:
    ConnectionWaiter(Route& route, Clock::time_point deadline)
        : route_(route), timer_(route.executor_, deadline) {
        position_ = route_.connection_waiters_.insert(route_.connection_waiters_.end(), this);
    }
    ~ConnectionWaiter() { dequeue(); }
    ConnectionWaiter(const ConnectionWaiter&) = delete;
    ConnectionWaiter& operator=(const ConnectionWaiter&) = delete;

    // A connection another query gave back; null at the deadline, when the route closed, or
    // when a connect failed (then failure() says how).
    asio::awaitable<std::unique_ptr<PgConnection>> wait() {
        co_await timer_.async_wait(as_awaitable_tuple);
        co_return std::move(connection_);
    }
    void hand(std::unique_ptr<PgConnection> connection) {
        dequeue();
        connection_ = std::move(connection);
        timer_.cancel();
    }
    void fail(const QueryResult& failure) {
        dequeue();
        failure_ = failure;
        timer_.cancel();
    }
    void wake() { timer_.cancel(); }
    const std::optional<QueryResult>& failure() const { return failure_; }

private:
    void dequeue() {
        if (!queued_) return;
        route_.connection_waiters_.erase(position_);
        queued_ = false;
    }

    Route& route_;
    asio::steady_timer timer_;
    std::list<ConnectionWaiter*>::iterator position_;
    bool queued_ = true;
    std::unique_ptr<PgConnection> connection_;
    std::optional<QueryResult> failure_;
};

// Counts a connect in flight for as long as it lives.
class Route::Connecting {
public:
    explicit Connecting(Route& route) : route_(route) { ++route_.connecting_; }
    ~Connecting() { --route_.connecting_; }
    Connecting(const Connecting&) = delete;
    Connecting& operator=(const Connecting&) = delete;

private:
    Route& route_;
};

// A pool slot once held, and the connection used under it; gives both back however the query
// ends.
class Route::Lease {
public:
    explicit Lease(Route& route) : route_(route) {}
    ~Lease() { release(); }
    // Gives both back now (the next waiter gets them) rather than when the query's frame ends.
    void release() {
        if (!holds_slot) return;
        holds_slot = false;
        if (connection) route_.give_back(std::move(connection));
        route_.release_slot();
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    bool holds_slot = false;
    std::unique_ptr<PgConnection> connection;

private:
    Route& route_;
};

struct Route::ProbeControl {
    asio::cancellation_signal stop;
};

Route::Route(asio::any_io_executor executor, RouteConfig config, const RouteOptions& options)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      options_(options),
      breaker_(options.failure_threshold),
      probe_control_(std::make_shared<ProbeControl>()) {
    options_.max_pool_size = std::max<std::size_t>(1, options_.max_pool_size);
}

Route::~Route() = default;

asio::awaitable<bool> Route::acquire_slot(Clock::time_point deadline) {
    if (busy_ < options_.max_pool_size && waiters_.empty()) {
        ++busy_;
        co_return true;
    }
    if (Clock::now() >= deadline) co_return false;
    SlotWaiter waiter(*this, deadline);
    co_return co_await waiter.wait();
}

void Route::release_slot() {
    if (!waiters_.empty()) {
        // Hand the slot straight to the longest waiter, so newcomers cannot jump the queue.
        SlotWaiter* next = waiters_.front();
        waiters_.pop_front();
        next->grant();
        return;
    }
    --busy_;
}

std::unique_ptr<PgConnection> Route::take_idle() {
    while (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        if (connection->healthy_when_idle()) return connection;
    }
    return nullptr;
}

void Route::give_back(std::unique_ptr<PgConnection> connection) {
    if (!connection || connection->broken() || closed_ || !breaker_.allows_requests())
        return;  // discarded: PQfinish never blocks
    if (!connection_waiters_.empty()) {
        connection_waiters_.front()->hand(std::move(connection));
        return;
    }
    if (idle_.size() < options_.max_pool_size) idle_.push_back(std::move(connection));
}

void Route::record(const QueryResult& result, bool from_probe) {
    if (closed_) return;
    const auto now = Clock::now();
    // A probe exists to judge the route: any failure of it counts. A request's ordinary server
    // error (bad input, a missing row) is the route answering.
    const bool failed = from_probe ? !result.ok() : is_route_failure(result);
    if (failed) {
        last_error_ = describe(result);
        if (breaker_.record_failure(now)) idle_.clear();  // they are most likely dead too
    } else if (result.status == QueryStatus::Ok || result.status == QueryStatus::ServerError) {
        breaker_.record_success(now);
    }
}

QueryResult Route::closed_failure() const {
    return QueryResult::failure(QueryStatus::ConnectionLost, "route " + name() + " is closed");
}

asio::awaitable<std::optional<QueryResult>> Route::lease_connection(Lease& lease,
                                                                    Clock::time_point deadline) {
    if (!co_await acquire_slot(deadline)) {
        if (closed_) co_return closed_failure();
        co_return QueryResult::failure(QueryStatus::Timeout,
                                       "no pooled connection came free before the deadline (" +
                                           std::to_string(options_.max_pool_size) + " busy)");
    }
    lease.holds_slot = true;
    if (Clock::now() >= deadline)
        co_return QueryResult::failure(QueryStatus::Timeout,
                                       "deadline passed waiting for a pooled connection");
    lease.connection = take_idle();
    if (!lease.connection && connecting_ >= options_.max_connecting) {
        ConnectionWaiter waiter(*this, deadline);
        lease.connection = co_await waiter.wait();
        if (!lease.connection) {
            if (waiter.failure()) co_return *waiter.failure();  // counted once, by the connect
            if (closed_) co_return closed_failure();
            co_return QueryResult::failure(QueryStatus::Timeout,
                                           "no connection came free before the deadline (" +
                                               std::to_string(connecting_) + " being opened)");
        }
    }
    if (!lease.connection) {
        PgConnection::ConnectResult connected;
        {
            Connecting counted(*this);
            connected = co_await PgConnection::connect(executor_, config_.conninfo, deadline);
        }
        if (!connected.connection) {
            record(connected.failure, false);
            // Those waiting for a connection would wait in vain: the next route may answer.
            while (!connection_waiters_.empty())
                connection_waiters_.front()->fail(connected.failure);
            co_return std::move(connected.failure);
        }
        lease.connection = std::move(connected.connection);
        ++connections_opened_;
    }
    co_return std::nullopt;
}

asio::awaitable<QueryResult> Route::query(std::string_view sql, const QueryParams& params,
                                          Clock::time_point deadline, const BatchForm* batch) {
    if (closed_) co_return closed_failure();
    if (batch) {
        const auto open =
            std::find_if(pending_batches_.begin(), pending_batches_.end(),
                         [&](const auto& pending) { return pending->accepts(*batch); });
        if (open != pending_batches_.end()) {
            auto joined = (*open)->join(executor_, params, deadline);
            co_return co_await std::move(joined);
        }
        co_return co_await lead_batch(sql, params, deadline, *batch);
    }
    Lease lease(*this);
    if (auto failure = co_await lease_connection(lease, deadline)) co_return std::move(*failure);
    QueryResult result = co_await lease.connection->query(sql, params, deadline);
    record(result, false);
    co_return result;
}

asio::awaitable<QueryResult> Route::lead_batch(std::string_view sql, const QueryParams& params,
                                               Clock::time_point deadline, const BatchForm& form) {
    const auto batch = std::make_shared<StatementBatch>(form);
    pending_batches_.push_back(batch);
    Lease lease(*this);
    std::optional<QueryResult> failure = co_await lease_connection(lease, deadline);
    // One turn of the event loop, so that calls already queued on it join.
    co_await asio::post(executor_, asio::use_awaitable);
    std::erase(pending_batches_, batch);
    const auto followers = batch->close(Clock::now());
    if (failure) {
        for (const auto& follower : followers) follower->deliver(*failure);
        co_return std::move(*failure);
    }
    if (followers.empty()) {
        QueryResult result = co_await lease.connection->query(sql, params, deadline);
        record(result, false);
        co_return result;
    }

    // The batch ends when its earliest call must.
    std::vector<const QueryParams*> calls{&params};
    Clock::time_point until = deadline;
    for (const auto& follower : followers) {
        calls.push_back(&follower->params);
        until = std::min(until, follower->deadline);
    }
    const QueryParams arrays = batch_parameters(calls);
    ++batches_;
    batched_calls_ += calls.size();
    QueryResult result = co_await lease.connection->query(form.sql, arrays, until);
    record(result, false);
    if (result.ok() && result.rows.size() == calls.size()) {
        // The next batch first: its leader is resumed before the followers woken here, each of
        // which may go on to write its whole answer on this thread.
        lease.release();
        for (std::size_t i = 0; i < followers.size(); ++i)
            followers[i]->deliver(take_call_result(result, i + 1));
        co_return take_call_result(result, 0);
    }
    if (result.ok())
        result = QueryResult::failure(QueryStatus::ServerError,
                                      "a batch of " + std::to_string(calls.size()) +
                                          " calls was answered with " +
                                          std::to_string(result.rows.size()) + " rows");
    if (is_retryable(result) || lease.connection->broken()) {
        for (const auto& follower : followers) follower->deliver(result);
        co_return result;
    }
    // An ordinary server error is about some call's input: each call alone, on this connection.
    for (const auto& follower : followers) {
        QueryResult alone =
            co_await lease.connection->query(sql, follower->params, follower->deadline);
        record(alone, false);
        follower->deliver(std::move(alone));
    }
    QueryResult alone = co_await lease.connection->query(sql, params, deadline);
    record(alone, false);
    co_return alone;
}

// ---- background probes ----

void Route::start_probing(const std::shared_ptr<Route>& route,
                          std::shared_ptr<WalProgressHistory> history,
                          std::shared_ptr<const WarmUpSource> warm_up) {
    // close() stops the loop through this signal. The coroutine's cancellation state lives in
    // the signal's storage until the coroutine has fully finished, so the completion handler
    // keeps it alive and lets it go one turn of the event loop later, never from inside.
    auto control = route->probe_control_;
    auto executor = route->executor_;
    asio::co_spawn(
        executor, probe_loop(route, std::move(history), std::move(warm_up)),
        asio::bind_cancellation_slot(control->stop.slot(), [control, executor](std::exception_ptr) {
            asio::post(executor, [control] {});
        }));
}

asio::awaitable<void> Route::probe_loop(std::shared_ptr<Route> route,
                                        std::shared_ptr<WalProgressHistory> history,
                                        std::shared_ptr<const WarmUpSource> warm_up) {
    // Stopping arrives as a cancellation: let waits report it as an error code, not throw.
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer pause(route->executor_);
    std::unique_ptr<PgConnection> connection;
    while (!route->closed_) {
        const auto started = Clock::now();
        const auto deadline = started + route->options_.probe_timeout;
        try {
            co_await route->probe_once(connection, *history, deadline);
            if (!route->closed_ && route->breaker_.allows_requests())
                co_await route->keep_warm(*warm_up, deadline);
        } catch (const std::exception& error) {
            connection.reset();
            route->last_error_ = std::string("probe: ") + error.what();
        }
        if (route->closed_) break;
        pause.expires_at(started + route->options_.probe_interval);
        co_await pause.async_wait(as_awaitable_tuple);
    }
}

asio::awaitable<void> Route::probe_once(std::unique_ptr<PgConnection>& connection,
                                        WalProgressHistory& history, Clock::time_point deadline) {
    if (connection && !connection->healthy_when_idle()) connection.reset();
    if (!connection) {
        auto connected = co_await PgConnection::connect(executor_, config_.conninfo, deadline);
        if (!connected.connection) {
            record(connected.failure, true);
            co_return;
        }
        connection = std::move(connected.connection);
    }
    static const QueryParams no_params;
    QueryResult result = co_await connection->query(probe_sql, no_params, deadline);
    if (connection->broken()) connection.reset();
    if (!result.ok()) {
        record(result, true);
        co_return;
    }
    auto snapshot = parse_probe_row(result);
    if (!snapshot) {
        record(
            QueryResult::failure(QueryStatus::ServerError, "unexpected answer to the probe query"),
            true);
        co_return;
    }
    snapshot->at = Clock::now();
    if (snapshot->in_recovery) {
        // A standby's receive LSN proves the primary had reached at least that far.
        if (snapshot->received) history.observe(*snapshot->received, snapshot->at);
    }
    history.observe(snapshot->position, snapshot->at);
    last_probe_ = *snapshot;
    record(result, true);
}

asio::awaitable<void> Route::keep_warm(const WarmUpSource& warm_up, Clock::time_point deadline) {
    // Idle connections ready, so the first requests after a failover elsewhere or a recovery
    // here pay neither the connect nor a cold backend.
    if (closed_ || idle_.size() >= options_.warm_idle || busy_ >= options_.max_pool_size ||
        !waiters_.empty() || connecting_ >= options_.max_connecting)
        co_return;
    ++busy_;
    Lease lease(*this);
    lease.holds_slot = true;
    PgConnection::ConnectResult connected;
    {
        Connecting counted(*this);
        connected = co_await PgConnection::connect(executor_, config_.conninfo, deadline);
    }
    if (!connected.connection) co_return;  // a failure here is the next probe's business
    ++connections_opened_;
    lease.connection = std::move(connected.connection);
    if (const std::shared_ptr<const WarmUpQuery> query = warm_up.query) {
        // Its answer does not matter; a connection it breaks is not pooled (Lease).
        co_await lease.connection->query(query->sql, query->params, deadline);
    }
}

void Route::note_read_only() {
    if (!last_probe_) {
        last_probe_ = ProbeSnapshot{Clock::now(), true, 0, std::nullopt};
        return;
    }
    last_probe_->in_recovery = true;
}

void Route::close() {
    if (closed_) return;
    closed_ = true;
    idle_.clear();
    for (SlotWaiter* waiter : waiters_) waiter->wake();
    for (ConnectionWaiter* waiter : connection_waiters_) waiter->wake();
    probe_control_->stop.emit(asio::cancellation_type::terminal);
}

}  // namespace flag_eval::decide
