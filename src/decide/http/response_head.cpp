#include "decide/http/response_head.hpp"

#include <charconv>

namespace flag_eval::decide {

std::string response_head(const Response& response) {
    std::string head;
    head.reserve(256);
    head += response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char status[8];
    head.append(status, std::to_chars(status, status + sizeof status, response.result_int()).ptr);
    head += ' ';
    const auto reason = response.reason();
    head.append(reason.data(), reason.size());
    head += "\r\n";
    for (const auto& field : response) {
        const auto name = field.name_string();
        const auto value = field.value();
        head.append(name.data(), name.size());
        head += ": ";
        head.append(value.data(), value.size());
        head += "\r\n";
    }
    head += "\r\n";
    return head;
}

}  // namespace flag_eval::decide
