// Property filter operators (docs/reference.md, Property operators) with the semantics of the
// reference's match_property (PostHog rust/feature-flags, properties/property_matching.rs).
//
// Most operators compare a property's "string form": a string is itself, a number its stored
// decimal text, a boolean "true" / "false", null "null", an array or object its JSON text.
//
// Null (ValueKind::Null) is a present value, as serde's Value::Null is in the reference: is_set
// matches it and is_not_set does not; exact / is_not compare the text "null" (and, against a
// boolean filter, null counts as false); icontains, starts_with, ends_with and regex search the
// text "null"; gt / gte / lt / lte, semver_* and is_date_* never match it.
//
// A missing key matches is_not, the not_* operators and is_not_set, nothing else (semver_neq
// included: it needs a version to compare).
#include "operators.hpp"

#include "ascii_case.hpp"
#include "dates.hpp"
#include "semver.hpp"

#include <boost/json/parse.hpp>
#include <re2/re2.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <locale.h>
#include <unordered_set>
#include <utility>
#include <vector>
#include <wctype.h>

namespace flag_eval {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------------------------
// Operator names

constexpr std::pair<std::string_view, Operator> operator_names[] = {
    {"exact", Operator::Exact},
    {"is_not", Operator::IsNot},
    {"icontains", Operator::Icontains},
    {"not_icontains", Operator::NotIcontains},
    {"icontains_multi", Operator::IcontainsMulti},
    {"not_icontains_multi", Operator::NotIcontainsMulti},
    {"starts_with", Operator::StartsWith},
    {"not_starts_with", Operator::NotStartsWith},
    {"ends_with", Operator::EndsWith},
    {"not_ends_with", Operator::NotEndsWith},
    {"regex", Operator::Regex},
    {"not_regex", Operator::NotRegex},
    {"gt", Operator::Gt},
    {"gte", Operator::Gte},
    {"between", Operator::Between},
    {"not_between", Operator::NotBetween},
    {"lt", Operator::Lt},
    {"lte", Operator::Lte},
    {"semver_gt", Operator::SemverGt},
    {"semver_gte", Operator::SemverGte},
    {"semver_lt", Operator::SemverLt},
    {"semver_lte", Operator::SemverLte},
    {"semver_eq", Operator::SemverEq},
    {"semver_neq", Operator::SemverNeq},
    {"semver_tilde", Operator::SemverTilde},
    {"semver_caret", Operator::SemverCaret},
    {"semver_wildcard", Operator::SemverWildcard},
    {"is_set", Operator::IsSet},
    {"is_not_set", Operator::IsNotSet},
    {"is_date_before", Operator::IsDateBefore},
    {"is_date_after", Operator::IsDateAfter},
    {"is_date_exact", Operator::IsDateExact},
    {"in", Operator::In},
    {"not_in", Operator::NotIn},
    {"flag_evaluates_to", Operator::FlagEvaluatesTo},
};

// ---------------------------------------------------------------------------------------------
// Case folding

// Unicode simple lower-case mapping, for exact / is_not (the reference lower-cases those with
// Rust's Unicode-aware to_lowercase). glibc's C.UTF-8 locale supplies the table through a locale
// object of our own, so the process locale (which PostgreSQL sets) is neither read nor changed.
// Without that locale, only ASCII is folded.
char32_t unicode_lower(char32_t c) {
    if (c < 0x80) return static_cast<char32_t>(ascii_lower(static_cast<char>(c)));
    static const locale_t utf8_locale =
        newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (!utf8_locale) return c;
    return static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), utf8_locale));
}

struct DecodedChar {
    char32_t code_point;
    std::size_t length;
    bool valid;  // invalid bytes stand for themselves, one at a time, and are never folded
};

