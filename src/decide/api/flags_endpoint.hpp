// POST /flags?v=1|2 and POST /decide?v=3|4: one subject's flags. Flags the request alone decides
// are evaluated here; the outcomes of the rest come from one flag_eval.decide_outcomes() call on
// the best route, within the request's deadline, and are completed from the service's own
// definitions; whatever cannot be computed is answered as failed (half an answer beats none).
#pragma once
#include "decide/api/answer.hpp"
#include "decide/api/decide_request.hpp"
#include "decide/definitions/definitions_cache.hpp"
#include "decide/metrics.hpp"
#include "decide/database/route_set.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <variant>

namespace flag_eval::decide {

struct FlagsFailure {  // nothing could be answered
    int status;        // 401 unknown token, 503 no definitions and no database
    std::string message;
};

// answer() may run on any event-loop thread, several at once.
class FlagsEndpoint {
public:
    FlagsEndpoint(DefinitionsCache& cache, RouteSet& routes, Metrics& metrics,
                  std::chrono::milliseconds deadline, std::chrono::milliseconds stale_after)
        : cache_(cache),
          routes_(routes),
          metrics_(metrics),
          deadline_(deadline),
          stale_after_(stale_after) {}

    boost::asio::awaitable<std::variant<Answer, FlagsFailure>> answer(const DecideRequest& request);

private:
    boost::asio::awaitable<std::variant<Answer, FlagsFailure>> answer_from_database_only(
        const DecideRequest& request, std::chrono::steady_clock::time_point deadline);
    // RouteSet::query() on the routes' executor; the caller resumes on its own thread.
    boost::asio::awaitable<QueryOutcome> query(Purpose purpose, const char* sql, QueryParams params,
                                               std::chrono::steady_clock::time_point deadline,
                                               const BatchForm* batch = nullptr);

    DefinitionsCache& cache_;
    RouteSet& routes_;
    Metrics& metrics_;
    std::chrono::milliseconds deadline_;
    std::chrono::milliseconds stale_after_;  // definitions unconfirmed longer are declared stale
};

// The parameters of flag_eval.decide() for a request, $7 limited to `flag_keys` when given.
std::vector<std::optional<std::string>> decide_parameters(
    const DecideRequest& request, const std::optional<std::vector<std::string>>& flag_keys);

// A PostgreSQL text[] literal: {"a","b\"c"}.
std::string text_array_literal(const std::vector<std::string>& values);

}  // namespace flag_eval::decide
