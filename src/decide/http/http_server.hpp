// flag-decide's HTTP/1.1 front: accepts connections, reads requests within limits and deadlines,
// hands each one to the service's handler coroutine and writes the answer. One executor accepts;
// each connection then lives on one of the worker executors (one io_context and thread each),
// taken in turn, and everything about it runs there, so connections need no locks. Nothing here
// blocks a worker, so thousands of slow or idle clients cost memory, never the fast clients'
// latency. The handler, labeler and decorator are called from every worker thread at once.
//
// What the server enforces itself, before the handler sees a request:
//   - body over max_body_bytes: 413 (judged from Content-Length without reading the body, or
//     while reading a chunked one), then the connection is closed;
//   - header block over max_header_bytes: 431; request target over max_target_bytes: 414;
//   - malformed HTTP: 400, then close;
//   - deadlines: header_timeout from a connection's first byte (or its opening) to the end of the
//     headers (slowloris), body_timeout for the body, idle_timeout between keep-alive requests,
//     write_timeout for writing a response; a client that misses one is disconnected;
//   - beyond max_connections, a new connection gets a best-effort 503 and is closed at once, so
//     the listen backlog never fills.
// A handler that throws gets the client a 500 JSON answer; the error is logged once and the
// connection stays usable.
#pragma once

#include "decide/config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

class Metrics;
class HttpServerState;  // the implementation's, shared with its coroutines

// The body and connection limits are settings, taken from the configuration; the other limits
// are not settings and keep their values here.
struct HttpLimits {
    explicit HttpLimits(const Config& config)
        : max_body_bytes(config.max_body_bytes), max_connections(config.max_connections) {}

    std::size_t max_body_bytes;
    // Request line and header fields together. Beast applies it to the part not yet parsed, so
    // a header block sent in pieces can reach about twice this before it is refused.
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_target_bytes = 8 * 1024;
    std::chrono::milliseconds header_timeout{5000};
    std::chrono::milliseconds idle_timeout{30000};
    std::chrono::milliseconds body_timeout{10000};
    std::chrono::milliseconds write_timeout{10000};
    // After an error answer the server stops sending and drains what the client still sends for
    // at most this long, so the client reads the answer instead of a connection reset.
    std::chrono::milliseconds linger_timeout{1000};
    std::size_t max_connections;
};

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
// Called with the request and the address of the TCP peer that sent it.
using Handler =
    std::function<boost::asio::awaitable<Response>(Request&, const boost::asio::ip::address& peer)>;

// The handler names the endpoint a request counted under in the metrics by setting this field
// on its response; the server removes it before sending.
inline constexpr std::string_view kEndpointLabelField = "X-Flag-Decide-Endpoint";

// Names requests the handler did not label (it threw, or the server rejected the body); the
// default counts them all under "other". Requests too malformed to parse count as "invalid".
using EndpointLabeler = std::function<std::string(const Request&)>;

// Adds headers to every response to a request whose headers were read, the handler's and the
// server's own error answers alike (CORS headers, so a page can read a 413 too).
using ResponseDecorator = std::function<void(const Request& request, Response& response)>;

// Where the server reports handler exceptions and accept failures; default: standard error.
using ErrorLog = std::function<void(std::string_view)>;

class HttpServer {
public:
    // `metrics` (optional) must outlive the executors' running of this server's work.
    // Binds and listens at once (throws boost::system::system_error when the address is taken);
    // start() begins accepting. Port 0 picks a free port: see local_endpoint().
    // Connections are served on `workers` in turn (on `executor` itself when there are none).
    HttpServer(boost::asio::any_io_executor executor, boost::asio::ip::tcp::endpoint endpoint,
               HttpLimits limits, Handler handler, Metrics* metrics = nullptr,
               std::vector<boost::asio::any_io_executor> workers = {});
    ~HttpServer();  // stop()s
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Set these before start().
    void set_endpoint_labeler(EndpointLabeler labeler);
    void set_response_decorator(ResponseDecorator decorator);
    void set_error_log(ErrorLog log);

    void start();
    // Closes the listening socket and every connection. Callable from any thread; it takes
    // effect on the executors' threads.
    void stop();

    boost::asio::ip::tcp::endpoint local_endpoint() const;
    // Connections open now (callable from any thread).
    std::size_t open_connections() const;

private:
    std::shared_ptr<HttpServerState> state_;
};

// The value of a request header field; empty when absent.
std::string_view header_value(const Request& request, boost::beast::http::field field);

// A JSON error answer in PostHog's shape: {"type", "code", "detail", "attr": null}.
Response json_error_response(unsigned status, std::string_view type, std::string_view code,
                             std::string_view detail, unsigned version = 11);

}  // namespace flag_eval::decide
