// HttpServer over real sockets on 127.0.0.1: the server accepts on its own io_context thread and
// serves there (parameter 0) or on two worker io_contexts with a thread each (parameter 2), every
// test both ways; the test is a raw-socket client whose waits are poll(2) with deadlines, never
// sleeps.
#include "decide/http/http_server.hpp"
#include "decide/metrics.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <poll.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace flag_eval::decide {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ClientResponse = http::response<http::string_body>;

// Polls `condition` until it holds or `timeout` passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = Clock::now() + timeout;
    while (!condition()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(1ms);  // polling interval, not a synchronisation
    }
    return true;
}

// A blocking socket whose reads wait with poll(2) up to a deadline.
class RawClient {
public:
    explicit RawClient(tcp::endpoint server) : socket_(io_) { socket_.connect(server); }
    // Connects from `source` (any 127.0.0.0/8 address works on loopback).
    RawClient(tcp::endpoint server, const asio::ip::address& source) : socket_(io_) {
        socket_.open(server.protocol());
        socket_.bind(tcp::endpoint(source, 0));
        socket_.connect(server);
    }

    void send(std::string_view bytes) {
        asio::write(socket_, asio::buffer(bytes.data(), bytes.size()));
    }

    // Sends, ignoring a peer that has already closed (the test then checks what it answered).
    bool try_send(std::string_view bytes) {
        boost::system::error_code ec;
        asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
        return !ec;
    }

    // The next response, or nullopt if the connection closed or `timeout` passed first.
    std::optional<ClientResponse> read_response(std::chrono::milliseconds timeout = 3000ms) {
        http::response_parser<http::string_body> parser;
        parser.eager(true);
        parser.body_limit(64 << 20);
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            if (buffer_.size() > 0) {
                boost::system::error_code ec;
                const std::size_t used = parser.put(buffer_.data(), ec);
                buffer_.consume(used);
                if (parser.is_done()) return parser.release();
                if (ec && ec != http::error::need_more) return std::nullopt;
                if (used > 0) continue;
            }
            if (!fill(deadline)) {
                if (closed_ && parser.got_some()) {
                    boost::system::error_code ec;
                    parser.put_eof(ec);
                    if (!ec && parser.is_done()) return parser.release();
                }
                return std::nullopt;
            }
        }
    }

    // True once the server closes the connection (EOF or reset) within `timeout`; whatever it
    // sends before is discarded.
    bool closed_within(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (!closed_) {
            buffer_.clear();
            if (!fill(deadline) && !closed_) return false;
        }
        return true;
    }

    bool closed() const { return closed_; }

private:
    // Reads what is available, waiting until `deadline`; false on timeout or close.
    bool fill(Clock::time_point deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms) return false;
        pollfd p{socket_.native_handle(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) return false;
        boost::system::error_code ec;
        const std::size_t n = socket_.read_some(buffer_.prepare(64 * 1024), ec);
        buffer_.commit(n);
        if (ec) {
            closed_ = true;
            return false;
        }
        return true;
    }

    asio::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
    bool closed_ = false;
};

std::string get(std::string_view target, std::string_view extra_headers = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" +
           std::string(extra_headers) + "\r\n";
}

