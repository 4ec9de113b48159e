#include "decide/database/pg_connection.hpp"

#include <libpq-fe.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace flag_eval::decide {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr auto as_awaitable_tuple = asio::as_tuple(asio::use_awaitable);

// libpq's messages end in a newline and may span lines; metrics and logs want one line.
std::string one_line(const char* message) {
    std::string text = message ? message : "";
    for (char& c : text)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    const auto last = text.find_last_not_of(' ');
    text.erase(last == std::string::npos ? 0 : last + 1);
    return text;
}

// Server notices (WARNING, NOTICE) would go to stderr by default; the service has no use for them.
void ignore_notice(void*, const char*) {}

// Only a single, non-numeric host name makes PQconnectStart call getaddrinfo (which blocks).
// Socket directories ('/', '@') and host lists are left to libpq.
bool needs_dns(std::string_view host) {
    if (host.empty() || host.front() == '/' || host.front() == '@') return false;
    if (host.find(',') != std::string_view::npos) return false;
    boost::system::error_code ec;
    asio::ip::make_address(std::string(host), ec);
    return static_cast<bool>(ec);
}

struct ConnectParams {
    std::vector<std::string> keywords;
    std::vector<std::string> values;

    const std::string* find(std::string_view keyword) const {
        for (std::size_t i = 0; i < keywords.size(); ++i)
            if (keywords[i] == keyword) return &values[i];
        return nullptr;
    }
};

// Replaces a host name by the addresses Asio's resolver finds (off the event loop's thread),
// so PQconnectStart never calls getaddrinfo itself. libpq tries every address in turn
// (localhost may be ::1 first while the server listens on 127.0.0.1 only): the name once per
// address, paired with hostaddr. Returns the failure, if any.
asio::awaitable<std::optional<QueryResult>> resolve_host(
    asio::any_io_executor executor, ConnectParams& params,
    std::chrono::steady_clock::time_point deadline) {
    const std::string host_name = *params.find("host");
    asio::ip::tcp::resolver resolver(executor);
    asio::steady_timer timer(executor, deadline);
    auto resolved = co_await (resolver.async_resolve(host_name, "", as_awaitable_tuple) ||
                              timer.async_wait(as_awaitable_tuple));
    if (resolved.index() == 1)
        co_return QueryResult::failure(QueryStatus::Timeout,
                                       "deadline passed resolving host " + host_name);
    const auto& [ec, endpoints] = std::get<0>(resolved);
    if (ec || endpoints.empty())
        co_return QueryResult::failure(QueryStatus::ConnectionLost,
                                       "could not resolve host " + host_name + ": " + ec.message());
    std::vector<std::string> addresses;
    for (const auto& entry : endpoints) {
        std::string address = entry.endpoint().address().to_string();
        if (std::find(addresses.begin(), addresses.end(), address) == addresses.end())
            addresses.push_back(std::move(address));
    }
    std::string hosts, hostaddrs;
    for (const auto& address : addresses) {
        hosts += (hosts.empty() ? "" : ",") + host_name;
        hostaddrs += (hostaddrs.empty() ? "" : ",") + address;
    }
    for (std::size_t i = 0; i < params.keywords.size(); ++i)
        if (params.keywords[i] == "host") params.values[i] = hosts;
    params.keywords.emplace_back("hostaddr");
    params.values.emplace_back(std::move(hostaddrs));
    co_return std::nullopt;
}

}  // namespace

std::string_view query_status_name(QueryStatus status) {
    switch (status) {
        case QueryStatus::Ok: return "ok";
        case QueryStatus::ServerError: return "server_error";
        case QueryStatus::ConnectionLost: return "connection_lost";
        case QueryStatus::Timeout: return "timeout";
        case QueryStatus::NoRoute: return "no_route";
    }
    return "unknown";
}

std::string describe(const QueryResult& result) {
    std::string text(query_status_name(result.status));
    if (!result.sqlstate.empty()) text += " " + result.sqlstate;
    if (!result.error.empty()) text += ": " + result.error;
    return text;
}

QueryResult QueryResult::failure(QueryStatus status, std::string error, std::string sqlstate) {
    QueryResult result;
    result.status = status;
    result.error = std::move(error);
    result.sqlstate = std::move(sqlstate);
    return result;
}

PgConnection::PgConnection(asio::any_io_executor executor, pg_conn* conn)
    : executor_(executor), conn_(conn), socket_(executor), deadline_timer_(executor) {}

