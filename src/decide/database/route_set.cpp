#include "decide/database/route_set.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <set>
#include <stdexcept>
#include <utility>

namespace flag_eval::decide {

namespace asio = boost::asio;

std::string_view purpose_name(Purpose purpose) {
    switch (purpose) {
        case Purpose::PersonData: return "person_data";
        case Purpose::Definitions: return "definitions";
        case Purpose::PrimaryWrite: return "primary_write";
    }
    return "unknown";
}

RouteSet::RouteSet(asio::any_io_executor executor, std::vector<RouteConfig> routes,
                   RouteOptions options)
    : executor_(std::move(executor)), options_(options) {
    // Keep WAL history well past max_lag, so a lagging replica is never reported as fresh.
    wal_history_ = std::make_shared<WalProgressHistory>(
        std::max<Clock::duration>(std::chrono::seconds(60), 10 * options_.max_lag));
    std::set<std::string> names;
    for (auto& config : routes) {
        if (config.name.empty()) throw std::invalid_argument("a database route needs a name");
        if (config.conninfo.empty())
            throw std::invalid_argument("database route '" + config.name + "' needs a conninfo");
        if (!names.insert(config.name).second)
            throw std::invalid_argument("database route '" + config.name + "' is configured twice");
        routes_.push_back(std::make_shared<Route>(executor_, std::move(config), options_));
    }
}

RouteSet::~RouteSet() { stop(); }

void RouteSet::start() {
    if (started_ || stopped_) return;
    started_ = true;
    for (const auto& route : routes_) Route::start_probing(route, wal_history_, warm_up_);
}

void RouteSet::stop() {
    if (stopped_) return;
    stopped_ = true;
    for (const auto& route : routes_) route->close();
}

std::optional<RouteSet::Clock::duration> RouteSet::staleness(const Route& route,
                                                             Clock::time_point now) const {
    const auto& probe = route.last_probe();
    if (!probe) return std::nullopt;
    if (!probe->in_recovery) return Clock::duration::zero();
    return wal_history_->staleness(probe->position, now);
}

bool RouteSet::eligible(const Route& route, Purpose purpose, Clock::time_point now) const {
    if (route.closed() || !route.breaker().allows_requests()) return false;
    switch (purpose) {
        case Purpose::Definitions: return true;
        case Purpose::PersonData: {
            // Before its first probe a route's lag is unknown: it is used (availability first; the
            // probe answers within milliseconds of start()).
            const auto lag = staleness(route, now);
            return !lag || *lag <= options_.max_lag;
        }
        case Purpose::PrimaryWrite: {
            // Whatever answers as not in recovery takes writes: the configured primary, or a
            // standby that has been promoted. An unprobed route counts only if configured primary.
            const auto& probe = route.last_probe();
            if (probe) return !probe->in_recovery;
            return route.role() == RouteRole::Primary;
        }
    }
    return false;
}

std::shared_ptr<Route> RouteSet::next_route(Purpose purpose, Clock::time_point now,
                                            const Tried& tried, const Tried& avoid,
                                            bool preferred_only) const {
    std::shared_ptr<Route> fallback;  // the first that qualifies but shares a server
    const auto apart = [&](const std::shared_ptr<Route>& route) {
        if (std::find(tried.begin(), tried.end(), route.get()) != tried.end() ||
            !eligible(*route, purpose, now))
            return false;
        if (std::none_of(avoid.begin(), avoid.end(),
                         [&](const Route* other) { return route->shares_server_with(*other); }))
            return true;
        if (!fallback) fallback = route;
        return false;
    };
    // Writes go to the configured primary first and to a promoted standby after it. Definitions
    // come first from a route no further behind than the probes can tell (a probe interval):
    // a lagging one would delay every flag edit.
    const auto preferred = [&](const Route& route) {
        switch (purpose) {
            case Purpose::PrimaryWrite: return route.role() == RouteRole::Primary;
            case Purpose::Definitions: {
                const auto lag = staleness(route, now);
                return !lag ||
                       *lag <= std::min<Clock::duration>(options_.max_lag, options_.probe_interval);
            }
            case Purpose::PersonData: return true;
        }
        return true;
    };
    for (const bool first_choice : {true, false}) {
        for (const auto& route : routes_)
            if (preferred(*route) == first_choice && apart(route)) return route;
        if (fallback || preferred_only) break;
    }
    return fallback;
}

namespace {

// Resumes query() when an attempt finishes, at once and on the same thread (dispatch), not
// through the event loop's queue: on a busy routes' loop that queue is long, and each turn
// through it is added to the answer's latency.
class Wakeup {
public:
    template <typename Token>
    auto wait(Token&& token) {
        return asio::async_initiate<Token, void()>(
            [this](auto handler) { waiting_.emplace(std::move(handler)); }, token);
    }
    void notify() {
        if (!waiting_) return;
        auto handler = std::move(*waiting_);
        waiting_.reset();
        const auto executor = asio::get_associated_executor(handler);
        asio::dispatch(executor, std::move(handler));
    }

private:
    std::optional<asio::any_completion_handler<void()>> waiting_;
};

// One request's attempts. Attempts that lose run on after query() has returned (they end by
// the deadline and feed their route's breaker), so what they use lives here, shared.
struct Race {
    Race(asio::any_io_executor executor, std::string statement, QueryParams parameters,
         const BatchForm* batch_form, std::chrono::steady_clock::time_point until)
        : sql(std::move(statement)),
          params(std::move(parameters)),
          batch(batch_form),
          deadline(until),
          timer(std::move(executor)) {}

