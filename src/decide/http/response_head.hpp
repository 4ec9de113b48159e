// A response's status line and header block as HTTP/1.1 sends them, so that head and body go out
// in one gather write: Beast's serializer walked a chain of buffer views per write, 7 % of an
// in-process answer's CPU (bench/SERVICE_PROFILE.md).
#pragma once

#include "decide/http/http_server.hpp"

#include <string>

namespace flag_eval::decide {

// "HTTP/1.x <status> <reason>\r\n", every field as "Name: value\r\n", and the blank line. The
// fields are sent as they are: finalize() has set Content-Length and Connection already.
std::string response_head(const Response& response);

}  // namespace flag_eval::decide
