#include "decide/http/http_server.hpp"

#include "decide/http/response_head.hpp"
#include "decide/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <exception>
#include <iostream>
#include <limits>
#include <optional>
#include <unordered_set>
#include <vector>

namespace flag_eval::decide {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Completion token: (error_code, result...) as a tuple instead of an exception, because a
// client's disconnect or timeout is the normal end of a connection, not an error.
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kInvalidLabel = "invalid";
constexpr std::string_view kOtherLabel = "other";
constexpr std::size_t kFirstReadBytes = 4096;

// A parse error (the client's fault: answer 400) rather than a closed or timed-out socket, or
// a message cut short by the client hanging up.
bool is_parse_error(const beast::error_code& ec) {
    static const auto& http_category = http::make_error_code(http::error::bad_target).category();
    return ec.category() == http_category && ec != http::error::end_of_stream &&
           ec != http::error::partial_message && ec != http::error::need_more;
}

bool answer_without_body(unsigned status) {
    return status / 100 == 1 || status == 204 || status == 304;
}

}  // namespace

std::string_view header_value(const Request& request, http::field field) {
    const auto it = request.find(field);
    return it == request.end() ? std::string_view{}
                               : std::string_view(it->value().data(), it->value().size());
}

Response json_error_response(unsigned status, std::string_view type, std::string_view code,
                             std::string_view detail, unsigned version) {
    Response response{static_cast<http::status>(status), version};
    response.set(http::field::content_type, "application/json");
    response.body() = boost::json::serialize(
        boost::json::object{{"type", type}, {"code", code}, {"detail", detail}, {"attr", nullptr}});
    return response;
}

// An executor that serves connections, and the connections it serves (touched on its thread only).
struct HttpWorker {
    asio::any_io_executor executor;
    std::unordered_set<beast::tcp_stream*> streams;
};