std::string post(std::string_view target, std::string_view body) {
    return "POST " + std::string(target) +
           " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// Answers 200 with "<method> <target> <body>"; /boom throws; labels requests "echo".
asio::awaitable<Response> echo_handler(Request& request, const asio::ip::address&) {
    if (request.target().starts_with("/boom")) throw std::runtime_error("boom");
    Response response{http::status::ok, request.version()};
    response.set(http::field::content_type, "text/plain");
    response.set(kEndpointLabelField, "echo");
    response.body() = std::string(request.method_string()) + " " + std::string(request.target()) +
                      " " + request.body();
    co_return response;
}

class HttpServerTest : public ::testing::TestWithParam<int> {
protected:
    void start(HttpLimits limits, Handler handler = echo_handler, EndpointLabeler labeler = {}) {
        handler_calls_ = std::make_shared<std::atomic<int>>(0);
        auto calls = handler_calls_;
        server_ = std::make_unique<HttpServer>(
            io_.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), limits,
            [calls, handler](Request& request, const asio::ip::address& peer) {
                ++*calls;
                return handler(request, peer);
            },
            &metrics_, start_workers());
        if (labeler) server_->set_endpoint_labeler(std::move(labeler));
        server_->set_error_log([this](std::string_view message) {
            std::lock_guard lock(log_mutex_);
            log_.emplace_back(message);
        });
        server_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        if (server_) {
            server_->stop();
            EXPECT_TRUE(eventually([&] { return server_->open_connections() == 0; }));
        }
        // Every loop runs out of work, as flag-decide's main lets them: an operation left pending
        // in one loop (the accept of a socket for a worker's loop) must not outlive the other.
        guard_.reset();
        for (auto& worker : workers_) worker->guard.reset();
        EXPECT_TRUE(eventually(
            [&] {
                if (thread_.joinable() && !io_.stopped()) return false;
                for (const auto& worker : workers_)
                    if (!worker->io.stopped()) return false;
                return true;
            },
            5000ms));
        io_.stop();
        if (thread_.joinable()) thread_.join();
        for (auto& worker : workers_) {
            worker->io.stop();
            worker->thread.join();
        }
        server_.reset();
    }

    // The parameter's worker io_contexts, each running on its own thread.
    std::vector<asio::any_io_executor> start_workers() {
        std::vector<asio::any_io_executor> executors;
        for (int i = 0; i < GetParam(); ++i) {
            auto& worker = workers_.emplace_back(std::make_unique<Worker>());
            executors.push_back(worker->io.get_executor());
            worker->thread = std::thread([w = worker.get()] { w->io.run(); });
        }
        return executors;
    }

    tcp::endpoint endpoint() const { return server_->local_endpoint(); }
    int handler_calls() const { return handler_calls_->load(); }
    std::vector<std::string> log() {
        std::lock_guard lock(log_mutex_);
        return log_;
    }

    Metrics metrics_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
    std::unique_ptr<HttpServer> server_;
    std::thread thread_;
    std::shared_ptr<std::atomic<int>> handler_calls_;
    std::mutex log_mutex_;
    std::vector<std::string> log_;
    struct Worker {
        asio::io_context io;
        asio::executor_work_guard<asio::io_context::executor_type> guard =
            asio::make_work_guard(io);
        std::thread thread;
    };
    std::vector<std::unique_ptr<Worker>> workers_;
};

INSTANTIATE_TEST_SUITE_P(Workers, HttpServerTest, ::testing::Values(0, 2),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

HttpLimits short_timeouts() {
    HttpLimits limits{Config{}};
    limits.header_timeout = 200ms;
    limits.idle_timeout = 200ms;
    limits.body_timeout = 200ms;
    limits.write_timeout = 1000ms;
    limits.linger_timeout = 200ms;
    return limits;
}

std::string json_code(const ClientResponse& response) {
    return std::string(boost::json::parse(response.body()).at("code").as_string());
}

TEST(HttpLimitsTest, TheSettingsComeFromTheConfig) {
    Config config;
    config.max_body_bytes = 123;
    config.max_connections = 7;
    const HttpLimits limits(config);
    EXPECT_EQ(limits.max_body_bytes, 123u);
    EXPECT_EQ(limits.max_connections, 7u);
    EXPECT_EQ(HttpLimits(Config{}).max_body_bytes, Config{}.max_body_bytes);
}

TEST_P(HttpServerTest, ListensOnAnEphemeralPort) {
    start(HttpLimits(Config{}));
    EXPECT_NE(endpoint().port(), 0);
    EXPECT_EQ(endpoint().address(), asio::ip::make_address("127.0.0.1"));
}

TEST_P(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
    start(HttpLimits(Config{}));
    RawClient client(endpoint());
    client.send(post("/flags?v=2", R"({"a":1})"));
    auto first = client.read_response();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->result_int(), 200);
    EXPECT_EQ(first->body(), R"(POST /flags?v=2 {"a":1})");
    EXPECT_TRUE(first->keep_alive());
    EXPECT_EQ((*first)[http::field::server], "flag-decide");
    EXPECT_EQ((*first)[http::field::content_type], "text/plain");
    EXPECT_EQ((*first)[http::field::content_length], std::to_string(first->body().size()));
    EXPECT_EQ(first->find(kEndpointLabelField), first->end()) << "the label field is internal";

    client.send(get("/second"));
    auto second = client.read_response();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->body(), "GET /second ");
    EXPECT_EQ(server_->open_connections(), 1u);
    EXPECT_FALSE(client.closed());
    EXPECT_EQ(metrics_.requests_total("echo", 200), 2u);
}