PgConnection::~PgConnection() {
    // The descriptor belongs to libpq: Asio must forget it, never close it.
    unwrap_socket();
    PQfinish(conn_);
}

bool PgConnection::wrap_socket() {
    unwrap_socket();
    const int fd = PQsocket(conn_);
    if (fd < 0) return false;
    boost::system::error_code ec;
    socket_.assign(fd, ec);
    return !ec;
}

void PgConnection::unwrap_socket() {
    if (socket_.is_open()) socket_.release();
}

QueryResult PgConnection::break_with(QueryStatus status, std::string error) {
    broken_ = true;
    return QueryResult::failure(status, std::move(error));
}

void PgConnection::arm_deadline(Clock::time_point deadline) {
    deadline_timer_.expires_at(deadline);
    deadline_timer_.async_wait(
        [connection = std::weak_ptr<PgConnection*>(self_)](const boost::system::error_code& ec) {
            if (ec) return;  // cancelled: the query ended first
            if (const auto self = connection.lock()) (*self)->socket_.cancel();
        });
}

asio::awaitable<PgConnection::Ready> PgConnection::wait_readable(Clock::time_point deadline) {
    // As in wait_socket(): readiness already reported would never wake an edge-triggered wait.
    pollfd polled{PQsocket(conn_), POLLIN, 0};
    const int n = ::poll(&polled, 1, 0);
    if (n < 0 && errno != EINTR) co_return Ready::Failed;
    if (n > 0) co_return (polled.revents & POLLNVAL) ? Ready::Failed : Ready::Read;
    if (Clock::now() >= deadline) co_return Ready::Deadline;
    auto [ec] =
        co_await socket_.async_wait(asio::posix::stream_descriptor::wait_read, as_awaitable_tuple);
    if (!ec) co_return Ready::Read;
    // Cancelled by the deadline timer, or by a shutdown before it.
    co_return ec == asio::error::operation_aborted&& Clock::now() >= deadline ? Ready::Deadline
                                                                              : Ready::Failed;
}

asio::awaitable<PgConnection::Ready> PgConnection::wait_socket(bool read, bool write,
                                                               Clock::time_point deadline) {
    // Asio registers descriptors edge-triggered and async_wait does not look at the current
    // state, so a readiness already reported (while nobody waited) would never wake us: ask
    // poll() first, with a zero timeout.
    pollfd polled{PQsocket(conn_), static_cast<short>((read ? POLLIN : 0) | (write ? POLLOUT : 0)),
                  0};
    const int n = ::poll(&polled, 1, 0);
    if (n < 0 && errno != EINTR) co_return Ready::Failed;
    if (n > 0) {
        if (polled.revents & POLLNVAL) co_return Ready::Failed;
        // An error or hang-up counts as ready: libpq's next read or write reports it.
        const bool trouble = polled.revents & (POLLERR | POLLHUP);
        if (read && (trouble || (polled.revents & POLLIN))) co_return Ready::Read;
        if (write && (trouble || (polled.revents & POLLOUT))) co_return Ready::Write;
    }
    if (Clock::now() >= deadline) co_return Ready::Deadline;

    asio::steady_timer timer(executor_, deadline);
    using Wait = asio::posix::stream_descriptor::wait_type;
    if (read && write) {
        auto woke = co_await (socket_.async_wait(Wait::wait_read, as_awaitable_tuple) ||
                              socket_.async_wait(Wait::wait_write, as_awaitable_tuple) ||
                              timer.async_wait(as_awaitable_tuple));
        switch (woke.index()) {
            case 0: co_return std::get<0>(std::get<0>(woke)) ? Ready::Failed : Ready::Read;
            case 1: co_return std::get<0>(std::get<1>(woke)) ? Ready::Failed : Ready::Write;
            default: co_return std::get<0>(std::get<2>(woke)) ? Ready::Failed : Ready::Deadline;
        }
    }
    auto woke = co_await (
        socket_.async_wait(read ? Wait::wait_read : Wait::wait_write, as_awaitable_tuple) ||
        timer.async_wait(as_awaitable_tuple));
    if (woke.index() == 0) {
        if (std::get<0>(std::get<0>(woke))) co_return Ready::Failed;
        co_return read ? Ready::Read : Ready::Write;
    }
    // The timer ending with an error means the wait was cancelled from outside (shutdown).
    co_return std::get<0>(std::get<1>(woke)) ? Ready::Failed : Ready::Deadline;
}

