// Concurrent calls of one statement sent as one: a call of a batchable statement leads a batch,
// and the calls that arrive while it waits for a connection (and for one turn of the event loop
// after it got one) join it; the leader sends them all in one round trip. A server pays its
// per-statement costs (the wake-up, parsing, planning, the pooler's hop) once per batch instead
// of once per call, which is most of what a small statement costs on a busy machine.
//
// On a quiet route a batch holds one call, sent as the plain statement.
// Everything here runs on the route's executor (one thread); nothing is locked.
#pragma once

#include "decide/database/pg_connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

// How a statement with $n text parameters is run for several calls at once: `sql` takes each
// of the statement's parameters as a text[] whose element i is call i's value, and returns one
// row per call, in call order, with the columns the statement's own row has.
struct BatchForm {
    std::string_view sql;
    std::size_t max_calls = 64;
};

// The batch form's parameters: parameter j is the array literal of every call's parameter j.
// All calls must have as many parameters as the first.
QueryParams batch_parameters(const std::vector<const QueryParams*>& calls);

// `text` as an element of a PostgreSQL array literal: double-quoted, `"` and `\` escaped.
void append_array_element(std::string& literal, std::string_view text);

// A call waiting in a batch for its leader to send it.
class BatchFollower {
public:
    using Clock = std::chrono::steady_clock;

    BatchFollower(boost::asio::any_io_executor executor, const QueryParams& values,
                  Clock::time_point until);

    const QueryParams params;  // a copy: a follower that gives up stops holding the caller's
    const Clock::time_point deadline;

    // Waits until deliver() or the deadline (then Timeout).
    boost::asio::awaitable<QueryResult> wait();
    // Hands over the result and wakes the follower.
    void deliver(QueryResult result);

private:
    boost::asio::steady_timer timer_;  // expires at the deadline; cancelled by deliver()
    std::optional<QueryResult> result_;
};

// One batch being gathered, then sent by its leader (Route::lead_batch).
class StatementBatch {
public:
    using Clock = std::chrono::steady_clock;

    explicit StatementBatch(const BatchForm& form) : form_(form) {}
    StatementBatch(const StatementBatch&) = delete;
    StatementBatch& operator=(const StatementBatch&) = delete;

    // Can a call of `form` still join (not sent yet, not full)?
    bool accepts(const BatchForm& form) const;

    // A follower: waits until the leader hands over its result, or until `deadline` (Timeout).
    boost::asio::awaitable<QueryResult> join(boost::asio::any_io_executor executor,
                                             const QueryParams& params, Clock::time_point deadline);

    // The leader closes the batch to newcomers and takes the followers still waiting, in the
    // order they joined (those whose deadline has passed are dropped).
    std::vector<std::shared_ptr<BatchFollower>> close(Clock::time_point now);

private:
    BatchForm form_;
    bool closed_ = false;
    std::vector<std::shared_ptr<BatchFollower>> followers_;
};

// Row i of a successful batch's result, moved out, as the result of call i alone.
QueryResult take_call_result(QueryResult& batch, std::size_t call);

}  // namespace flag_eval::decide