TEST_P(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
    start(HttpLimits(Config{}));
    RawClient client(endpoint());
    client.send(get("/one") + post("/two", "x") + get("/three"));
    for (std::string expected : {"GET /one ", "POST /two x", "GET /three "}) {
        auto response = client.read_response();
        ASSERT_TRUE(response) << expected;
        EXPECT_EQ(response->body(), expected);
    }
}

TEST_P(HttpServerTest, ConnectionCloseAndHttp10CloseAfterTheAnswer) {
    start(HttpLimits(Config{}));
    {
        RawClient client(endpoint());
        client.send(get("/bye", "Connection: close\r\n"));
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->result_int(), 200);
        EXPECT_FALSE(response->keep_alive());
        EXPECT_TRUE(client.closed_within(2000ms));
    }
    {
        RawClient client(endpoint());
        client.send("GET /old HTTP/1.0\r\n\r\n");
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->version(), 10u);
        EXPECT_EQ(response->body(), "GET /old ");
        EXPECT_TRUE(client.closed_within(2000ms));
    }
    {
        RawClient client(endpoint());  // HTTP/1.0 asking for keep-alive gets it
        client.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_TRUE(response->keep_alive());
        client.send("GET /b HTTP/1.0\r\n\r\n");
        ASSERT_TRUE(client.read_response());
    }
}

TEST_P(HttpServerTest, AnAnswerLargerThanTheSendBufferArrivesWholeAndTheConnectionGoesOn) {
    // Written in part at once and the rest as the client reads: 16 MiB is more than loopback's
    // socket buffers hold, whatever the kernel's settings.
    std::string big(16 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
    start(HttpLimits(Config{}),
          [&big](Request& request, const asio::ip::address&) -> asio::awaitable<Response> {
              Response response{http::status::ok, 11};
              response.body() = request.target() == "/big" ? big : "small";
              co_return response;
          });
    RawClient client(endpoint());
    client.send(get("/big") + get("/small"));
    auto first = client.read_response(10000ms);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->body().size(), big.size());
    EXPECT_TRUE(first->body() == big);
    auto second = client.read_response();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->body(), "small");
}

TEST_P(HttpServerTest, DefaultContentTypeIsJson) {
    start(HttpLimits(Config{}),
          [](Request&, const asio::ip::address&) -> asio::awaitable<Response> {
              Response response{http::status::ok, 11};
              response.body() = "{}";
              co_return response;
          });
    RawClient client(endpoint());
    client.send(get("/"));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ((*response)[http::field::content_type], "application/json");
    EXPECT_EQ((*response)[http::field::content_length], "2");
    EXPECT_EQ(metrics_.requests_total("other", 200), 1u) << "unlabelled requests count as other";
}

TEST_P(HttpServerTest, OversizedContentLengthGets413WithoutSendingTheBody) {
    HttpLimits limits{Config{}};
    limits.max_body_bytes = 1024;
    start(limits);
    RawClient client(endpoint());
    client.send("POST /flags HTTP/1.1\r\nHost: test\r\nContent-Length: 100000000\r\n\r\n");
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 413);
    EXPECT_EQ((*response)[http::field::content_type], "application/json");
    EXPECT_EQ(json_code(*response), "payload_too_large");
    EXPECT_FALSE(response->keep_alive());
    EXPECT_TRUE(client.closed_within(3000ms));
    EXPECT_EQ(handler_calls(), 0);
    EXPECT_EQ(metrics_.requests_total("other", 413), 1u);
}

TEST_P(HttpServerTest, ABodyAtTheLimitIsAccepted) {
    HttpLimits limits{Config{}};
    limits.max_body_bytes = 1024;
    start(limits);
    RawClient client(endpoint());
    client.send(post("/flags", std::string(1024, 'x')));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 200);
}