class HttpServerState : public std::enable_shared_from_this<HttpServerState> {
public:
    HttpServerState(asio::any_io_executor ex, tcp::endpoint endpoint, HttpLimits lim, Handler h,
                    Metrics* m, std::vector<asio::any_io_executor> worker_executors)
        : executor(std::move(ex)),
          acceptor(executor),
          limits(lim),
          handler(std::move(h)),
          metrics(m) {
        if (worker_executors.empty()) worker_executors.push_back(executor);
        for (auto& worker : worker_executors)
            workers.push_back(std::make_unique<HttpWorker>(HttpWorker{std::move(worker), {}}));
        acceptor.open(endpoint.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(endpoint);
        acceptor.listen(asio::socket_base::max_listen_connections);
        bound = acceptor.local_endpoint();
    }

    void log_error(std::string_view message) const {
        if (error_log) {
            error_log(message);
        } else {
            std::cerr << "flag-decide: " << message << std::endl;
        }
    }

    // These two run on the worker's thread, also from frames destroyed with its io_context,
    // after the server and its Metrics may be gone: they touch nothing but this state.
    void connection_opened(HttpWorker& worker, beast::tcp_stream* stream) {
        worker.streams.insert(stream);
        ++open;
    }

    void connection_closed(HttpWorker& worker, beast::tcp_stream* stream) {
        worker.streams.erase(stream);
        --open;
    }

    // On the accepting executor's thread; each worker closes its own connections on its thread.
    void shut_down() {
        stopped = true;
        beast::error_code ignored;
        acceptor.close(ignored);
        for (const auto& worker : workers) {
            asio::dispatch(worker->executor, [self = shared_from_this(), w = worker.get()] {
                // Closing completes the connections' pending operations (posted, not run here),
                // so the set is not modified while this loop walks it.
                for (beast::tcp_stream* stream : w->streams) stream->close();
            });
        }
    }

    asio::awaitable<void> accept_loop();
    void refuse_over_capacity(tcp::socket& socket);

    asio::any_io_executor executor;
    tcp::acceptor acceptor;
    tcp::endpoint bound;
    HttpLimits limits;
    Handler handler;
    Metrics* metrics;
    EndpointLabeler labeler;
    ResponseDecorator decorator;
    ErrorLog error_log;

    std::vector<std::unique_ptr<HttpWorker>> workers;
    std::size_t next_worker = 0;  // the accept loop's, round robin
    std::atomic<std::size_t> open{0};
    bool started = false;
    std::atomic<bool> stopped{false};
};

namespace {

// One client connection: reads requests one at a time (pipelined ones wait in the buffer),
// answers each, and ends on close, timeout, error or server stop.
class Connection {
public:
    Connection(std::shared_ptr<HttpServerState> state, HttpWorker& worker, tcp::socket socket)
        : state_(std::move(state)), worker_(worker), stream_(std::move(socket)) {
        state_->connection_opened(worker_, &stream_);
        beast::error_code ec;  // a peer already gone: the unspecified address
        peer_ = stream_.socket().remote_endpoint(ec).address();
    }
    ~Connection() { state_->connection_closed(worker_, &stream_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    asio::awaitable<void> run();

private:
    using Parser = http::request_parser<http::string_body>;

    asio::awaitable<bool> await_next_request();
    enum class Part { Header, Body };
    beast::error_code parse_buffered(Parser& parser, Part part);
    asio::awaitable<Response> call_handler(Request& request);
    struct Rejection {
        Response response;
        std::string label;
    };
    // The answer to a failed read of the headers or of the body, if it deserves one.
    std::optional<Rejection> header_rejection(const beast::error_code& ec,
                                              const Request& head) const;
    std::optional<Rejection> body_rejection(const beast::error_code& ec, const Request& head) const;
    asio::awaitable<void> reject(Rejection& rejection, Clock::time_point started);
    asio::awaitable<bool> write(Response& response);
    asio::awaitable<void> linger_close();

    Response payload_too_large(unsigned version) const;
    void decorate(const Request& request, Response& response) const {
        if (state_->decorator) state_->decorator(request, response);
    }
    std::string label_for(const Request& request) const;
    void record(std::string_view label, unsigned status, Clock::time_point started) const;
    // Server, Content-Type, Content-Length, version and keep-alive; returns keep-alive.
    bool finalize(Response& response, unsigned version, bool client_keeps_alive,
                  bool head_request = false) const;

    std::shared_ptr<HttpServerState> state_;
    HttpWorker& worker_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    asio::ip::address peer_;
};

asio::awaitable<void> Connection::run() {
    const HttpLimits& limits = state_->limits;
    for (bool first = true; !state_->stopped; first = false) {
        // The first request's header deadline runs from the connection's opening; later ones
        // get idle_timeout to start and then header_timeout to finish their headers.
        if (!first && !co_await await_next_request()) co_return;

        Parser parser;
        parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
            limits.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
        parser.body_limit(limits.max_body_bytes);

        // What is already buffered (usually the whole request) is parsed here; the rest is read
        // with the header deadline.
        beast::error_code header_ec = parse_buffered(parser, Part::Header);
        if (header_ec == http::error::need_more) {
            stream_.expires_after(limits.header_timeout);
            auto [ec, bytes] =
                co_await http::async_read_header(stream_, buffer_, parser, use_tuple);
            header_ec = ec;
        }
        const Clock::time_point started = Clock::now();
        // Rejections are built outside co_await expressions: GCC 12 mis-destroys temporaries
        // of a conditional expression inside one.
        std::optional<Rejection> rejection = header_rejection(header_ec, parser.get());
        if (rejection) {
            decorate(parser.get(), rejection->response);
            co_await reject(*rejection, started);
            co_return;
        }
        if (header_ec) co_return;  // hung up, timed out, or the server stopped

        beast::error_code body_ec = parse_buffered(parser, Part::Body);
        if (body_ec == http::error::need_more) {
            const Request& head = parser.get();
            if (head.version() >= 11 && beast::iequals(head[http::field::expect], "100-continue")) {
                static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                stream_.expires_after(limits.write_timeout);
                auto [ec, n] = co_await asio::async_write(
                    stream_, asio::buffer(kContinue.data(), kContinue.size()), use_tuple);
                if (ec) co_return;
            }
            stream_.expires_after(limits.body_timeout);
            auto [ec, body_bytes] = co_await http::async_read(stream_, buffer_, parser, use_tuple);
            body_ec = ec;
        }
        rejection = body_rejection(body_ec, parser.get());
        if (rejection) {
            decorate(parser.get(), rejection->response);
            co_await reject(*rejection, started);
            co_return;
        }
        if (body_ec) co_return;
        // The handler's time is bounded by the handler's own deadline, not the client's timers.
        stream_.expires_never();

        Request request = parser.release();
        Response response = co_await call_handler(request);
        std::string label = label_for(request);
        if (auto field = response.find(kEndpointLabelField); field != response.end()) {
            label = std::string(field->value());
            response.erase(field);
        }
        decorate(request, response);
        const bool keep_alive = finalize(response, request.version(), request.keep_alive(),
                                         request.method() == http::verb::head);
        record(label, response.result_int(), started);
        const bool written = co_await write(response);
        if (!written) co_return;
        if (!keep_alive) {
            co_await linger_close();
            co_return;
        }
    }
}

// Waits (idle_timeout) for the first byte of the next keep-alive request; false: connection over.
asio::awaitable<bool> Connection::await_next_request() {
    if (buffer_.size() > 0) co_return true;  // pipelined
    stream_.expires_after(state_->limits.idle_timeout);
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kFirstReadBytes), use_tuple);
    buffer_.commit(n);
    co_return !ec && n > 0;
}

// Feeds the buffered bytes to the parser up to the end of `part`: no error when that part was
// all there, need_more when it was not (the async read goes on from where this stopped), the
// parser's error otherwise. Beast's async reads complete through the event loop even when the
// bytes are already buffered: parsing them here saves two trips through it per request.
beast::error_code Connection::parse_buffered(Parser& parser, Part part) {
    const auto complete = [&] {
        return part == Part::Header ? parser.is_header_done() : parser.is_done();
    };
    beast::error_code ec;
    parser.eager(part == Part::Body);
    while (buffer_.size() > 0 && !complete()) {
        const std::size_t used = parser.put(buffer_.data(), ec);
        buffer_.consume(used);
        if (ec || used == 0) break;
    }
    if (ec == http::error::need_more) ec = {};
    if (!ec && !complete()) ec = http::error::need_more;
    return ec;
}

asio::awaitable<Response> Connection::call_handler(Request& request) {
    std::string failure;
    try {
        co_return co_await state_->handler(request, peer_);
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }
    // The path only: a query string can carry a client's token.
    const std::string_view target = request.target();
    state_->log_error("handler failed on " + std::string(request.method_string()) + " " +
                      std::string(target.substr(0, target.find('?'))) + ": " + failure);
    co_return json_error_response(500, "server_error", "internal_error", "internal server error");
}

std::optional<Connection::Rejection> Connection::header_rejection(const beast::error_code& ec,
                                                                  const Request& head) const {
    if (ec == http::error::body_limit) {  // Content-Length too large: the body is never read
        return Rejection{payload_too_large(head.version()), label_for(head)};
    }
    if (ec == http::error::header_limit) {
        // The parser fills in the target once the request line is complete: without one, the
        // request line alone did not fit.
        if (head.target().empty()) {
            return Rejection{json_error_response(414, "validation_error", "uri_too_long",
                                                 "request target too long"),
                             std::string(kInvalidLabel)};
        }
        return Rejection{json_error_response(431, "validation_error", "headers_too_large",
                                             "request header fields too large"),
                         std::string(kInvalidLabel)};
    }
    if (is_parse_error(ec)) {
        return Rejection{json_error_response(400, "validation_error", "malformed_http",
                                             "malformed HTTP request: " + ec.message()),
                         std::string(kInvalidLabel)};
    }
    if (!ec && head.target().size() > state_->limits.max_target_bytes) {
        return Rejection{
            json_error_response(414, "validation_error", "uri_too_long", "request target too long"),
            std::string(kInvalidLabel)};
    }
    return std::nullopt;
}

std::optional<Connection::Rejection> Connection::body_rejection(const beast::error_code& ec,
                                                                const Request& head) const {
    if (ec == http::error::body_limit) {  // a chunked body grew too large
        return Rejection{payload_too_large(head.version()), label_for(head)};
    }
    if (is_parse_error(ec)) {
        return Rejection{json_error_response(400, "validation_error", "malformed_http",
                                             "malformed HTTP body: " + ec.message()),
                         label_for(head)};
    }
    return std::nullopt;
}

// Answers, then closes: the rest of what the client sends is not read.
asio::awaitable<void> Connection::reject(Rejection& rejection, Clock::time_point started) {
    finalize(rejection.response, rejection.response.version(), false);
    record(rejection.label, rejection.response.result_int(), started);
    const bool written = co_await write(rejection.response);
    if (written) co_await linger_close();
}

asio::awaitable<bool> Connection::write(Response& response) {
    const std::string head = response_head(response);
    const std::array<asio::const_buffer, 2> message{asio::buffer(head),
                                                    asio::buffer(response.body())};
    // An answer usually fits in the socket's send buffer: written at once (the socket is
    // non-blocking), without the async write's trip through the event loop. What does not fit
    // follows asynchronously, within the write deadline.
    beast::error_code ec;
    const std::size_t sent = stream_.socket().write_some(message, ec);
    if (ec && ec != asio::error::would_block) co_return false;
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(message);
    rest.consume(sent);
    if (asio::buffer_size(rest) == 0) co_return true;
    stream_.expires_after(state_->limits.write_timeout);
    auto [write_ec, n] = co_await asio::async_write(stream_, rest, use_tuple);
    co_return !write_ec;
}

// Stop sending, then discard what the client still sends until it closes or linger_timeout
// passes: closing a socket with unread input resets the connection, and a reset can destroy
// the answer before the client reads it.
asio::awaitable<void> Connection::linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(state_->limits.linger_timeout);
    std::array<char, 8192> sink;
    for (;;) {
        auto [ec, n] = co_await stream_.async_read_some(asio::buffer(sink), use_tuple);
        if (ec) break;
    }
    stream_.close();
}

Response Connection::payload_too_large(unsigned version) const {
    return json_error_response(
        413, "validation_error", "payload_too_large",
        "request body larger than " + std::to_string(state_->limits.max_body_bytes) + " bytes",
        version == 10 ? 10 : 11);
}

std::string Connection::label_for(const Request& request) const {
    if (state_->labeler) {
        try {
            return state_->labeler(request);
        } catch (...) {
        }
    }
    return std::string(kOtherLabel);
}

void Connection::record(std::string_view label, unsigned status, Clock::time_point started) const {
    if (state_->metrics) state_->metrics->record_request(label, status, Clock::now() - started);
}

bool Connection::finalize(Response& response, unsigned version, bool client_keeps_alive,
                          bool head_request) const {
    const bool handler_closes = http::token_list(response[http::field::connection]).exists("close");
    const bool keep_alive = client_keeps_alive && !handler_closes && !state_->stopped;
    response.version(version == 10 ? 10 : 11);
    response.keep_alive(keep_alive);
    response.set(http::field::server, "flag-decide");
    if (response.find(http::field::content_type) == response.end()) {
        response.set(http::field::content_type, "application/json");
    }
    if (answer_without_body(response.result_int())) {
        response.body().clear();
        response.erase(http::field::content_length);
        response.erase(http::field::transfer_encoding);
    } else {
        response.content_length(response.body().size());
        if (head_request) response.body().clear();  // the length is the GET answer's
    }
    return keep_alive;
}

}  // namespace

