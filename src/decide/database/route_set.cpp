#include "decide/database/route_set.hpp"

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
    if (!(options_.first_attempt_share > 0.0 && options_.first_attempt_share <= 1.0))
        options_.first_attempt_share = 1.0;
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
    for (const auto& route : routes_) Route::start_probing(route, wal_history_);
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

RouteSet::Candidates RouteSet::candidates(Purpose purpose, Clock::time_point now,
                                          const Route* tried) const {
    Candidates found;
    for (const auto& route : routes_)
        if (route.get() != tried && eligible(*route, purpose, now)) found.push_back(route);
    if (purpose == Purpose::PrimaryWrite) {
        // The configured primary first; a promoted standby after it.
        std::stable_partition(found.begin(), found.end(), [](const auto& route) {
            return route->role() == RouteRole::Primary;
        });
    }
    return found;
}

asio::awaitable<QueryOutcome> RouteSet::query(Purpose purpose, std::string sql, QueryParams params,
                                              Clock::time_point deadline) {
    QueryOutcome outcome;
    const Route* tried = nullptr;
    try {
        for (;;) {
            const auto now = Clock::now();
            const auto routes = stopped_ ? Candidates{} : candidates(purpose, now, tried);
            if (routes.empty()) {
                if (outcome.attempts == 0)
                    outcome.result = QueryResult::failure(
                        QueryStatus::NoRoute,
                        std::string("no database route is available for ") +
                            std::string(purpose_name(purpose)) +
                            (stopped_ ? " (stopped)"
                                      : " (circuit breakers open or replicas too far behind)"));
                co_return outcome;
            }
            if (now >= deadline) {
                if (outcome.attempts == 0)
                    outcome.result = QueryResult::failure(QueryStatus::Timeout,
                                                          "deadline passed before any attempt");
                co_return outcome;
            }
            const std::shared_ptr<Route> route = routes.front();
            // While a retry is still possible, leave the next route part of the time.
            auto attempt_deadline = deadline;
            if (outcome.attempts == 0 && routes.size() > 1 && options_.first_attempt_share < 1.0)
                attempt_deadline = now + std::chrono::duration_cast<Clock::duration>(
                                             (deadline - now) * options_.first_attempt_share);

            outcome.result = co_await route->query(sql, params, attempt_deadline);
            outcome.route = route->name();
            ++outcome.attempts;
            tried = route.get();
            if (outcome.result.sqlstate == "25006") route->note_read_only();
            if (outcome.result.ok() || !is_retryable(outcome.result) || outcome.attempts >= 2)
                co_return outcome;
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
        status.connections_opened = route->connections_opened();
        status.last_error = route->last_error();
        all.push_back(std::move(status));
    }
    return all;
}

}  // namespace flag_eval::decide
