// The rate limits through the real service and HTTP server: what counts against a token and an
// address, what a 429 looks like (PostHog's body, Retry-After, CORS), the warning header, and
// that one token or address over its limit leaves the others their answers. The teams' flags
// need nothing stored, so no database is involved; the rate limits' clock is the test's.
#include "decide/api/service.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace flag_eval::decide {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using ClientResponse = http::response<http::string_body>;

const RateLimiter::Clock::time_point t0 = RateLimiter::Clock::time_point(1000s);

// Teams phc_1 and phc_2 (secret tokens phs_1, phs_2), each with one flag on for everyone.
std::string definitions() {
    json::array teams;
    for (int id : {1, 2}) {
        json::object definitions;
        definitions["flags"] = json::array{json::parse(
            R"({"id": 1, "key": "on", "active": true, "deleted": false, "version": 1,
                "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}})")};
        definitions["group_type_mapping"] = json::object{};
        definitions["cohorts"] = json::object{};
        definitions["static_cohort_ids"] = json::array{};
        teams.push_back(json::object{{"id", id},
                                     {"api_token", "phc_" + std::to_string(id)},
                                     {"secret_token", "phs_" + std::to_string(id)},
                                     {"bucketing", "xxh3"},
                                     {"definitions", std::move(definitions)}});
    }
    return json::serialize(json::object{{"version", 1}, {"teams", std::move(teams)}});
}

std::string flags_request(std::string_view token, std::string_view extra_headers = "",
                          std::string_view path = "/flags?v=2") {
    const std::string body =
        R"({"token": ")" + std::string(token) + R"(", "distinct_id": "user-1"})";
    return "POST " + std::string(path) +
           " HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" + body;
}

std::string get_request(std::string_view target, std::string_view extra_headers = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" +
           std::string(extra_headers) + "\r\n";
}

std::string code_of(const ClientResponse& response) {
    return std::string(json::parse(response.body()).at("code").as_string());
}

class ServiceRateLimitTest : public ::testing::Test {
protected:
    void start(Config config) {
        config_ = std::move(config);
        config_.routes = {{"nowhere", RouteRole::Replica, "host=127.0.0.1 port=1 dbname=none"}};
        ASSERT_TRUE(cache_.apply(definitions()).ok);
        routes_ =
            std::make_unique<RouteSet>(io_.get_executor(), config_.routes, RouteOptions(config_));
        service_ = std::make_unique<Service>(config_, cache_, *routes_, metrics_, [this] {
            return t0 + std::chrono::milliseconds(elapsed_ms_.load());
        });
        server_ = std::make_unique<HttpServer>(
            io_.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
            HttpLimits(config_),
            [this](Request& request, const asio::ip::address& peer) {
                return service_->handle(request, peer);
            },
            &metrics_);
        server_->set_response_decorator([this](const Request& request, Response& response) {
            service_->add_cors_headers(request, response);
        });
        server_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        if (server_) server_->stop();
        guard_.reset();
        for (int i = 0; i < 5000 && thread_.joinable() && !io_.stopped(); ++i)
            std::this_thread::sleep_for(1ms);  // polling, not a synchronisation
        io_.stop();
        if (thread_.joinable()) thread_.join();
        server_.reset();
        service_.reset();
        routes_.reset();
    }

    // One request on a connection of its own from `source` (any 127.0.0.0/8 address); the
    // answer, read to the server's close within three seconds, or nullopt.
    std::optional<ClientResponse> exchange(std::string_view source, const std::string& request) {
        asio::io_context io;
        tcp::socket socket(io);
        socket.open(tcp::v4());
        socket.bind(tcp::endpoint(asio::ip::make_address(source), 0));
        socket.connect(server_->local_endpoint());
        asio::write(socket, asio::buffer(request));
        std::string received;
        const auto deadline = std::chrono::steady_clock::now() + 3s;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{socket.native_handle(), POLLIN, 0};
            if (left <= 0ms || ::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0)
                return std::nullopt;
            char chunk[65536];
            const ssize_t n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
            if (n <= 0) break;
            received.append(chunk, static_cast<std::size_t>(n));
        }
        http::response_parser<http::string_body> parser;
        parser.eager(true);
        boost::system::error_code ec;
        parser.put(asio::buffer(received), ec);
        if (!parser.is_done()) parser.put_eof(ec);
        if (!parser.is_done()) return std::nullopt;
        return parser.release();
    }

    unsigned status(std::string_view source, const std::string& request) {
        const auto response = exchange(source, request);
        return response ? response->result_int() : 0;
    }

    Config config_;
    DefinitionsCache cache_;
    Metrics metrics_;
    std::atomic<std::int64_t> elapsed_ms_{0};
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
    std::unique_ptr<RouteSet> routes_;
    std::unique_ptr<Service> service_;
    std::unique_ptr<HttpServer> server_;
    std::thread thread_;
};

