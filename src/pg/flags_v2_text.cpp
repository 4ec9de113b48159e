#include "pg/flags_v2_text.hpp"

#include "core/result_json.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pg/pg_guard.hpp"

namespace flag_eval::pg {
namespace {

// jsonb's key order (jsonb_util.c, lengthCompareJsonbString): shorter keys first, then bytes.
int jsonb_key_compare(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return std::memcmp(a.data(), b.data(), a.size());
}

// True when one of the 8 bytes is a control character, '"' or '\\': the bytes escape_json
// rewrites. (SWAR: a byte is < 0x20, or equal to 0x22 or 0x5C, when the subtraction borrows.)
bool any_to_escape(std::uint64_t bytes) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
    const std::uint64_t below_space = (bytes - kOnes * 0x20) & ~bytes;
    const std::uint64_t q = bytes ^ (kOnes * '"'), b = bytes ^ (kOnes * '\\');
    const std::uint64_t quote = (q - kOnes) & ~q, backslash = (b - kOnes) & ~b;
    return ((below_space | quote | backslash) & kHighs) != 0;
}

// Writes into a buffer sized beforehand by an upper bound (every string byte may become 6).
class Writer {
public:
    explicit Writer(char* out) : p_(out) {}
    char* end() const { return p_; }

    template <std::size_t N>
    void literal(const char (&s)[N]) {
        std::memcpy(p_, s, N - 1);
        p_ += N - 1;
    }

    // A JSON string as jsonb_out escapes it (json.c, escape_json): the two-character escapes,
    // other control characters as \u00xx, everything else (UTF-8 included) as it is.
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

    void optional_string(const std::string* s) {
        if (s)
            string(*s);
        else
            literal("null");
    }

    void integer(std::int64_t i) { p_ = std::to_chars(p_, p_ + kMaxInteger, i).ptr; }

    void boolean(bool b) {
        if (b)
            literal("true");
        else
            literal("false");
    }

    static constexpr std::size_t kMaxInteger = 20;  // "-9223372036854775808"

private:
    char* p_;
};

// Bytes of a flag's entry beyond its strings (escaped at most 6 per byte): keys, punctuation,
// three integers.
constexpr std::size_t kFlagOverhead = 256 + 3 * Writer::kMaxInteger;

// A flag's entry with its strings: key twice, reason code and description, variant, payload.
struct Entry {
    const Flag* flag;
    const FlagResult* result;
    std::string_view description;
    std::size_t position;  // in the summary: of equal keys the last wins, as in jsonb
};

std::size_t optional_size(const std::string* s) { return s ? s->size() : 0; }

// reason_description() for each distinct (reason, condition set) of the answer, not each flag:
// most of 50 flags share a handful of descriptions.
class Descriptions {
public:
    std::string_view of(const FlagResult& r) {
        if (!r.description.empty()) return r.description;
        for (const Known& k : known_)
            if (k.reason == r.reason && k.condition_index == r.condition_index) return k.text;
        return known_.emplace_back(Known{r.reason, r.condition_index, reason_description(r)}).text;
    }

private:
    struct Known {
        Reason reason;
        std::optional<int> condition_index;
        std::string text;
    };
    std::deque<Known> known_;  // a deque: the views handed out stay valid as it grows
};

void write_flag(Writer& w, const Entry& e) {
    const Flag& flag = *e.flag;
    const FlagResult& result = *e.result;
    w.string(flag.key);
    w.literal(": {\"key\": ");
    w.string(flag.key);
    w.literal(", \"failed\": ");
    w.boolean(result.failed);
    w.literal(", \"reason\": {\"code\": ");
    w.string(reason_code(result.reason));
    w.literal(", \"description\": ");
    w.string(e.description);
    w.literal(", \"condition_index\": ");
    if (result.condition_index)
        w.integer(*result.condition_index);
    else
        w.literal("null");
    w.literal("}, \"enabled\": ");
    w.boolean(result.enabled);
    w.literal(", \"variant\": ");
    w.optional_string(result.variant);
    w.literal(", \"metadata\": {\"id\": ");
    w.integer(flag.id);
    w.literal(", \"payload\": ");
    w.optional_string(result.payload);
    w.literal(", \"version\": ");
    w.integer(flag.version);
    w.literal("}}");
}

}  // namespace

text* flags_v2_text(const EvaluationSummary& summary) {
    Descriptions descriptions;
    std::vector<Entry> entries;
    entries.reserve(summary.flags.size());
    std::size_t bound = 128;
    for (std::size_t i = 0; i < summary.flags.size(); ++i) {
        const FlagOutcome& o = summary.flags[i];
        const std::string_view description = descriptions.of(o.result);
        entries.push_back({o.flag, &o.result, description, i});
        bound += kFlagOverhead + 6 * (2 * o.flag->key.size() + reason_code(o.result.reason).size() +
                                      description.size() + optional_size(o.result.variant) +
                                      optional_size(o.result.payload));
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        if (const int c = jsonb_key_compare(a.flag->key, b.flag->key)) return c < 0;
        return a.position < b.position;
    });

    auto* body = static_cast<text*>(palloc_or_throw(VARHDRSZ + bound));
    Writer w(VARDATA(body));
    w.literal("{\"flags\": {");
    bool first = true;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i + 1 < entries.size() && jsonb_key_compare(entries[i + 1].flag->key, entries[i].flag->key) == 0)
            continue;  // a later one of the same key wins
        if (!first) w.literal(", ");
        first = false;
        write_flag(w, entries[i]);
    }
    w.literal("}, \"errorsWhileComputingFlags\": ");
    w.boolean(summary.errors_while_computing);
    w.literal("}");
    const std::size_t length = static_cast<std::size_t>(w.end() - VARDATA(body));
    if (length > MaxAllocSize - VARHDRSZ) throw std::length_error("the answer is longer than a json value can be (1 GB)");
    SET_VARSIZE(body, VARHDRSZ + length);
    return body;
}

}  // namespace flag_eval::pg
