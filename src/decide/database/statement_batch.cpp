#include "decide/database/statement_batch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace flag_eval::decide {

namespace asio = boost::asio;

void append_array_element(std::string& literal, std::string_view text) {
    literal += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') literal += '\\';
        literal += c;
    }
    literal += '"';
}

QueryParams batch_parameters(const std::vector<const QueryParams*>& calls) {
    const std::size_t count = calls.empty() ? 0 : calls.front()->size();
    QueryParams arrays(count);
    for (std::size_t j = 0; j < count; ++j) {
        std::string literal = "{";
        for (std::size_t i = 0; i < calls.size(); ++i) {
            if (i) literal += ',';
            const std::optional<std::string>& value = (*calls[i])[j];
            if (value)
                append_array_element(literal, *value);
            else
                literal += "NULL";
        }
        literal += '}';
        arrays[j] = std::move(literal);
    }
    return arrays;
}

BatchFollower::BatchFollower(asio::any_io_executor executor, const QueryParams& values,
                             Clock::time_point until)
    : params(values), deadline(until), timer_(std::move(executor), until) {}

asio::awaitable<QueryResult> BatchFollower::wait() {
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (result_) co_return std::move(*result_);
    co_return QueryResult::failure(QueryStatus::Timeout,
                                   "deadline passed waiting in a batch for a pooled connection");
}

void BatchFollower::deliver(QueryResult result) {
    result_ = std::move(result);
    timer_.cancel();
}

bool StatementBatch::accepts(const BatchForm& form) const {
    // +1: the leader's own call.
    return !closed_ && form.sql == form_.sql && followers_.size() + 1 < form_.max_calls;
}

asio::awaitable<QueryResult> StatementBatch::join(asio::any_io_executor executor,
                                                  const QueryParams& params,
                                                  Clock::time_point deadline) {
    auto follower = std::make_shared<BatchFollower>(std::move(executor), params, deadline);
    followers_.push_back(follower);
    co_return co_await follower->wait();
}

std::vector<std::shared_ptr<BatchFollower>> StatementBatch::close(Clock::time_point now) {
    closed_ = true;
    std::vector<std::shared_ptr<BatchFollower>> waiting;
    waiting.reserve(followers_.size());
    for (auto& follower : followers_)
        if (now < follower->deadline) waiting.push_back(std::move(follower));
    followers_.clear();
    return waiting;
}

QueryResult take_call_result(QueryResult& batch, std::size_t call) {
    QueryResult result;
    result.status = QueryStatus::Ok;
    result.columns = batch.columns;
    result.rows.push_back(std::move(batch.rows.at(call)));
    return result;
}

}  // namespace flag_eval::decide