DecodedChar decode_utf8(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char lead = byte(i);
    std::size_t length;
    char32_t cp;
    if (lead < 0x80) return {lead, 1, true};
    if (lead >= 0xC2 && lead <= 0xDF)
        length = 2, cp = lead & 0x1F;
    else if (lead >= 0xE0 && lead <= 0xEF)
        length = 3, cp = lead & 0x0F;
    else if (lead >= 0xF0 && lead <= 0xF4)
        length = 4, cp = lead & 0x07;
    else
        return {lead, 1, false};
    if (i + length > s.size()) return {lead, 1, false};
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return {lead, 1, false};
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < smallest[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return {lead, 1, false};
    return {cp, length, true};
}

std::size_t encode_utf8(char32_t cp, char (&out)[4]) {
    if (cp < 0x80) return out[0] = static_cast<char>(cp), 1;
    if (cp < 0x800) {
        out[0] = static_cast<char>(0xC0 | (cp >> 6));
        out[1] = static_cast<char>(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = static_cast<char>(0xE0 | (cp >> 12));
        out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out[2] = static_cast<char>(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = static_cast<char>(0xF0 | (cp >> 18));
    out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
}

// The lower-cased form of the character at s[i], written to `out`; returns its length and
// advances i.
std::size_t lower_next_char(std::string_view s, std::size_t& i, char (&out)[4]) {
    const DecodedChar decoded = decode_utf8(s, i);
    i += decoded.length;
    if (!decoded.valid) return out[0] = static_cast<char>(decoded.code_point), 1;
    return encode_utf8(unicode_lower(decoded.code_point), out);
}

std::string unicode_lowered(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    char buffer[4];
    for (std::size_t i = 0; i < s.size();) out.append(buffer, lower_next_char(s, i, buffer));
    return out;
}

// Whether `raw`, lower-cased, equals `lowered`, without building the lower-cased copy.
bool equals_when_lowered(std::string_view raw, std::string_view lowered) {
    std::size_t j = 0;
    char buffer[4];
    for (std::size_t i = 0; i < raw.size();) {
        if (static_cast<unsigned char>(raw[i]) < 0x80) {
            if (j >= lowered.size() || lowered[j] != ascii_lower(raw[i])) return false;
            ++i, ++j;
            continue;
        }
        const std::size_t n = lower_next_char(raw, i, buffer);
        if (lowered.substr(j, n) != std::string_view(buffer, n)) return false;
        j += n;
    }
    return j == lowered.size();
}

// ASCII case-insensitive search, as the reference's to_ascii_lowercase comparisons; the needle
// is already lower-cased.
bool ascii_iequals_at(std::string_view haystack, std::size_t pos, std::string_view lowered_needle) {
    for (std::size_t k = 0; k < lowered_needle.size(); ++k)
        if (ascii_lower(haystack[pos + k]) != lowered_needle[k]) return false;
    return true;
}

bool contains_ignoring_ascii_case(std::string_view haystack, std::string_view lowered_needle) {
    if (lowered_needle.size() > haystack.size()) return false;
    for (std::size_t pos = 0; pos + lowered_needle.size() <= haystack.size(); ++pos)
        if (ascii_iequals_at(haystack, pos, lowered_needle)) return true;
    return false;
}

bool starts_with_ignoring_ascii_case(std::string_view haystack, std::string_view lowered_needle) {
    return lowered_needle.size() <= haystack.size() &&
           ascii_iequals_at(haystack, 0, lowered_needle);
}

bool ends_with_ignoring_ascii_case(std::string_view haystack, std::string_view lowered_needle) {
    return lowered_needle.size() <= haystack.size() &&
           ascii_iequals_at(haystack, haystack.size() - lowered_needle.size(), lowered_needle);
}

// ---------------------------------------------------------------------------------------------
// Numbers as the reference reads and prints them

// Rust's f64::from_str (the reference's to_f64_representation of strings): an optional sign,
// then inf / infinity / nan in any case, or digits with an optional fraction and exponent. No
// whitespace, no hexadecimal.
std::optional<double> parse_number_like_reference(std::string_view text) {
    bool negative = false;
    if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
        negative = text.front() == '-';
        text.remove_prefix(1);
    }
    const auto sign = [&](double d) { return negative ? -d : d; };
    if (ascii_iequals(text, "inf") || ascii_iequals(text, "infinity")) return sign(HUGE_VAL);
    if (ascii_iequals(text, "nan")) return std::nan("");

    std::size_t pos = 0;
    std::size_t mantissa_digits = 0;
    const auto skip_digits = [&] {
        std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        return pos - start;
    };
    mantissa_digits += skip_digits();
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        mantissa_digits += skip_digits();
    }
    if (mantissa_digits == 0) return std::nullopt;
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
        if (skip_digits() == 0) return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;

    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc::result_out_of_range) {
        // from_chars leaves the value alone on overflow and underflow; strtod gives the
        // infinity or (sub)normal the reference gets. The C locale keeps '.' the decimal point.
        static const locale_t c_locale =
            newlocale(LC_NUMERIC_MASK, "C", static_cast<locale_t>(nullptr));
        if (!c_locale) return std::nullopt;
        const std::string copy(text);
        value = strtod_l(copy.c_str(), nullptr, c_locale);
    } else if (error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return sign(value);
}

// A double printed as the reference prints an f64 (serde_json, shortest round-trip digits):
// "1.5", "1.0", "100000000000000000.0" up to 17 integer digits, "1e20", "1.5e-7".
std::string format_number_like_reference(double d) {
    if (!std::isfinite(d)) return "null";
    char scientific[40];
    auto [end, error] =
        std::to_chars(scientific, scientific + sizeof scientific, d, std::chars_format::scientific);
    if (error != std::errc()) return "null";
    std::string_view sci(scientific, static_cast<std::size_t>(end - scientific));
    std::string out;
    if (sci.front() == '-') {
        out += '-';
        sci.remove_prefix(1);
    }
    const std::size_t e = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e))
        if (c != '.') digits += c;
    int exponent = 0;
    std::string_view exponent_text = sci.substr(e + 1);
    if (exponent_text.front() == '+') exponent_text.remove_prefix(1);
    std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);

    const int length = static_cast<int>(digits.size());
    const int point = exponent + 1;  // digits before the decimal point
    if (point >= length && point <= 16) {
        out += digits;
        out.append(static_cast<std::size_t>(point - length), '0');
        out += ".0";
    } else if (point > 0 && point <= 16) {
        out += digits.substr(0, static_cast<std::size_t>(point));
        out += '.';
        out += digits.substr(static_cast<std::size_t>(point));
    } else if (point > -5 && point <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-point), '0');
        out += digits;
    } else {
        out += digits.substr(0, 1);
        if (length > 1) {
            out += '.';
            out += digits.substr(1);
        }
        out += 'e';
        out += std::to_string(point - 1);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Values as text

// The property's string form. `scratch` holds a number's text when the host stored none.
std::string_view property_text(const PropertyValue& value, std::string& scratch) {
    switch (value.kind) {
        case ValueKind::Bool: return value.boolean ? "true" : "false";
        case ValueKind::Null: return "null";
        case ValueKind::Number:
            if (!value.text.empty()) return value.text;
            scratch = format_number_like_reference(value.number);
            return scratch;
        case ValueKind::Missing:
        case ValueKind::String:
        case ValueKind::Array:
        case ValueKind::Object: break;
    }
    return value.text;
}

// The string form of a scalar filter value (null reads "null"); nullopt for lists and objects.
std::optional<std::string> filter_text(const json::value& value) {
    switch (value.kind()) {
        case json::kind::string: return std::string(value.get_string());
        case json::kind::bool_: return std::string(value.get_bool() ? "true" : "false");
        case json::kind::int64: return std::to_string(value.get_int64());
        case json::kind::uint64: return std::to_string(value.get_uint64());
        case json::kind::double_: return format_number_like_reference(value.get_double());
        case json::kind::null: return std::string("null");
        case json::kind::array:
        case json::kind::object: break;
    }
    return std::nullopt;
}

std::optional<double> filter_number(const json::value& value) {
    switch (value.kind()) {
        case json::kind::int64: return static_cast<double>(value.get_int64());
        case json::kind::uint64: return static_cast<double>(value.get_uint64());
        case json::kind::double_: return value.get_double();
        case json::kind::string: return parse_number_like_reference(value.get_string());
        default: return std::nullopt;
    }
}

// How a filter value is named in problem messages.
std::string describe(const json::value& value) {
    constexpr std::size_t shown = 60;
    switch (value.kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return "a boolean";
        case json::kind::array: return "a list";
        case json::kind::object: return "an object";
        case json::kind::string: {
            std::string_view s = value.get_string();
            return "\"" + std::string(s.substr(0, shown)) + (s.size() > shown ? "...\"" : "\"");
        }
        default: return "the number " + *filter_text(value);
    }
}

bool is_scalar(const json::value& value) {
    return value.is_string() || value.is_number() || value.is_bool();
}

// ---------------------------------------------------------------------------------------------
// Boolean normalisation of exact / is_not

// The reference compares truthiness instead of text when the filter is "boolean-like": a
// boolean, the string "true" or "false" in any case, or a list of only such values (an empty
// list included, which the reference also treats as true).
bool is_boolean_like(const json::value& value) {
    if (value.is_bool()) return true;
    if (value.is_string())
        return ascii_iequals(value.get_string(), "true") ||
               ascii_iequals(value.get_string(), "false");
    if (value.is_array()) {
        for (const json::value& element : value.get_array())
            if (!is_boolean_like(element)) return false;
        return true;
    }
    return false;
}

bool is_truthy(const json::value& value) {
    if (value.is_bool()) return value.get_bool();
    if (value.is_string()) return ascii_iequals(value.get_string(), "true");
    if (value.is_array()) {
        for (const json::value& element : value.get_array())
            if (!is_truthy(element)) return false;
        return true;
    }
    return false;
}

bool is_truthy(const PropertyValue& value) {
    switch (value.kind) {
        case ValueKind::Bool: return value.boolean;
        case ValueKind::String: return ascii_iequals(value.text, "true");
        case ValueKind::Array: {
            // Arrays reach us as JSON text; this rare case may parse it.
            boost::system::error_code ec;
            json::value parsed = json::parse(value.text, ec);
            return !ec && is_truthy(parsed);
        }
        default: return false;
    }
}

struct TransparentStringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

// Long exact lists are looked up in a hash set instead of compared one by one.
constexpr std::size_t hashed_list_threshold = 8;

// RE2 memory budget per pattern (compiled program and DFA cache). A pattern that does not fit
// fails to compile and follows the invalid-regex rule instead of taking the process's memory.
constexpr std::int64_t regex_memory_budget = 8 << 20;

bool matches_when_missing(Operator op) {
    switch (op) {
        case Operator::IsNot:
        case Operator::NotIcontains:
        case Operator::NotIcontainsMulti:
        case Operator::NotStartsWith:
        case Operator::NotEndsWith:
        case Operator::NotRegex:
        case Operator::NotBetween:
        case Operator::IsNotSet: return true;
        default: return false;
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::optional<Operator> operator_from_name(std::string_view name) {
    for (const auto& [operator_text, op] : operator_names)
        if (operator_text == name) return op;
    return std::nullopt;
}

std::string_view operator_name(Operator op) {
    for (const auto& [operator_text, named] : operator_names)
        if (named == op) return operator_text;
    return "unknown";
}

// The filter value, prepared for its operator. Only the members of that operator's family are
// set. Never moved once built: `version` views into `version_text`.
struct ValueMatcher::Compiled {
    bool usable = true;  // false when the value was rejected (or the operator is not ours)

    // exact, is_not
    std::optional<bool> truthiness;  // set when the filter is boolean-like
    bool is_list = false;
    std::vector<std::string> lowered;  // Unicode lower-cased string forms
    std::unordered_set<std::string, TransparentStringHash, std::equal_to<>> lowered_set;

    // icontains, icontains_multi, starts_with, ends_with and negations
    std::vector<std::string> ascii_lowered;

    // regex, not_regex
    std::unique_ptr<RE2> regex;  // null when RE2 rejected the pattern

    // gt, gte, lt, lte; between and not_between: [number, number_max]
    double number = 0;
    double number_max = 0;

    // semver_*
    std::string version_text;
    std::optional<SemanticVersion> version;
    std::optional<VersionRequirement> requirement;

    // is_date_*
    std::optional<Instant> date;
    std::optional<RelativeDate> relative_date;  // resolved against the clock at match time
};

namespace {

using Compiled = ValueMatcher::Compiled;

// Each returns false (after reporting) when the value cannot be used.

bool compile_exact(Compiled& c, const json::value& value, const std::string& path,
                   Problems& problems, PropertyMatching matching) {
    const std::string expected = "expected a string, number or boolean, or a list of them";
    if (!is_scalar(value) && !value.is_array()) {
        problems.invalid(path, expected + ", got " + describe(value));
        return false;
    }
    const bool empty_list = value.is_array() && value.get_array().empty();
    if (is_boolean_like(value) && (matching == PropertyMatching::Legacy || empty_list))
        c.truthiness = is_truthy(value);
    if (!value.is_array()) {
        c.lowered.push_back(unicode_lowered(*filter_text(value)));
        return true;
    }
    c.is_list = true;
    bool ok = true;
    const json::array& list = value.get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
        std::optional<std::string> text = filter_text(list[i]);
        if (!text) {
            problems.invalid(path + "[" + std::to_string(i) + "]",
                             expected + ", got " + describe(list[i]) + " in the list");
            ok = false;
            continue;
        }
        c.lowered.push_back(unicode_lowered(*text));
    }
    if (c.lowered.size() > hashed_list_threshold)
        c.lowered_set.insert(c.lowered.begin(), c.lowered.end());
    return ok;
}

bool compile_text_search(Compiled& c, Operator op, const json::value& value,
                         const std::string& path, Problems& problems) {
    const bool takes_list = op == Operator::IcontainsMulti || op == Operator::NotIcontainsMulti;
    if (takes_list && value.is_array()) {
        bool ok = true;
        const json::array& list = value.get_array();
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::optional<std::string> text = filter_text(list[i]);
            if (!text) {
                problems.invalid(
                    path + "[" + std::to_string(i) + "]",
                    "expected a list of strings, got " + describe(list[i]) + " in the list");
                ok = false;
                continue;
            }
            c.ascii_lowered.push_back(ascii_lowered(*text));
        }
        return ok;
    }
    if (!is_scalar(value)) {
        problems.invalid(
            path, std::string(takes_list ? "expected a list of strings" : "expected a string") +
                      ", got " + describe(value));
        return false;
    }
    c.ascii_lowered.push_back(ascii_lowered(*filter_text(value)));
    return true;
}

bool compile_regex(Compiled& c, const json::value& value, const std::string& path,
                   Problems& problems) {
    // The reference reads a number or boolean pattern as its text ("4" matches 4).
    if (!is_scalar(value)) {
        problems.invalid(path, "expected a regular expression string, got " + describe(value));
        return false;
    }
    const std::string pattern = *filter_text(value);
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(regex_memory_budget);
    auto regex = std::make_unique<RE2>(pattern, options);
    if (regex->ok())
        c.regex = std::move(regex);
    else  // regex and not_regex then match no present value; validation reports it
          // (docs/reference.md)
        problems.warning(path, "invalid regular expression: " + regex->error());
    return true;
}

bool compile_number(Compiled& c, const json::value& value, const std::string& path,
                    Problems& problems) {
    std::optional<double> number =
        (value.is_number() || value.is_string()) ? filter_number(value) : std::nullopt;
    if (!number || std::isnan(*number)) {
        problems.invalid(path, "expected a number or a string holding one, got " + describe(value));
        return false;
    }
    c.number = *number;
    return true;
}

// [min, max]: two numbers (or strings holding them), min <= max.
bool compile_range(Compiled& c, const json::value& value, const std::string& path,
                   Problems& problems) {
    const json::array* range = value.is_array() ? &value.get_array() : nullptr;
    std::optional<double> low, high;
    if (range && range->size() == 2) {
        low = filter_number((*range)[0]);
        high = filter_number((*range)[1]);
    }
    if (!low || !high || std::isnan(*low) || std::isnan(*high)) {
        problems.invalid(path, "expected [min, max], two numbers, got " + describe(value));
        return false;
    }
    if (*low > *high) {
        problems.invalid(path, "the range's min is greater than its max");
        return false;
    }
    c.number = *low;
    c.number_max = *high;
    return true;
}

bool compile_version(Compiled& c, const json::value& value, const std::string& path,
                     Problems& problems) {
    if (value.is_string() || value.is_number()) {
        c.version_text = *filter_text(value);
        c.version = parse_lenient_version(c.version_text);
    }
    if (!c.version) {
        problems.invalid(path,
                         "expected a semantic version such as \"1.2.3\", got " + describe(value));
        return false;
    }
    return true;
}

bool compile_version_range(Compiled& c, Operator op, const json::value& value,
                           const std::string& path, Problems& problems) {
    const RangeOperator range = op == Operator::SemverTilde   ? RangeOperator::Tilde
                                : op == Operator::SemverCaret ? RangeOperator::Caret
                                                              : RangeOperator::Wildcard;
    if (value.is_string() || value.is_number())
        c.requirement = VersionRequirement::from_filter(range, *filter_text(value));
    if (!c.requirement) {
        problems.invalid(path, std::string(range == RangeOperator::Wildcard
                                               ? "expected a version pattern such as \"1.2.*\""
                                               : "expected a semantic version such as \"1.2.3\"") +
                                   ", got " + describe(value));
        return false;
    }
    return true;
}

bool compile_date(Compiled& c, const json::value& value, const std::string& path,
                  Problems& problems) {
    if (value.is_string()) {
        const std::string_view text = value.get_string();
        if ((c.relative_date = parse_relative_date(text))) return true;
        c.date = parse_absolute_date(text);
    } else if (value.is_number()) {  // a numeric value is epoch seconds (docs/reference.md)
        c.date = instant_from_epoch_seconds(*filter_number(value));
    }
    if (!c.date) {
        problems.invalid(
            path,
            "expected an ISO 8601 date, a relative date such as \"-7d\" or epoch seconds, got " +
                describe(value));
        return false;
    }
    return true;
}

bool compile_for(Compiled& c, Operator op, const json::value& value, const std::string& path,
                 Problems& problems, PropertyMatching matching) {
    switch (op) {
        case Operator::Exact:
        case Operator::IsNot: return compile_exact(c, value, path, problems, matching);
        case Operator::Icontains:
        case Operator::NotIcontains:
        case Operator::IcontainsMulti:
        case Operator::NotIcontainsMulti:
        case Operator::StartsWith:
        case Operator::NotStartsWith:
        case Operator::EndsWith:
        case Operator::NotEndsWith: return compile_text_search(c, op, value, path, problems);
        case Operator::Regex:
        case Operator::NotRegex: return compile_regex(c, value, path, problems);
        case Operator::Gt:
        case Operator::Gte:
        case Operator::Lt:
        case Operator::Lte: return compile_number(c, value, path, problems);
        case Operator::Between:
        case Operator::NotBetween: return compile_range(c, value, path, problems);
        case Operator::SemverGt:
        case Operator::SemverGte:
        case Operator::SemverLt:
        case Operator::SemverLte:
        case Operator::SemverEq:
        case Operator::SemverNeq: return compile_version(c, value, path, problems);
        case Operator::SemverTilde:
        case Operator::SemverCaret:
        case Operator::SemverWildcard: return compile_version_range(c, op, value, path, problems);
        case Operator::IsDateBefore:
        case Operator::IsDateAfter:
        case Operator::IsDateExact: return compile_date(c, value, path, problems);
        case Operator::IsSet:
        case Operator::IsNotSet: return true;  // the value is not used
        case Operator::In:
        case Operator::NotIn:
        case Operator::FlagEvaluatesTo: return false;  // the evaluator resolves these
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Matching a present property

bool exact_matches(const Compiled& c, const PropertyValue& value) {
    if (c.truthiness) return is_truthy(value) == *c.truthiness;
    std::string scratch;
    const std::string_view text = property_text(value, scratch);
    if (!c.is_list) return equals_when_lowered(text, c.lowered.front());
    if (!c.lowered_set.empty())
        return c.lowered_set.find(std::string_view(unicode_lowered(text))) != c.lowered_set.end();
    for (const std::string& candidate : c.lowered)
        if (equals_when_lowered(text, candidate)) return true;
    return false;
}

bool text_search_matches(const Compiled& c, Operator op, const PropertyValue& value) {
    std::string scratch;
    const std::string_view text = property_text(value, scratch);
    switch (op) {
        case Operator::StartsWith:
        case Operator::NotStartsWith:
            return starts_with_ignoring_ascii_case(text, c.ascii_lowered.front());
        case Operator::EndsWith:
        case Operator::NotEndsWith:
            return ends_with_ignoring_ascii_case(text, c.ascii_lowered.front());
        default:  // icontains, icontains_multi: any needle contained
            for (const std::string& needle : c.ascii_lowered)
                if (contains_ignoring_ascii_case(text, needle)) return true;
            return false;
    }
}

std::optional<double> property_number(const PropertyValue& value) {
    if (value.kind == ValueKind::Number) return value.number;
    if (value.kind == ValueKind::String) return parse_number_like_reference(value.text);
    return std::nullopt;  // "true", "null" and JSON texts are never numbers
}

bool number_matches(const Compiled& c, Operator op, const PropertyValue& value) {
    const std::optional<double> number = property_number(value);
    if (!number || std::isnan(*number)) return false;  // for not_between too, as the reference
    switch (op) {
        case Operator::Between: return *number >= c.number && *number <= c.number_max;
        case Operator::NotBetween: return *number < c.number || *number > c.number_max;
        case Operator::Gt: return *number > c.number;
        case Operator::Gte: return *number >= c.number;
        case Operator::Lt: return *number < c.number;
        default: return *number <= c.number;
    }
}

// parse_lenient_version(text), remembering the last text read on this thread: a request's flags
// compare the same version property again and again (an app_version against each release
// rule). The remembered pieces are offsets, pointed into `text` when handed out.
std::optional<SemanticVersion> read_version(std::string_view text) {
    struct Remembered {
        std::string text;
        std::optional<SemanticVersion> version;  // pre and build point into `text` above
    };
    thread_local Remembered last;
    if (!last.version || last.text != text) {
        last.text.assign(text);
        last.version = parse_lenient_version(last.text);
        if (!last.version) {
            last.text.clear();  // failures are not remembered: rare, and cheap to find again
            return std::nullopt;
        }
    }
    SemanticVersion version = *last.version;
    const auto into_text = [&](std::string_view piece) {
        return piece.empty()
                   ? piece
                   : text.substr(static_cast<std::size_t>(piece.data() - last.text.data()),
                                 piece.size());
    };
    version.pre = into_text(version.pre);
    version.build = into_text(version.build);
    return version;
}

bool version_matches(const Compiled& c, Operator op, const PropertyValue& value) {
    std::string scratch;
    const std::optional<SemanticVersion> version = read_version(property_text(value, scratch));
    if (!version) return false;
    if (c.requirement) return c.requirement->matches(*version);
    const int order = compare_versions(*version, *c.version);
    switch (op) {
        case Operator::SemverGt: return order > 0;
        case Operator::SemverGte: return order >= 0;
        case Operator::SemverLt: return order < 0;
        case Operator::SemverLte: return order <= 0;
        case Operator::SemverEq: return order == 0;
        default: return order != 0;
    }
}

// A property read as a date: a string holding a number is epoch seconds, other strings are
// dates (relative ones too), numbers are epoch seconds; anything else is not a date.
std::optional<Instant> property_date(const PropertyValue& value, Instant now) {
    if (value.kind == ValueKind::Number) return instant_from_epoch_seconds(value.number);
    if (value.kind != ValueKind::String) return std::nullopt;
    if (std::optional<double> seconds = parse_number_like_reference(value.text))
        return instant_from_epoch_seconds(*seconds);
    return parse_date_text(value.text, now);
}

bool date_matches(const Compiled& c, Operator op, const PropertyValue& value) {
    const Instant now = current_instant();
    const std::optional<Instant> property = property_date(value, now);
    const std::optional<Instant> filter =
        c.relative_date ? resolve_relative_date(*c.relative_date, now) : c.date;
    if (!property || !filter) return false;
    switch (op) {
        case Operator::IsDateBefore: return *property < *filter;
        case Operator::IsDateAfter: return *property > *filter;
        default: return *property == *filter;
    }
}

bool present_value_matches(const Compiled& c, Operator op, const PropertyValue& value) {
    switch (op) {
        case Operator::Exact: return exact_matches(c, value);
        case Operator::IsNot: return !exact_matches(c, value);
        case Operator::Icontains:
        case Operator::IcontainsMulti:
        case Operator::StartsWith:
        case Operator::EndsWith: return text_search_matches(c, op, value);
        case Operator::NotIcontains:
        case Operator::NotIcontainsMulti:
        case Operator::NotStartsWith:
        case Operator::NotEndsWith: return !text_search_matches(c, op, value);
        case Operator::Regex:
        case Operator::NotRegex: {
            if (!c.regex) return false;  // invalid pattern: neither matches
            std::string scratch;
            const std::string_view text = property_text(value, scratch);
            const bool found =
                RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *c.regex);
            return op == Operator::Regex ? found : !found;
        }
        case Operator::Gt:
        case Operator::Gte:
        case Operator::Lt:
        case Operator::Lte:
        case Operator::Between:
        case Operator::NotBetween: return number_matches(c, op, value);
        case Operator::SemverGt:
        case Operator::SemverGte:
        case Operator::SemverLt:
        case Operator::SemverLte:
        case Operator::SemverEq:
        case Operator::SemverNeq:
        case Operator::SemverTilde:
        case Operator::SemverCaret:
        case Operator::SemverWildcard: return version_matches(c, op, value);
        case Operator::IsDateBefore:
        case Operator::IsDateAfter:
        case Operator::IsDateExact: return date_matches(c, op, value);
        case Operator::IsSet: return true;
        case Operator::IsNotSet:
        case Operator::In:
        case Operator::NotIn:
        case Operator::FlagEvaluatesTo: return false;
    }
    return false;
}

}  // namespace

ValueMatcher::ValueMatcher(Operator op, std::unique_ptr<Compiled> compiled)
    : op_(op), compiled_(std::move(compiled)) {}
ValueMatcher::ValueMatcher(ValueMatcher&&) noexcept = default;
ValueMatcher& ValueMatcher::operator=(ValueMatcher&&) noexcept = default;
ValueMatcher::~ValueMatcher() = default;

ValueMatcher ValueMatcher::compile(Operator op, const json::value& value, const std::string& path,
                                   Problems& problems, PropertyMatching matching) {
    auto compiled = std::make_unique<Compiled>();
    compiled->usable = compile_for(*compiled, op, value, path, problems, matching);
    return ValueMatcher(op, std::move(compiled));
}

bool ValueMatcher::matches(const PropertyValue& value) const {
    if (op_ == Operator::IsSet) return !value.missing();
    if (op_ == Operator::IsNotSet) return value.missing();
    if (!compiled_ || !compiled_->usable) return false;
    if (value.missing()) return matches_when_missing(op_);
    try {
        return present_value_matches(*compiled_, op_, value);
    } catch (
        ...) {  // only allocation can fail here; a filter that cannot be evaluated does not match
        return false;
    }
}

}  // namespace flag_eval