    struct Finished {
        std::shared_ptr<Route> route;
        QueryResult result;
    };

    const std::string sql;
    const QueryParams params;
    const BatchForm* const batch;
    const std::chrono::steady_clock::time_point deadline;
    Wakeup wakeup;                   // what query() waits on: an attempt finished, or `timer`
    asio::steady_timer timer;        // the next hedge or the deadline
    std::vector<Finished> finished;  // not yet looked at by query(), oldest first
};

asio::awaitable<void> run_attempt(std::shared_ptr<Race> race, std::shared_ptr<Route> route) {
    QueryResult result;
    try {
        result = co_await route->query(race->sql, race->params, race->deadline, race->batch);
    } catch (const std::exception& error) {  // exhausted memory: the route did not answer
        result = QueryResult::failure(QueryStatus::Timeout,
                                      std::string("query abandoned: ") + error.what());
    }
    if (result.sqlstate == "25006") route->note_read_only();
    race->finished.push_back({std::move(route), std::move(result)});
    race->wakeup.notify();
}

std::string route_names(const boost::container::small_vector<const Route*, 8>& routes) {
    std::string names;
    for (const Route* route : routes) names += (names.empty() ? "" : ", ") + route->name();
    return names;
}

}  // namespace

void RouteSet::remember_for_warm_up(const std::string& sql, const QueryParams& params,
                                    Clock::time_point now) {
    if (now - warm_up_taken_ < std::chrono::seconds(1)) return;
    warm_up_taken_ = now;
    warm_up_->query = std::make_shared<const WarmUpQuery>(WarmUpQuery{sql, params});
}

bool RouteSet::take_hedge_token() {
    if (hedge_tokens_ < 1.0) return false;
    hedge_tokens_ -= 1.0;
    return true;
}

asio::awaitable<QueryOutcome> RouteSet::query(Purpose purpose, std::string sql, QueryParams params,
                                              Clock::time_point deadline, const BatchForm* batch) {
    QueryOutcome outcome;
    try {
        auto race =
            std::make_shared<Race>(executor_, std::move(sql), std::move(params), batch, deadline);
        Tried tried, running;
        std::optional<Race::Finished> last_failure;
        bool start_now = true;  // no attempt yet, or the latest one failed
        auto hedge_at = Clock::time_point::max();
        for (;;) {
            for (auto& done : race->finished) {
                running.erase(std::remove(running.begin(), running.end(), done.route.get()),
                              running.end());
                if (done.result.ok() || !is_retryable(done.result)) {
                    if (done.result.ok() && purpose == Purpose::PersonData)
                        remember_for_warm_up(race->sql, race->params, Clock::now());
                    outcome.result = std::move(done.result);
                    outcome.route = done.route->name();
                    co_return outcome;
                }
                last_failure = std::move(done);
                start_now = true;
            }
            race->finished.clear();

            const auto now = Clock::now();
            if (now >= deadline) break;
            if (start_now || now >= hedge_at) {
                const AttemptKind kind = outcome.attempts == 0 ? AttemptKind::First
                                         : start_now           ? AttemptKind::Retry
                                                               : AttemptKind::Hedge;
                std::shared_ptr<Route> route;
                // A hedge runs beside an attempt that may still answer: it goes only where the
                // answer would be as good (stale definitions would win the race and undo an edit).
                if (!stopped_)
                    route = next_route(purpose, now, tried, running, kind == AttemptKind::Hedge);
                if (route && kind == AttemptKind::Hedge && !take_hedge_token()) route.reset();
                if (route) {
                    route->count_attempt(kind);
                    if (kind == AttemptKind::First)
                        hedge_tokens_ = std::min(hedge_tokens_ + kHedgeShare, kHedgeBurst);
                    if (kind == AttemptKind::Hedge) ++outcome.hedges;
                    ++outcome.attempts;
                    outcome.route = route->name();
                    tried.push_back(route.get());
                    running.push_back(route.get());
                    asio::co_spawn(executor_, run_attempt(race, std::move(route)), asio::detached);
                    hedge_at = now + options_.hedge_after;
                } else if (running.empty()) {
                    break;  // nothing running and nothing left to try
                } else {
                    hedge_at = Clock::time_point::max();  // wait for those running
                }
                start_now = false;
            }
            if (!race->finished.empty()) continue;  // an attempt ended as it was started
            race->timer.expires_at(std::min(hedge_at, deadline));
            race->timer.async_wait([race](const boost::system::error_code& error) {
                if (!error) race->wakeup.notify();
            });
            co_await race->wakeup.wait(asio::use_awaitable);
            race->timer.cancel();
        }

        if (!running.empty()) {
            outcome.result = QueryResult::failure(
                QueryStatus::Timeout,
                "no route answered before the deadline (tried " + route_names(tried) + ")");
        } else if (last_failure) {
            outcome.result = std::move(last_failure->result);
            outcome.route = last_failure->route->name();
        } else if (outcome.attempts == 0 && Clock::now() < deadline) {
            outcome.result = QueryResult::failure(
                QueryStatus::NoRoute,
                std::string("no database route is available for ") +
                    std::string(purpose_name(purpose)) +
                    (stopped_ ? " (stopped)"
                              : " (circuit breakers open or replicas too far behind)"));
        } else {
            outcome.result =
                QueryResult::failure(QueryStatus::Timeout, "deadline passed before any attempt");
        }
    } catch (const std::exception& error) {
        // Only a cancelled caller (operation_aborted) or exhausted memory gets here.
        outcome.result = QueryResult::failure(QueryStatus::Timeout,
                                              std::string("query abandoned: ") + error.what());
    }
    co_return outcome;
}

std::vector<RouteStatus> RouteSet::status() const {
    const auto now = Clock::now();
    std::vector<RouteStatus> all;
    all.reserve(routes_.size());
    for (const auto& route : routes_) {
        RouteStatus status;
        status.name = route->name();
        status.role = route->role();
        status.breaker = route->breaker().state();
        status.consecutive_failures = route->breaker().consecutive_failures();
        status.times_opened = route->breaker().times_opened();
        if (const auto& probe = route->last_probe()) status.in_recovery = probe->in_recovery;
        if (const auto lag = staleness(*route, now)) {
            status.lag_seconds = std::chrono::duration<double>(*lag).count();
            status.lag_within_bound = *lag <= options_.max_lag;
        }
        status.idle_connections = route->idle_connections();
        status.busy_connections = route->busy_connections();
        status.waiting_queries = route->waiting_queries();
        status.batches = route->batches();
        status.batched_calls = route->batched_calls();
        status.connections_opened = route->connections_opened();
        for (std::size_t kind = 0; kind < kAttemptKinds; ++kind)
            status.attempts[kind] = route->attempts(static_cast<AttemptKind>(kind));
        status.last_error = route->last_error();
        all.push_back(std::move(status));
    }
    return all;
}

}  // namespace flag_eval::decide
