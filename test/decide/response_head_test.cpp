// The bytes of a response's head: what every client parses before the body.
#include "decide/http/response_head.hpp"

#include <gtest/gtest.h>

namespace flag_eval::decide {
namespace {

namespace http = boost::beast::http;

TEST(ResponseHead, StatusLineThenEveryFieldInOrderThenABlankLine) {
    Response response{http::status::ok, 11};
    response.set(http::field::content_type, "application/json");
    response.set("X-Flag-Decide-Definitions-Age", "0.250");
    response.content_length(2);
    response.body() = "{}";
    EXPECT_EQ(response_head(response),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: application/json\r\n"
              "X-Flag-Decide-Definitions-Age: 0.250\r\n"
              "Content-Length: 2\r\n"
              "\r\n");
}

TEST(ResponseHead, KeepsTheVersionAndTheReasonOfTheStatus) {
    Response response{http::status::service_unavailable, 10};
    response.keep_alive(true);
    EXPECT_EQ(response_head(response),
              "HTTP/1.0 503 Service Unavailable\r\nConnection: keep-alive\r\n\r\n");
}

TEST(ResponseHead, ACustomReasonIsSentAsSet) {
    Response response{http::status::too_many_requests, 11};
    response.reason("Slow Down");
    EXPECT_EQ(response_head(response), "HTTP/1.1 429 Slow Down\r\n\r\n");
}

}  // namespace
}  // namespace flag_eval::decide
