// An HTTP request body as PostHog SDKs send it, turned into JSON text: plain JSON, gzip or zlib
// (Content-Encoding, `compression=gzip-js`, or gzip magic bytes), base64 (`compression=base64`),
// or a form body whose `data` field holds base64 JSON (posthog-js legacy).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace flag_eval::decide {

// 400: malformed or undecodable; 413: larger than allowed once decoded.
struct BodyError {
    int status = 400;
    std::string message;
};

// `content_encoding` and `content_type` are the header values ("" when absent),
// `compression_query_param` the value of the `compression` query parameter ("" when absent).
// The decoded text is never allowed to grow past `max_decoded_bytes` (a gzip bomb is a 413,
// found without inflating it whole). Never throws.
std::variant<std::string, BodyError> decode_body(std::string_view body,
                                                 std::string_view content_encoding,
                                                 std::string_view content_type,
                                                 std::string_view compression_query_param,
                                                 std::size_t max_decoded_bytes);

// The building blocks, exposed for tests and for other bodies.

// zlib inflate with windowBits 15+32 (gzip or zlib, detected); concatenated gzip members are
// joined. 400 for corrupt or truncated input, 413 past `max_output_bytes`.
std::variant<std::string, BodyError> inflate_body(std::string_view compressed,
                                                  std::size_t max_output_bytes);

// Standard or url-safe base64, padding optional, whitespace ignored. 400 when not base64.
std::variant<std::string, BodyError> decode_base64(std::string_view text);

// %XX escapes decoded; a malformed escape is kept as written. '+' is kept (see the .cpp).
std::string percent_decode(std::string_view text);

}  // namespace flag_eval::decide
