#include "decide/http/request_body.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

namespace flag_eval::decide {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    });
    return out;
}

// "application/x-www-form-urlencoded; charset=utf-8" -> "application/x-www-form-urlencoded"
std::string media_type(std::string_view content_type) {
    return lower(trim(content_type.substr(0, content_type.find(';'))));
}

bool has_gzip_magic(std::string_view data) {
    return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
           static_cast<unsigned char>(data[1]) == 0x8b;
}

// A body that is already JSON (SDKs sometimes announce a compression they did not apply).
// Neither base64 nor gzip/zlib data can start with '{'.
bool looks_like_json(std::string_view data) {
    const std::string_view t = trim(data);
    return !t.empty() && t.front() == '{';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Standard and url-safe alphabets together: an SDK may use either.
int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

BodyError too_large(std::size_t limit) {
    return {413, "request body is larger than " + std::to_string(limit) + " bytes once decoded"};
}

struct InflateStream {
    z_stream z{};
    bool ready = false;
    ~InflateStream() {
        if (ready) inflateEnd(&z);
    }
};

// The `data` field of a form body, percent-decoded. A body without one is taken whole, as
// PostHog does for clients that drop the "data=" prefix.
std::string form_data_field(std::string_view form) {
    std::string_view rest = form;
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        if (percent_decode(trim(pair.substr(0, eq))) == "data")
            return percent_decode(pair.substr(eq + 1));
    }
    return percent_decode(form);
}

// Content-Encoding: true when the body is gzip/zlib, false when it is not encoded.
std::variant<bool, BodyError> compressed_by_header(std::string_view content_encoding) {
    bool compressed = false;
    std::string_view rest = content_encoding;
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string coding = lower(trim(rest.substr(0, comma)));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (coding.empty() || coding == "identity") continue;
        if ((coding == "gzip" || coding == "x-gzip" || coding == "deflate") && !compressed) {
            compressed = true;
            continue;
        }
        return BodyError{400, "unsupported Content-Encoding '" +
                                  std::string(trim(content_encoding)) +
                                  "' (gzip, deflate or identity)"};
    }
    return compressed;
}

// Base64 of JSON, or of gzip of JSON.
std::variant<std::string, BodyError> from_base64(std::string_view text,
                                                 std::size_t max_decoded_bytes) {
    if (looks_like_json(text)) return std::string(text);
    auto decoded = decode_base64(text);
    if (auto* error = std::get_if<BodyError>(&decoded)) return std::move(*error);
    std::string& bytes = std::get<std::string>(decoded);
    if (has_gzip_magic(bytes)) return inflate_body(bytes, max_decoded_bytes);
    return std::move(bytes);
}

}  // namespace

std::string percent_decode(std::string_view text) {
    // '+' is kept, not turned into a space: these bodies hold base64, where '+' is a digit, and
    // encodeURIComponent (posthog-js) writes a space as %20.
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

std::variant<std::string, BodyError> decode_base64(std::string_view text) {
    std::string out;
    out.reserve(text.size() / 4 * 3 + 3);
    std::uint32_t group = 0;
    int digits = 0;
    bool padding = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (is_space(c)) continue;
        if (c == '=') {
            padding = true;
            continue;
        }
        const int v = base64_value(c);
        if (v < 0 || padding)
            return BodyError{400,
                             "request body is not valid base64 (unexpected character at offset " +
                                 std::to_string(i) + ")"};
        group = (group << 6) | static_cast<std::uint32_t>(v);
        if (++digits == 4) {
            out.push_back(static_cast<char>(group >> 16));
            out.push_back(static_cast<char>(group >> 8));
            out.push_back(static_cast<char>(group));
            group = 0;
            digits = 0;
        }
    }
    // Missing padding is accepted: 2 or 3 trailing digits still make whole bytes.
    if (digits == 1) return BodyError{400, "request body is not valid base64 (truncated)"};
    if (digits == 2) out.push_back(static_cast<char>(group >> 4));
    if (digits == 3) {
        out.push_back(static_cast<char>(group >> 10));
        out.push_back(static_cast<char>(group >> 2));
    }
    return out;
}

