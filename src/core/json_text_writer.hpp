// JSON text written straight into a buffer sized beforehand, with no document in between: the
// answer writers of the hot paths (flags_v2_writer). Strings are escaped as both PostgreSQL's
// escape_json (what jsonb_out prints) and boost::json::serialize escape them, which is the same:
// \b \f \n \r \t \" \\, other control characters as \u00xx, everything else (UTF-8 included) as is.
#pragma once
#include "no_postgres.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace flag_eval {

class JsonTextWriter {
public:
    static constexpr std::size_t kMaxInteger = 20;  // "-9223372036854775808"

    // The most a string of `size` bytes takes written: quotes, and every byte escaped as \u00xx.
    static constexpr std::size_t max_string_size(std::size_t size) { return 2 + 6 * size; }

    explicit JsonTextWriter(char* out) : p_(out) {}
    char* end() const { return p_; }

    template <std::size_t N>
    void literal(const char (&s)[N]) {
        std::memcpy(p_, s, N - 1);
        p_ += N - 1;
    }

    // Text that is JSON already (written by this writer before).
    void raw(std::string_view json) {
        std::memcpy(p_, json.data(), json.size());
        p_ += json.size();
    }

    void string(std::string_view s) {
        *p_++ = '"';
        const char* in = s.data();
        const char* const end = in + s.size();
        while (in < end) {
            // runs of plain bytes, 8 at a time
            while (end - in >= 8) {
                std::uint64_t bytes;
                std::memcpy(&bytes, in, 8);
                if (any_to_escape(bytes)) break;
                std::memcpy(p_, in, 8);
                p_ += 8;
                in += 8;
            }
            if (in == end) break;
            const unsigned char c = static_cast<unsigned char>(*in++);
            if (c >= 0x20 && c != '"' && c != '\\') {
                *p_++ = static_cast<char>(c);
                continue;
            }
            switch (c) {
                case '\b': literal("\\b"); break;
                case '\f': literal("\\f"); break;
                case '\n': literal("\\n"); break;
                case '\r': literal("\\r"); break;
                case '\t': literal("\\t"); break;
                case '"': literal("\\\""); break;
                case '\\': literal("\\\\"); break;
                default: {
                    static constexpr char kHex[] = "0123456789abcdef";
                    literal("\\u00");
                    *p_++ = kHex[c >> 4];
                    *p_++ = kHex[c & 0xF];
                }
            }
        }
        *p_++ = '"';
    }

    void integer(std::int64_t i) { p_ = std::to_chars(p_, p_ + kMaxInteger, i).ptr; }

    void boolean(bool b) {
        if (b)
            literal("true");
        else
            literal("false");
    }

    void null() { literal("null"); }

private:
    // True when one of the 8 bytes is a control character, '"' or '\\': the bytes escaped.
    // (SWAR: a byte is < 0x20, or equal to 0x22 or 0x5C, when the subtraction borrows.)
    static bool any_to_escape(std::uint64_t bytes) {
        constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
        const std::uint64_t below_space = (bytes - kOnes * 0x20) & ~bytes;
        const std::uint64_t q = bytes ^ (kOnes * '"'), b = bytes ^ (kOnes * '\\');
        const std::uint64_t quote = (q - kOnes) & ~q, backslash = (b - kOnes) & ~b;
        return ((below_space | quote | backslash) & kHighs) != 0;
    }

    char* p_;
};

}  // namespace flag_eval
