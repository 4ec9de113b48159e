// Request bodies as PostHog SDKs send them: plain, gzip/zlib, base64, form-encoded base64, and
// the bodies that must be refused (corrupt, truncated, gzip bombs).
#include "decide/http/request_body.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

using namespace flag_eval::decide;

namespace {

constexpr std::size_t kLimit = 1 << 20;
const std::string kJson =
    R"({"token":"phc_x","distinct_id":"user-1","person_properties":{"plan":"pro"}})";

// gzip (windowBits 31) or zlib (windowBits 15) bytes of `data`.
std::string deflate_bytes(const std::string& data, int window_bits = 31) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&z, data.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
    return out;
}

// gzip of `zeros` zero bytes, compressed in pieces so the test never holds them all.
std::string gzip_of_zeros(std::size_t zeros) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    const std::string block(1 << 20, '\0');
    std::string out;
    char buf[1 << 16];
    std::size_t left = zeros;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        const std::size_t n = std::min(left, block.size());
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
        z.avail_in = static_cast<uInt>(n);
        left -= n;
        const int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            rc = deflate(&z, flush);
            out.append(buf, sizeof buf - z.avail_out);
        } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    return out;
}

std::string base64(const std::string& data, bool url_safe = false, bool pad = true) {
    const char* alphabet = url_safe
                               ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                           (static_cast<unsigned char>(data[i + 1]) << 8) |
                           static_cast<unsigned char>(data[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (data.size() - i == 1) {
        const unsigned v = static_cast<unsigned char>(data[i]) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (pad) out += "==";
    } else if (data.size() - i == 2) {
        const unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                           (static_cast<unsigned char>(data[i + 1]) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        if (pad) out += "=";
    }
    return out;
}

// encodeURIComponent, as posthog-js writes the form's data field.
std::string uri_component(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '!' || c == '~' ||
            c == '*' || c == '\'' || c == '(' || c == ')') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string decoded(const std::variant<std::string, BodyError>& result) {
    if (const auto* error = std::get_if<BodyError>(&result))
        ADD_FAILURE() << "unexpected error " << error->status << ": " << error->message;
    return std::get_if<std::string>(&result) ? std::get<std::string>(result) : std::string{};
}

BodyError error_of(const std::variant<std::string, BodyError>& result) {
    if (const auto* text = std::get_if<std::string>(&result)) {
        ADD_FAILURE() << "expected an error, got: " << text->substr(0, 200);
        return {};
    }
    return std::get<BodyError>(result);
}

// A JSON text whose base64 has 0, 1 and 2 padding characters, to cover every tail.
const std::string kJsonPadded[] = {R"({"a":"bc"})", R"({"a":"bcd"})", R"({"a":"b"})"};

TEST(DecodeBody, PlainJsonPassesThrough) {
    EXPECT_EQ(decoded(decode_body(kJson, "", "application/json", "", kLimit)), kJson);
    EXPECT_EQ(decoded(decode_body(kJson, "identity", "", "", kLimit)), kJson);
}

TEST(DecodeBody, GzipContentEncoding) {
    EXPECT_EQ(decoded(decode_body(deflate_bytes(kJson), "gzip", "application/json", "", kLimit)),
              kJson);
    EXPECT_EQ(decoded(decode_body(deflate_bytes(kJson), "GZIP ", "application/json", "", kLimit)),
              kJson);
}

TEST(DecodeBody, ZlibContentEncodingDeflate) {
    EXPECT_EQ(
        decoded(decode_body(deflate_bytes(kJson, 15), "deflate", "application/json", "", kLimit)),
        kJson);
}

TEST(DecodeBody, GzipJsCompressionParameter) {
    EXPECT_EQ(decoded(decode_body(deflate_bytes(kJson), "", "text/plain", "gzip-js", kLimit)),
              kJson);
    EXPECT_EQ(decoded(decode_body(deflate_bytes(kJson), "", "text/plain", "gzip", kLimit)), kJson);
    // Both the header and the parameter: inflated once.
    EXPECT_EQ(decoded(decode_body(deflate_bytes(kJson), "gzip", "text/plain", "gzip-js", kLimit)),
              kJson);
}

TEST(DecodeBody, GzipWithoutAnyHeaderIsSniffed) {
    EXPECT_EQ(decoded(decode_body(deflate_bytes(kJson), "", "application/json", "", kLimit)),
              kJson);
}

TEST(DecodeBody, CompressionAnnouncedButBodyIsPlainJson) {
    EXPECT_EQ(decoded(decode_body(kJson, "", "application/json", "gzip-js", kLimit)), kJson);
    EXPECT_EQ(decoded(decode_body(kJson, "", "application/json", "base64", kLimit)), kJson);
}

TEST(DecodeBody, ConcatenatedGzipMembers) {
    const std::string body =
        deflate_bytes(R"({"token":"t",)") + deflate_bytes(R"("distinct_id":"d"})");
    EXPECT_EQ(decoded(decode_body(body, "gzip", "", "", kLimit)),
              R"({"token":"t","distinct_id":"d"})");
}

TEST(DecodeBody, Base64StandardUrlSafeAndUnpadded) {
    for (const std::string& json : kJsonPadded) {
        SCOPED_TRACE(json);
        EXPECT_EQ(decoded(decode_body(base64(json), "", "", "base64", kLimit)), json);
        EXPECT_EQ(decoded(decode_body(base64(json, false, false), "", "", "base64", kLimit)), json);
        EXPECT_EQ(decoded(decode_body(base64(json, true, false), "", "", "base64", kLimit)), json);
    }
    // Bytes that need '+' and '/' (or '-' and '_'): both alphabets decode to the same text.
    const std::string tricky = R"({"p":"\u00ff\u00fe>>>???"})"
                               "\xfb\xff\xbf";
    EXPECT_EQ(decoded(decode_body(base64(tricky), "", "", "base64", kLimit)), tricky);
    EXPECT_EQ(decoded(decode_body(base64(tricky, true), "", "", "base64", kLimit)), tricky);
    EXPECT_NE(base64(tricky), base64(tricky, true));
}

TEST(DecodeBody, Base64OfGzip) {
    EXPECT_EQ(decoded(decode_body(base64(deflate_bytes(kJson)), "", "", "base64", kLimit)), kJson);
}

TEST(DecodeBody, FormUrlEncodedDataField) {
    const std::string ct = "application/x-www-form-urlencoded; charset=UTF-8";
    for (const std::string& json : kJsonPadded) {
        SCOPED_TRACE(json);
        // posthog-js legacy: data=encodeURIComponent(base64(json))
        EXPECT_EQ(
            decoded(decode_body("data=" + uri_component(base64(json)), "", ct, "base64", kLimit)),
            json);
        // Not URL-encoded, unpadded, url-safe, among other fields, without the parameter.
        EXPECT_EQ(decoded(decode_body("ver=1.2&data=" + base64(json, true, false) + "&_=123", "",
                                      ct, "", kLimit)),
                  json);
    }
    // '+' and '/' survive percent-decoding (%2B, %2F) and literal '+' is not a space.
    const std::string tricky = std::string(R"({"p":">>>???"})") + "\xfb\xff\xbf";
    EXPECT_EQ(decoded(decode_body("data=" + uri_component(base64(tricky)), "", ct, "", kLimit)),
              tricky);
    EXPECT_EQ(decoded(decode_body("data=" + base64(tricky), "", ct, "", kLimit)), tricky);
    // The form recognised by its body when the content type is missing.
    EXPECT_EQ(decoded(decode_body("data=" + base64(kJson), "", "", "", kLimit)), kJson);
    // A form whose data field is JSON itself.
    EXPECT_EQ(decoded(decode_body("data=" + uri_component(kJson), "", ct, "", kLimit)), kJson);
    // A gzipped form body.
    EXPECT_EQ(decoded(decode_body(deflate_bytes("data=" + base64(kJson)), "gzip", ct, "", kLimit)),
              kJson);
}

TEST(DecodeBody, EmptyBodyIs400) {
    EXPECT_EQ(error_of(decode_body("", "", "application/json", "", kLimit)).status, 400);
    EXPECT_EQ(error_of(decode_body("  \n", "", "application/json", "", kLimit)).status, 400);
    EXPECT_EQ(error_of(decode_body("", "gzip", "application/json", "gzip-js", kLimit)).status, 400);
    EXPECT_EQ(
        error_of(decode_body("data=", "", "application/x-www-form-urlencoded", "", kLimit)).status,
        400);
    // gzip of nothing is well-formed but holds no request
    EXPECT_EQ(error_of(decode_body(deflate_bytes(""), "gzip", "", "", kLimit)).status, 400);
}

TEST(DecodeBody, CorruptGzipIs400) {
    std::string body = deflate_bytes(kJson);
    for (std::size_t i = 12; i < body.size() - 8; ++i) body[i] = static_cast<char>(body[i] ^ 0x5a);
    const BodyError error = error_of(decode_body(body, "gzip", "", "", kLimit));
    EXPECT_EQ(error.status, 400);
    EXPECT_NE(error.message.find("corrupt"), std::string::npos) << error.message;
    EXPECT_EQ(error_of(decode_body("not gzip at all", "gzip", "", "", kLimit)).status, 400);
}

TEST(DecodeBody, TruncatedGzipIs400) {
    const std::string body = deflate_bytes(kJson);
    for (std::size_t cut : {std::size_t{2}, std::size_t{10}, body.size() / 2, body.size() - 1}) {
        SCOPED_TRACE(cut);
        const BodyError error = error_of(decode_body(body.substr(0, cut), "gzip", "", "", kLimit));
        EXPECT_EQ(error.status, 400);
        EXPECT_NE(error.message.find("truncated"), std::string::npos) << error.message;
    }
}

TEST(DecodeBody, TrailingGarbageAfterGzipIs400) {
    EXPECT_EQ(error_of(decode_body(deflate_bytes(kJson) + "junk", "gzip", "", "", kLimit)).status,
              400);
}

TEST(DecodeBody, GzipBombIs413) {
    const std::string bomb = gzip_of_zeros(100u << 20);  // 100 MB of zeros in ~100 kB
    ASSERT_LT(bomb.size(), 1u << 20);
    const BodyError error = error_of(decode_body(bomb, "gzip", "application/json", "", kLimit));
    EXPECT_EQ(error.status, 413);
    EXPECT_NE(error.message.find(std::to_string(kLimit)), std::string::npos) << error.message;
    // Inflation stops at the limit: the output never holds more than limit + 1 bytes.
    EXPECT_EQ(error_of(inflate_body(bomb, 1000)).status, 413);
    // The same bomb inside base64 and inside a form.
    EXPECT_EQ(error_of(decode_body(base64(bomb), "", "", "base64", kLimit)).status, 413);
    EXPECT_EQ(error_of(decode_body("data=" + base64(bomb), "", "application/x-www-form-urlencoded",
                                   "", kLimit))
                  .status,
              413);
}

TEST(DecodeBody, ExactlyTheLimitIsAccepted) {
    const std::string json = R"({"k":")" + std::string(1000, 'x') + R"("})";
    EXPECT_EQ(decoded(decode_body(deflate_bytes(json), "gzip", "", "", json.size())), json);
    EXPECT_EQ(error_of(decode_body(deflate_bytes(json), "gzip", "", "", json.size() - 1)).status,
              413);
    EXPECT_EQ(error_of(decode_body(json, "", "", "", json.size() - 1)).status, 413);
}

TEST(DecodeBody, InvalidBase64Is400) {
    EXPECT_EQ(error_of(decode_body("abc$def", "", "", "base64", kLimit)).status, 400);
    EXPECT_EQ(error_of(decode_body("QUJD=QUJD", "", "", "base64", kLimit)).status,
              400);  // data after padding
    EXPECT_EQ(error_of(decode_body("QUJDR", "", "", "base64", kLimit)).status,
              400);  // 1 dangling digit
    EXPECT_EQ(error_of(decode_body("data=%%%", "", "application/x-www-form-urlencoded", "", kLimit))
                  .status,
              400);
}

TEST(DecodeBody, UnsupportedCodingsAre400) {
    const BodyError encoding = error_of(decode_body(kJson + "x", "br", "", "", kLimit));
    EXPECT_EQ(encoding.status, 400);
    EXPECT_NE(encoding.message.find("br"), std::string::npos);
    const BodyError compression = error_of(decode_body("abc", "", "", "lz64", kLimit));
    EXPECT_EQ(compression.status, 400);
    EXPECT_NE(compression.message.find("lz64"), std::string::npos);
}

TEST(PercentDecode, DecodesEscapesKeepsPlusAndMalformedEscapes) {
    EXPECT_EQ(percent_decode("a%2Bb%2fc%3D"), "a+b/c=");
    EXPECT_EQ(percent_decode("a+b"), "a+b");
    EXPECT_EQ(percent_decode("100%"), "100%");
    EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
}

}  // namespace