std::variant<std::string, BodyError> inflate_body(std::string_view compressed,
                                                  std::size_t max_output_bytes) {
    if (compressed.empty()) return BodyError{400, "compressed request body is empty"};
    InflateStream stream;
    if (inflateInit2(&stream.z, 15 + 32) != Z_OK)
        return BodyError{500, "cannot start decompression (zlib)"};
    stream.ready = true;

    const auto* next = reinterpret_cast<const unsigned char*>(compressed.data());
    std::size_t remaining = compressed.size();
    std::string out;
    constexpr std::size_t chunk = 64 * 1024;
    for (;;) {
        if (stream.z.avail_in == 0 && remaining > 0) {
            const std::size_t feed = std::min<std::size_t>(remaining, UINT_MAX / 2);
            stream.z.next_in = const_cast<unsigned char*>(next);
            stream.z.avail_in = static_cast<uInt>(feed);
            next += feed;
            remaining -= feed;
        }
        // Room for at most one byte past the limit: enough to know it was exceeded, so a
        // gzip bomb costs max_output_bytes of memory, not what it would inflate to.
        const std::size_t room = std::min(chunk, max_output_bytes + 1 - out.size());
        const std::size_t before = out.size();
        out.resize(before + room);
        stream.z.next_out = reinterpret_cast<unsigned char*>(out.data() + before);
        stream.z.avail_out = static_cast<uInt>(room);
        const int rc = inflate(&stream.z, Z_NO_FLUSH);
        out.resize(before + room - stream.z.avail_out);
        if (out.size() > max_output_bytes) return too_large(max_output_bytes);

        if (rc == Z_STREAM_END) {
            const std::size_t left = stream.z.avail_in + remaining;
            if (left == 0) return out;
            // Another gzip member follows (gzip allows concatenation); anything else is junk.
            const std::string_view tail(reinterpret_cast<const char*>(stream.z.next_in),
                                        stream.z.avail_in);
            if (!has_gzip_magic(tail))
                return BodyError{400, "compressed request body has " + std::to_string(left) +
                                          " unexpected bytes after its end"};
            if (inflateReset(&stream.z) != Z_OK)
                return BodyError{500, "cannot restart decompression (zlib)"};
            continue;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR && stream.z.avail_in == 0 && remaining == 0)
            return BodyError{400, "compressed request body is truncated"};
        if (rc == Z_MEM_ERROR)
            return BodyError{500, "out of memory while decompressing the request body"};
        if (rc == Z_BUF_ERROR) continue;  // no progress this round: more input is fed next turn
        return BodyError{400, std::string("compressed request body is corrupt (") +
                                  (stream.z.msg ? stream.z.msg : "invalid data") + ")"};
    }
}

std::variant<std::string, BodyError> decode_body(std::string_view body,
                                                 std::string_view content_encoding,
                                                 std::string_view content_type,
                                                 std::string_view compression_query_param,
                                                 std::size_t max_decoded_bytes) {
    try {
        if (trim(body).empty()) return BodyError{400, "request body is empty"};

        // 1. The transport coding.
        std::string data;
        auto header = compressed_by_header(content_encoding);
        if (auto* error = std::get_if<BodyError>(&header)) return std::move(*error);
        if (std::get<bool>(header) && !looks_like_json(body)) {
            auto inflated = inflate_body(body, max_decoded_bytes);
            if (auto* error = std::get_if<BodyError>(&inflated)) return std::move(*error);
            data = std::move(std::get<std::string>(inflated));
        } else {
            data.assign(body);
        }

        // 2. The SDK's own wrapping: a form with base64 in `data`, or the `compression` parameter.
        const std::string compression = lower(trim(compression_query_param));
        const bool form = media_type(content_type) == "application/x-www-form-urlencoded" ||
                          (!looks_like_json(data) && data.starts_with("data="));
        std::variant<std::string, BodyError> decoded;
        if (form) {
            decoded = from_base64(form_data_field(data), max_decoded_bytes);
        } else if (compression == "gzip" || compression == "gzip-js") {
            decoded =
                looks_like_json(data) ? std::move(data) : inflate_body(data, max_decoded_bytes);
        } else if (compression == "base64") {
            decoded = from_base64(data, max_decoded_bytes);
        } else if (!compression.empty()) {
            return BodyError{400, "unsupported compression '" +
                                      std::string(trim(compression_query_param)) +
                                      "' (gzip, gzip-js or base64)"};
        } else if (has_gzip_magic(data)) {
            decoded = inflate_body(data, max_decoded_bytes);  // gzip sent without saying so
        } else {
            decoded = std::move(data);
        }
        if (auto* error = std::get_if<BodyError>(&decoded)) return std::move(*error);

        std::string& text = std::get<std::string>(decoded);
        if (text.size() > max_decoded_bytes) return too_large(max_decoded_bytes);
        if (trim(text).empty()) return BodyError{400, "request body is empty once decoded"};
        return std::move(text);
    } catch (const std::bad_alloc&) {
        return BodyError{413, "request body is too large to decode"};
    } catch (const std::exception& e) {
        return BodyError{400, std::string("request body cannot be decoded: ") + e.what()};
    }
}

}  // namespace flag_eval::decide