asio::awaitable<void> HttpServerState::accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer backoff(executor);
    while (!stopped) {
        HttpWorker& worker = *workers[next_worker];
        next_worker = (next_worker + 1) % workers.size();
        auto [ec, socket] = co_await acceptor.async_accept(worker.executor, use_tuple);
        if (stopped) co_return;
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            // Out of file descriptors and the like: retrying at once would spin the loop.
            log_error("accept failed: " + ec.message());
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        if (open.load() >= limits.max_connections) {
            refuse_over_capacity(socket);
            continue;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        socket.non_blocking(true, ignored);  // Connection::write tries a write at once
        asio::co_spawn(
            worker.executor,
            [](std::shared_ptr<HttpServerState> state, HttpWorker& on,
               tcp::socket s) -> asio::awaitable<void> {
                Connection connection(std::move(state), on, std::move(s));
                co_await connection.run();
            }(self, worker, std::move(socket)),
            [self](std::exception_ptr failure) {
                if (!failure) return;
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& e) {
                    self->log_error(std::string("connection failed: ") + e.what());
                } catch (...) {
                    self->log_error("connection failed: unknown exception");
                }
            });
    }
}

// Beyond max_connections: a 503 written without waiting (a fresh socket's send buffer has room
// for it; if not, the client just sees the close), then closed.
void HttpServerState::refuse_over_capacity(tcp::socket& socket) {
    static const std::string kBusy = [] {
        const std::string body =
            R"({"type":"server_error","code":"too_many_connections","detail":"try again later"})";
        return "HTTP/1.1 503 Service Unavailable\r\nServer: flag-decide\r\n"
               "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ignored);
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
    if (metrics) metrics->record_connection_rejected();
}

HttpServer::HttpServer(asio::any_io_executor executor, tcp::endpoint endpoint, HttpLimits limits,
                       Handler handler, Metrics* metrics,
                       std::vector<asio::any_io_executor> workers)
    : state_(std::make_shared<HttpServerState>(std::move(executor), endpoint, limits,
                                               std::move(handler), metrics, std::move(workers))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::set_endpoint_labeler(EndpointLabeler labeler) {
    state_->labeler = std::move(labeler);
}

void HttpServer::set_error_log(ErrorLog log) { state_->error_log = std::move(log); }

void HttpServer::set_response_decorator(ResponseDecorator decorator) {
    state_->decorator = std::move(decorator);
}

void HttpServer::start() {
    if (state_->started) return;
    state_->started = true;
    auto state = state_;
    asio::co_spawn(state->executor, state->accept_loop(), [state](std::exception_ptr failure) {
        if (!failure) return;
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            state->log_error(std::string("accept loop ended: ") + e.what());
        } catch (...) {
            state->log_error("accept loop ended: unknown exception");
        }
    });
}

void HttpServer::stop() {
    asio::dispatch(state_->executor, [state = state_] { state->shut_down(); });
}

tcp::endpoint HttpServer::local_endpoint() const { return state_->bound; }

std::size_t HttpServer::open_connections() const { return state_->open.load(); }

}  // namespace flag_eval::decide