TEST_P(HttpServerTest, OversizedChunkedBodyGets413) {
    HttpLimits limits{Config{}};
    limits.max_body_bytes = 1024;
    start(limits);
    RawClient client(endpoint());
    std::string request =
        "POST /flags HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) request += "3e8\r\n" + std::string(1000, 'x') + "\r\n";
    request += "0\r\n\r\n";
    client.try_send(request);
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 413);
    EXPECT_EQ(json_code(*response), "payload_too_large");
    EXPECT_TRUE(client.closed_within(3000ms));
    EXPECT_EQ(handler_calls(), 0);
}

TEST_P(HttpServerTest, ChunkedBodyWithinTheLimitReachesTheHandler) {
    start(HttpLimits(Config{}));
    RawClient client(endpoint());
    client.send(
        "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body(), "POST /c abcde");
}

TEST_P(HttpServerTest, ExpectContinueGets100ThenTheAnswer) {
    start(HttpLimits(Config{}));
    RawClient client(endpoint());
    client.send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    auto interim = client.read_response();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->result_int(), 100);
    client.send("xyz");
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body(), "POST /e xyz");
}

TEST_P(HttpServerTest, HeadersTooLargeGet431) {
    HttpLimits limits{Config{}};
    limits.max_header_bytes = 4096;
    start(limits);
    RawClient client(endpoint());
    client.try_send(get("/", "X-Big: " + std::string(8000, 'a') + "\r\n"));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 431);
    EXPECT_EQ(json_code(*response), "headers_too_large");
    EXPECT_TRUE(client.closed_within(3000ms));
    EXPECT_EQ(metrics_.requests_total("invalid", 431), 1u);
}

TEST_P(HttpServerTest, HeadersSentInPiecesStillHitTheLimit) {
    HttpLimits limits{Config{}};
    limits.max_header_bytes = 4096;
    start(limits);
    RawClient client(endpoint());
    client.send("GET / HTTP/1.1\r\nHost: t\r\n");
    // 100 KiB of header fields, one at a time: the parser consumes complete fields as they come,
    // and the limit must still end it.
    for (int i = 0; i < 100; ++i) {
        if (!client.try_send("X-" + std::to_string(i) + ": " + std::string(1000, 'v') + "\r\n"))
            break;
    }
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 431);
    EXPECT_EQ(handler_calls(), 0);
}

TEST_P(HttpServerTest, TooLongTargetsGet414) {
    HttpLimits limits{Config{}};
    limits.max_header_bytes = 4096;
    limits.max_target_bytes = 1024;
    start(limits);
    {  // within the header limit, over the target limit
        RawClient client(endpoint());
        client.send(get("/" + std::string(2000, 'a')));
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->result_int(), 414);
        EXPECT_EQ(json_code(*response), "uri_too_long");
    }
    {  // the request line alone exceeds the header limit
        RawClient client(endpoint());
        client.try_send(get("/" + std::string(10000, 'a')));
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->result_int(), 414);
    }
    EXPECT_EQ(handler_calls(), 0);
}