asio::awaitable<PgConnection::ConnectResult> PgConnection::connect(asio::any_io_executor executor,
                                                                   std::string conninfo,
                                                                   Clock::time_point deadline) {
    auto fail = [](QueryStatus status, std::string error) {
        return ConnectResult{nullptr, QueryResult::failure(status, std::move(error))};
    };

    ConnectParams params;
    {
        char* parse_error = nullptr;
        PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
        if (!options) {
            std::string message = parse_error ? one_line(parse_error) : "out of memory";
            PQfreemem(parse_error);
            co_return fail(QueryStatus::ConnectionLost, "invalid conninfo: " + message);
        }
        for (PQconninfoOption* option = options; option->keyword; ++option) {
            if (option->val && *option->val) {
                params.keywords.emplace_back(option->keyword);
                params.values.emplace_back(option->val);
            }
        }
        PQconninfoFree(options);
    }

    if (const std::string* host = params.find("host");
        host && !params.find("hostaddr") && needs_dns(*host)) {
        if (auto failure = co_await resolve_host(executor, params, deadline))
            co_return ConnectResult{nullptr, std::move(*failure)};
    }

    std::vector<const char*> keywords, values;
    for (std::size_t i = 0; i < params.keywords.size(); ++i) {
        keywords.push_back(params.keywords[i].c_str());
        values.push_back(params.values[i].c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);

    PGconn* raw = PQconnectStartParams(keywords.data(), values.data(), 0);
    if (!raw) co_return fail(QueryStatus::ConnectionLost, "out of memory starting a connection");
    std::unique_ptr<PgConnection> connection(new PgConnection(executor, raw));
    if (PQstatus(raw) == CONNECTION_BAD)
        co_return fail(QueryStatus::ConnectionLost, one_line(PQerrorMessage(raw)));
    PQsetNoticeProcessor(raw, ignore_notice, nullptr);

    // libpq's protocol: behave as if PQconnectPoll had asked for a writable socket first.
    PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
    while (polling != PGRES_POLLING_OK) {
        if (polling == PGRES_POLLING_FAILED)
            co_return fail(QueryStatus::ConnectionLost, one_line(PQerrorMessage(raw)));
        // The socket can change between polls (another address, SSL/GSS fallback), and a new
        // socket may reuse the old number, so wrap it afresh every time.
        if (!connection->wrap_socket())
            co_return fail(QueryStatus::ConnectionLost, "libpq has no socket");
        const bool want_read = polling == PGRES_POLLING_READING;
        switch (co_await connection->wait_socket(want_read, !want_read, deadline)) {
            case Ready::Deadline:
                co_return fail(QueryStatus::Timeout, "deadline passed while connecting");
            case Ready::Failed:
                co_return fail(QueryStatus::ConnectionLost,
                               "waiting on the socket failed while connecting");
            default: break;
        }
        polling = PQconnectPoll(raw);
    }
    if (PQsetnonblocking(raw, 1) != 0)
        co_return fail(QueryStatus::ConnectionLost, one_line(PQerrorMessage(raw)));
    if (!connection->wrap_socket())
        co_return fail(QueryStatus::ConnectionLost, "libpq has no socket");
    co_return ConnectResult{std::move(connection), {}};
}

bool PgConnection::healthy_when_idle() {
    if (broken_ || PQstatus(conn_) != CONNECTION_OK) return false;
    pollfd polled{PQsocket(conn_), POLLIN, 0};
    if (::poll(&polled, 1, 0) > 0) {
        // Something arrived while idle: a notice, or the server saying goodbye (then EOF).
        if (!PQconsumeInput(conn_) || PQstatus(conn_) != CONNECTION_OK) {
            broken_ = true;
            return false;
        }
    }
    return PQtransactionStatus(conn_) == PQTRANS_IDLE && !PQisBusy(conn_);
}

asio::awaitable<QueryResult> PgConnection::query(std::string_view sql, const QueryParams& params,
                                                 Clock::time_point deadline) {
    if (broken_)
        co_return QueryResult::failure(QueryStatus::ConnectionLost, "connection is broken");
    // Starting a query that cannot finish would only cost the connection.
    if (Clock::now() >= deadline)
        co_return QueryResult::failure(QueryStatus::Timeout,
                                       "deadline passed before the query was sent");
    if (PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE)
        co_return break_with(QueryStatus::ConnectionLost, "connection is not idle");
    // Broken until the exchange completes: abandoning it half-way (deadline, exception,
    // cancellation) leaves the protocol state unknown.
    broken_ = true;

    const std::string statement(sql);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
    if (!PQsendQueryParams(conn_, statement.c_str(), static_cast<int>(values.size()), nullptr,
                           values.empty() ? nullptr : values.data(), nullptr, nullptr, 0))
        co_return break_with(QueryStatus::ConnectionLost, one_line(PQerrorMessage(conn_)));

    // Send everything; while the socket is full, also read (the server may be answering).
    for (;;) {
        const int flushed = PQflush(conn_);
        if (flushed == 0) break;
        if (flushed < 0)
            co_return break_with(QueryStatus::ConnectionLost, one_line(PQerrorMessage(conn_)));
        const Ready ready = co_await wait_socket(true, true, deadline);
        if (ready == Ready::Deadline)
            co_return break_with(QueryStatus::Timeout, "deadline passed sending the query");
        if (ready == Ready::Failed)
            co_return break_with(QueryStatus::ConnectionLost, "waiting on the socket failed");
        if (ready == Ready::Read && !PQconsumeInput(conn_))
            co_return break_with(QueryStatus::ConnectionLost, one_line(PQerrorMessage(conn_)));
    }

    QueryResult result;
    result.status = QueryStatus::Ok;
    bool failed = false;
    arm_deadline(deadline);
    struct Disarm {
        asio::steady_timer& timer;
        ~Disarm() { timer.cancel(); }
    } disarm{deadline_timer_};
    for (;;) {
        while (PQisBusy(conn_)) {
            const Ready ready = co_await wait_readable(deadline);
            if (ready == Ready::Deadline)
                co_return break_with(QueryStatus::Timeout,
                                     "deadline passed waiting for the server");
            if (ready == Ready::Failed)
                co_return break_with(QueryStatus::ConnectionLost, "waiting on the socket failed");
            if (!PQconsumeInput(conn_))
                co_return break_with(QueryStatus::ConnectionLost, one_line(PQerrorMessage(conn_)));
        }
        PGresult* raw = PQgetResult(conn_);
        if (!raw) break;
        std::unique_ptr<PGresult, void (*)(PGresult*)> answer(raw, PQclear);
        switch (PQresultStatus(raw)) {
            case PGRES_TUPLES_OK:
                if (failed) break;
                result.columns.clear();
                result.rows.clear();
                for (int c = 0; c < PQnfields(raw); ++c)
                    result.columns.emplace_back(PQfname(raw, c));
                for (int r = 0; r < PQntuples(raw); ++r) {
                    QueryRow& row = result.rows.emplace_back();
                    for (int c = 0; c < PQnfields(raw); ++c) {
                        if (PQgetisnull(raw, r, c))
                            row.emplace_back();
                        else
                            row.emplace_back(
                                std::string(PQgetvalue(raw, r, c), PQgetlength(raw, r, c)));
                    }
                }
                break;
            case PGRES_COMMAND_OK:
            case PGRES_EMPTY_QUERY: break;
            case PGRES_FATAL_ERROR:
            case PGRES_BAD_RESPONSE:
                if (!failed) {
                    failed = true;
                    const char* sqlstate = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
                    const char* primary = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
                    result = QueryResult::failure(
                        QueryStatus::ServerError,
                        one_line(primary ? primary : PQresultErrorMessage(raw)),
                        sqlstate ? sqlstate : "");
                }
                break;
            default:
                // COPY and friends would need a protocol exchange this class does not speak.
                co_return QueryResult::failure(
                    QueryStatus::ServerError,
                    std::string("unsupported result status ") + PQresStatus(PQresultStatus(raw)),
                    "0A000");
        }
    }

    if (PQstatus(conn_) != CONNECTION_OK) {
        // The server may have said why before hanging up (57P01 admin shutdown): keep that.
        if (failed && !result.sqlstate.empty()) co_return result;
        co_return QueryResult::failure(QueryStatus::ConnectionLost,
                                       failed ? result.error : one_line(PQerrorMessage(conn_)));
    }
    if (failed && result.sqlstate.empty()) {
        // An error libpq made up itself (lost sync, bad message): do not trust the connection.
        result.status = QueryStatus::ConnectionLost;
        co_return result;
    }
    // No session state survives a query (PgBouncer in transaction pooling): a statement that
    // left a transaction open makes the connection unfit for the pool.
    broken_ = PQtransactionStatus(conn_) != PQTRANS_IDLE;
    co_return result;
}

}  // namespace flag_eval::decide
