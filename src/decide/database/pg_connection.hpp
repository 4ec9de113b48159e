// One libpq connection driven without blocking on the service's event loop: libpq runs in
// non-blocking mode and Asio waits on its socket. Every operation takes a deadline; one that
// passes it (a stopped PgBouncer, a black-holed host) is abandoned and the connection is marked
// broken, to be discarded (never PQcancel: it blocks).
//
// Works through PgBouncer in transaction pooling: one unnamed extended-protocol statement per
// query (PQsendQueryParams), text parameters and results, no session state.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;  // libpq's PGconn

namespace flag_eval::decide {

enum class QueryStatus {
    Ok,
    ServerError,     // the server answered with an error: see sqlstate
    ConnectionLost,  // could not connect, or the connection broke (no SQLSTATE from the server)
    Timeout,         // the deadline passed first
    NoRoute,         // (RouteSet) no route was eligible: every breaker open, or replicas too stale
};

std::string_view query_status_name(QueryStatus status);

using QueryParams = std::vector<std::optional<std::string>>;  // text parameters; nullopt = NULL
using QueryRow = std::vector<std::optional<std::string>>;     // text values; nullopt = NULL

struct QueryResult {
    QueryStatus status = QueryStatus::Timeout;
    std::string sqlstate;  // PG_DIAG_SQLSTATE when status == ServerError
    std::string error;     // a one-line message; empty when ok
    std::vector<std::string> columns;
    std::vector<QueryRow> rows;

    bool ok() const { return status == QueryStatus::Ok; }

    static QueryResult failure(QueryStatus status, std::string error, std::string sqlstate = {});
};

// One line for logs and failed-flag descriptions: "server_error 40001: message".
std::string describe(const QueryResult& result);

class PgConnection {
public:
    using Clock = std::chrono::steady_clock;

    struct ConnectResult {
        std::unique_ptr<PgConnection> connection;  // null on failure
        QueryResult failure;  // ConnectionLost or Timeout when connection is null
    };

    // Opens a connection (PQconnectStartParams + PQconnectPoll). A single host name in
    // `conninfo` is resolved with Asio's resolver first, so libpq does not block on DNS; a host
    // list, or a host name that comes only from the environment (PGHOST), is left to libpq,
    // which resolves it blocking: configure addresses or one name per route.
    static boost::asio::awaitable<ConnectResult> connect(boost::asio::any_io_executor executor,
                                                         std::string conninfo,
                                                         Clock::time_point deadline);

    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    ~PgConnection();

    // Runs one statement. After Timeout, ConnectionLost or a protocol surprise the connection is
    // broken(); after Ok or an ordinary ServerError it stays usable. `sql` and `params` must
    // stay alive until the awaitable completes.
    boost::asio::awaitable<QueryResult> query(std::string_view sql, const QueryParams& params,
                                              Clock::time_point deadline);

    bool broken() const { return broken_; }
    // Can an idle connection take a query? Reads anything the server sent meanwhile (a
    // termination notice, EOF) without blocking; false means discard it.
    bool healthy_when_idle();

private:
    PgConnection(boost::asio::any_io_executor executor, pg_conn* conn);

    enum class Ready { Read, Write, Deadline, Failed };
    // Waits until the socket is readable (and/or writable) or the deadline passes.
    boost::asio::awaitable<Ready> wait_socket(bool read, bool write, Clock::time_point deadline);
    // The wait for the server's answer, every query's: one wait on the socket, which the query's
    // deadline timer cancels (arm_deadline), where wait_socket() sets up a timer and a parallel
    // group each time.
    boost::asio::awaitable<Ready> wait_readable(Clock::time_point deadline);
    void arm_deadline(Clock::time_point deadline);
    // Re-wraps PQsocket() in the Asio descriptor; libpq may switch sockets while connecting.
    bool wrap_socket();
    void unwrap_socket();
    QueryResult break_with(QueryStatus status, std::string error);

    boost::asio::any_io_executor executor_;
    pg_conn* conn_;
    boost::asio::posix::stream_descriptor socket_;
    boost::asio::steady_timer deadline_timer_;
    // The deadline timer's handler may already be queued when the connection is destroyed: it
    // reaches the connection through this, only while the connection lives.
    std::shared_ptr<PgConnection*> self_ = std::make_shared<PgConnection*>(this);
    bool broken_ = false;
};

}  // namespace flag_eval::decide