TEST_P(HttpServerTest, MalformedRequestsGet400AndClose) {
    start(HttpLimits(Config{}));
    for (std::string garbage : {"this is not http\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                                "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
        RawClient client(endpoint());
        client.send(garbage);
        auto response = client.read_response();
        ASSERT_TRUE(response) << garbage;
        EXPECT_EQ(response->result_int(), 400) << garbage;
        EXPECT_EQ(json_code(*response), "malformed_http");
        EXPECT_TRUE(client.closed_within(3000ms)) << garbage;
    }
    EXPECT_EQ(handler_calls(), 0);
    EXPECT_EQ(metrics_.requests_total("invalid", 400), 3u);
}

TEST_P(HttpServerTest, SlowlorisIsDroppedAtTheHeaderTimeout) {
    start(short_timeouts());
    RawClient client(endpoint());
    const auto opened = Clock::now();
    client.send("GET / HTTP/1.1\r\n");
    // One header byte at a time, every 20 ms: each byte resets no timer, so the header deadline
    // (200 ms) ends the connection although the client never goes quiet.
    bool closed = false;
    while (!closed && Clock::now() - opened < 3s) {
        client.try_send("X");
        closed = client.closed_within(20ms);
    }
    const auto lasted = Clock::now() - opened;
    EXPECT_TRUE(closed);
    EXPECT_GE(lasted, 150ms);
    EXPECT_LT(lasted, 1500ms);
    EXPECT_EQ(handler_calls(), 0);
}

TEST_P(HttpServerTest, ASilentNewConnectionIsDroppedAtTheHeaderTimeout) {
    start(short_timeouts());
    RawClient client(endpoint());
    EXPECT_TRUE(client.closed_within(2000ms));
}

TEST_P(HttpServerTest, IdleKeepAliveConnectionIsClosedAtTheIdleTimeout) {
    start(short_timeouts());
    RawClient client(endpoint());
    client.send(get("/"));
    ASSERT_TRUE(client.read_response());
    const auto answered = Clock::now();
    EXPECT_FALSE(client.closed_within(100ms)) << "closed well before idle_timeout";
    EXPECT_TRUE(client.closed_within(2000ms));
    EXPECT_GE(Clock::now() - answered, 150ms);
}

TEST_P(HttpServerTest, SlowBodyIsDroppedAtTheBodyTimeout) {
    start(short_timeouts());
    RawClient client(endpoint());
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789");
    EXPECT_TRUE(client.closed_within(2000ms));
    EXPECT_EQ(handler_calls(), 0);
}

TEST_P(HttpServerTest, AClientThatNeverReadsItsAnswerIsDroppedAtTheWriteTimeout) {
    start(short_timeouts(), [](Request&, const asio::ip::address&) -> asio::awaitable<Response> {
        Response response{http::status::ok, 11};
        response.body() = std::string(16 << 20, 'x');  // more than the socket buffers hold
        co_return response;
    });
    RawClient client(endpoint());
    client.send(get("/big"));
    ASSERT_TRUE(eventually([&] { return handler_calls() == 1; }));
    EXPECT_TRUE(eventually([&] { return server_->open_connections() == 0; }, 5000ms))
        << "write_timeout is 1 s";
}

TEST_P(HttpServerTest, SlowClientsDoNotDelayAFastOne) {
    HttpLimits limits{
        Config{}};  // default, long timeouts: the slow clients stay for the whole test
    start(limits);
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 50; ++i) {
        slow.push_back(std::make_unique<RawClient>(endpoint()));
        if (i % 2 == 0) {
            slow.back()->send("POST /flags HTTP/1.1\r\nHost: t\r\n");  // headers unfinished
        } else {
            slow.back()->send("POST /flags HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n01");
        }
    }
    ASSERT_TRUE(eventually([&] { return server_->open_connections() == 50; }));

    RawClient fast(endpoint());
    const auto sent = Clock::now();
    fast.send(post("/flags", "{}"));
    auto response = fast.read_response(2000ms);
    const auto took = Clock::now() - sent;
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 200);
    EXPECT_LT(took, 500ms);
    for (auto& client : slow) EXPECT_FALSE(client->closed());
}

TEST_P(HttpServerTest, ConnectionsBeyondTheMaximumAreRefused) {
    HttpLimits limits{Config{}};
    limits.max_connections = 3;
    start(limits);
    std::vector<std::unique_ptr<RawClient>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<RawClient>(endpoint()));
        held.back()->send(get("/held"));
        ASSERT_TRUE(held.back()->read_response());
    }
    ASSERT_EQ(server_->open_connections(), 3u);

    RawClient extra(endpoint());
    auto refused = extra.read_response();  // a 503, or just the close if it raced the request
    if (refused) {
        EXPECT_EQ(refused->result_int(), 503);
    }
    EXPECT_TRUE(extra.closed_within(3000ms));
    EXPECT_TRUE(eventually([&] { return metrics_.connections_rejected_total() == 1; }));
    EXPECT_EQ(server_->open_connections(), 3u);

    held.pop_back();  // frees a place
    ASSERT_TRUE(eventually([&] { return server_->open_connections() == 2; }));
    RawClient admitted(endpoint());
    admitted.send(get("/again"));
    auto response = admitted.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 200);
}