TEST_F(ServiceRateLimitTest, ATokenOverItsLimitGets429WhileAnotherTokenIsAnswered) {
    Config config;
    config.rate_limit_per_token = 1;
    config.rate_limit_per_token_burst = 3;
    start(config);
    const std::string origin = "Origin: https://app.example\r\n";

    for (int i = 0; i < 2; ++i) {
        const auto response = exchange("127.0.0.1", flags_request("phc_1", origin));
        ASSERT_TRUE(response);
        EXPECT_EQ(response->result_int(), 200);
        EXPECT_EQ(response->find(kRateLimitWarningHeader), response->end());
    }
    // The third of three: more than 80 % of the burst used, answered with PostHog's warning.
    const auto warned = exchange("127.0.0.1", flags_request("phc_1", origin));
    ASSERT_TRUE(warned);
    EXPECT_EQ(warned->result_int(), 200);
    EXPECT_EQ((*warned)[kRateLimitWarningHeader], "true");
    EXPECT_EQ((*warned)[http::field::access_control_expose_headers],
              "X-PostHog-Rate-Limit-Warning");

    const auto refused = exchange("127.0.0.1", flags_request("phc_1", origin));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->result_int(), 429);
    const json::object body = json::parse(refused->body()).as_object();
    EXPECT_EQ(body.at("type"), "validation_error");
    EXPECT_EQ(body.at("code"), "rate_limit_exceeded");
    EXPECT_EQ(body.at("detail"), "rate limit exceeded for this token");
    EXPECT_TRUE(body.at("attr").is_null());
    EXPECT_EQ((*refused)[http::field::content_type], "application/json");
    EXPECT_EQ((*refused)[http::field::retry_after], "1");
    EXPECT_EQ((*refused)[http::field::access_control_allow_origin], "*") << "a page may read it";
    EXPECT_EQ((*refused)[http::field::access_control_expose_headers], "Retry-After");
    EXPECT_EQ(refused->find(kRateLimitWarningHeader), refused->end());
    // /decide counts against the same token.
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1", "", "/decide?v=4")), 429u);

    // Another token from the same address is answered.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(status("127.0.0.1", flags_request("phc_2")), 200u);

    EXPECT_EQ(metrics_.rate_limited_total(RateLimitKind::token), 2u);
    EXPECT_EQ(metrics_.requests_total("flags", 429), 1u);
    EXPECT_EQ(metrics_.requests_total("decide", 429), 1u);
    EXPECT_EQ(metrics_.rate_limit_warned_total(RateLimitKind::token), 2u);
    EXPECT_EQ(service_->rate_limits().keys(RateLimitKind::token), 2u);
    EXPECT_EQ(service_->rate_limits().keys(RateLimitKind::address), std::nullopt);

    elapsed_ms_ = 1000;  // a request's worth has come back
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1")), 200u);
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1")), 429u);
}

TEST_F(ServiceRateLimitTest, AnAddressOverItsLimitGets429BeforeItsBodyIsDecoded) {
    Config config;
    config.rate_limit_per_address = 1;
    config.rate_limit_per_address_burst = 2;
    start(config);
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1")), 200u);
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1")), 200u);
    // A body that would get 400 gets 429: it is never decoded.
    const std::string broken =
        "POST /flags?v=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 5\r\n\r\n"
        "{nope";
    const auto refused = exchange("127.0.0.1", broken);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->result_int(), 429);
    EXPECT_EQ(code_of(*refused), "rate_limit_exceeded");
    EXPECT_EQ(json::parse(refused->body()).at("detail"),
              "rate limit exceeded for this client address");
    EXPECT_EQ((*refused)[http::field::retry_after], "1");
    EXPECT_EQ(status("127.0.0.1", get_request("/array/phc_1/config")), 429u);
    EXPECT_EQ(status("127.0.0.1", get_request("/e")), 429u) << "every public path counts";

    // Another address is answered.
    EXPECT_EQ(status("127.0.0.2", flags_request("phc_1")), 200u);
    // The operator's endpoints and preflights do not count.
    EXPECT_EQ(status("127.0.0.1", get_request("/healthz")), 200u);
    EXPECT_EQ(status("127.0.0.1", get_request("/readyz")), 200u);
    EXPECT_EQ(status("127.0.0.1", get_request("/metrics")), 200u);
    const std::string preflight =
        "OPTIONS /flags HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n\r\n";
    EXPECT_EQ(status("127.0.0.1", preflight), 204u);

    EXPECT_EQ(metrics_.rate_limited_total(RateLimitKind::address), 3u);
    EXPECT_EQ(metrics_.rate_limited_total(RateLimitKind::token), 0u);
    EXPECT_EQ(service_->rate_limits().keys(RateLimitKind::address), 2u);
}

TEST_F(ServiceRateLimitTest, XForwardedForNamesTheClientOnlyWhenATrustedProxySendsIt) {
    Config config;
    config.rate_limit_per_address = 1;
    config.rate_limit_per_address_burst = 1;
    config.trusted_proxies = {"127.0.0.1"};
    start(config);
    const auto from = [](std::string_view chain) {
        return "X-Forwarded-For: " + std::string(chain) + "\r\n";
    };
    // Behind the trusted proxy, each client has its own bucket.
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1", from("203.0.113.7"))), 200u);
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1", from("203.0.113.7"))), 429u);
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1", from("203.0.113.8"))), 200u);
    // What the client wrote before the proxy added its address does not help it.
    EXPECT_EQ(status("127.0.0.1", flags_request("phc_1", from("198.51.100.9, 203.0.113.7"))), 429u);
    // A peer that is not a trusted proxy is counted as itself, whatever it claims.
    EXPECT_EQ(status("127.0.0.2", flags_request("phc_1", from("198.51.100.1"))), 200u);
    EXPECT_EQ(status("127.0.0.2", flags_request("phc_1", from("198.51.100.2"))), 429u);
}

TEST_F(ServiceRateLimitTest, UnknownTokensAreNotCountedOnceDefinitionsAreLoaded) {
    Config config;
    config.rate_limit_per_token = 1;
    config.rate_limit_per_token_burst = 1;
    start(config);
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(status("127.0.0.1", flags_request("phc_random_" + std::to_string(i))), 401u);
    EXPECT_EQ(service_->rate_limits().keys(RateLimitKind::token), 0u) << "no memory taken";
    EXPECT_EQ(metrics_.rate_limited_total(RateLimitKind::token), 0u);
}

TEST_F(ServiceRateLimitTest, RemoteConfigAndTheFeedCountAgainstTheirToken) {
    Config config;
    config.rate_limit_per_token = 1;
    config.rate_limit_per_token_burst = 2;
    start(config);
    for (int i = 0; i < 2; ++i)
        EXPECT_EQ(status("127.0.0.1", get_request("/array/phc_1/config")), 200u);
    const auto refused = exchange("127.0.0.1", get_request("/array/phc_1/config.js"));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->result_int(), 429);
    EXPECT_EQ((*refused)[http::field::access_control_allow_origin], "*");

    const std::string feed =
        get_request("/flags/definitions?token=phc_2", "Authorization: Bearer phs_2\r\n");
    EXPECT_EQ(status("127.0.0.1", feed), 200u);
    EXPECT_EQ(status("127.0.0.1", feed), 200u);
    const auto feed_refused = exchange("127.0.0.1", feed);
    ASSERT_TRUE(feed_refused);
    EXPECT_EQ(feed_refused->result_int(), 429);
    EXPECT_EQ((*feed_refused)[http::field::retry_after], "1");
    EXPECT_EQ(feed_refused->find(http::field::access_control_allow_origin), feed_refused->end())
        << "the feed is never readable cross-origin, its 429 included";
}

}  // namespace
}  // namespace flag_eval::decide