TEST_P(HttpServerTest, AThrowingHandlerGets500AndTheServerGoesOn) {
    start(HttpLimits(Config{}));
    RawClient client(endpoint());
    client.send(get("/boom?token=secret"));
    auto failed = client.read_response();
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->result_int(), 500);
    EXPECT_EQ((*failed)[http::field::content_type], "application/json");
    EXPECT_EQ(json_code(*failed), "internal_error");
    EXPECT_EQ(failed->body().find("boom"), std::string::npos) << "no internals to the client";

    client.send(get("/fine"));
    auto next = client.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->result_int(), 200);

    RawClient other(endpoint());
    other.send(get("/other"));
    ASSERT_TRUE(other.read_response());

    const auto lines = log();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("GET /boom: boom"), std::string::npos) << lines[0];
    EXPECT_EQ(lines[0].find("secret"), std::string::npos) << "query strings are not logged";
    EXPECT_EQ(metrics_.requests_total("other", 500), 1u);
}

TEST_P(HttpServerTest, TheLabelerNamesUnlabelledRequests) {
    HttpLimits limits{Config{}};
    limits.max_body_bytes = 10;
    start(limits, echo_handler, [](const Request& request) {
        return request.target().starts_with("/flags") ? std::string("flags") : std::string("other");
    });
    RawClient client(endpoint());
    client.send("POST /flags?v=2 HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 413);
    EXPECT_EQ(metrics_.requests_total("flags", 413), 1u);
}

TEST_P(HttpServerTest, ConnectionsAreServedByTheWorkersInTurn) {
    auto threads = std::make_shared<std::mutex>();
    auto seen = std::make_shared<std::vector<std::thread::id>>();
    start(HttpLimits{Config{}},
          [threads, seen](Request& request,
                          const asio::ip::address& peer) -> asio::awaitable<Response> {
              {
                  std::lock_guard lock(*threads);
                  seen->push_back(std::this_thread::get_id());
              }
              co_return co_await echo_handler(request, peer);
          });
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 4; ++i) {
        auto& client = clients.emplace_back(std::make_unique<RawClient>(endpoint()));
        client->send(get("/turn"));
        const auto response = client->read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->body(), "GET /turn ");
    }
    std::lock_guard lock(*threads);
    ASSERT_EQ(seen->size(), 4u);
    std::set<std::thread::id> distinct(seen->begin(), seen->end());
    EXPECT_EQ(distinct.size(), GetParam() == 0 ? 1u : static_cast<std::size_t>(GetParam()));
    EXPECT_FALSE(distinct.contains(std::this_thread::get_id()));
}

TEST_P(HttpServerTest, TheHandlerIsToldThePeersAddress) {
    start(HttpLimits{Config{}},
          [](Request& request, const asio::ip::address& peer) -> asio::awaitable<Response> {
              Response response{http::status::ok, request.version()};
              response.body() = peer.to_string();
              co_return response;
          });
    for (const char* source : {"127.0.0.1", "127.0.0.2"}) {
        RawClient client(endpoint(), asio::ip::make_address(source));
        client.send(get("/who"));
        const auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->body(), source);
    }
}

TEST_P(HttpServerTest, StopClosesEveryConnection) {
    start(HttpLimits(Config{}));
    RawClient idle(endpoint());
    idle.send(get("/"));
    ASSERT_TRUE(idle.read_response());
    RawClient half(endpoint());
    half.send("GET / HTTP/1.1\r\n");
    ASSERT_TRUE(eventually([&] { return server_->open_connections() == 2; }));
    server_->stop();
    EXPECT_TRUE(idle.closed_within(2000ms));
    EXPECT_TRUE(half.closed_within(2000ms));
    EXPECT_TRUE(eventually([&] { return server_->open_connections() == 0; }));
    boost::system::error_code ec;
    asio::io_context io;
    tcp::socket late(io);
    late.connect(endpoint(), ec);
    EXPECT_TRUE(ec) << "the listening socket is closed";
}

TEST(HttpServerBind, ATakenPortThrows) {
    asio::io_context io;
    HttpServer first(io.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                     HttpLimits(Config{}), echo_handler);
    EXPECT_THROW(
        HttpServer(io.get_executor(), first.local_endpoint(), HttpLimits(Config{}), echo_handler),
        boost::system::system_error);
}

}  // namespace
}  // namespace flag_eval::decide
