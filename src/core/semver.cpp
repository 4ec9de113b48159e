// Version parsing and requirement matching with the semantics of the Rust `semver` crate
// (SemVer 2.0.0 precedence, Cargo-style ~ ^ and wildcard requirements), which the reference's
// semver_* operators are built on.
#include "semver.hpp"

#include <algorithm>

namespace flag_eval {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_identifier_char(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

// Byte length of the Unicode White_Space character that `s` starts / ends with, or 0. Rust's
// str::trim, which the reference applies to versions, trims this set.
std::size_t leading_whitespace_length(std::string_view s) {
    if (s.empty()) return 0;
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    if (b(0) == ' ' || (b(0) >= 0x09 && b(0) <= 0x0D)) return 1;
    if (s.size() >= 2 && b(0) == 0xC2 && (b(1) == 0x85 || b(1) == 0xA0)) return 2;
    if (s.size() >= 3) {
        if (b(0) == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;  // U+1680
        if (b(0) == 0xE2 && b(1) == 0x80 &&
            (b(2) <= 0x8A || b(2) == 0xA8 || b(2) == 0xA9 || b(2) == 0xAF))
            return 3;  // U+2000..200A, 2028, 2029, 202F
        if (b(0) == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;  // U+205F
        if (b(0) == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;  // U+3000
    }
    return 0;
}

std::size_t trailing_whitespace_length(std::string_view s) {
    for (std::size_t len = 1; len <= 3 && len <= s.size(); ++len)
        if (leading_whitespace_length(s.substr(s.size() - len)) == len) return len;
    return 0;
}

std::string_view trim_whitespace(std::string_view s) {
    while (std::size_t n = leading_whitespace_length(s)) s.remove_prefix(n);
    while (std::size_t n = trailing_whitespace_length(s)) s.remove_suffix(n);
    return s;
}

// The reference's normalisation: one leading "v" goes, then surrounding whitespace.
std::string_view normalize_version_text(std::string_view s) {
    if (!s.empty() && s.front() == 'v') s.remove_prefix(1);
    return trim_whitespace(s);
}

void trim_leading_spaces(std::string_view& s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
}

// "08" → "8", "000" → "0"; anything not all digits is left alone so it still fails to parse.
std::string_view strip_leading_zeros(std::string_view part) {
    if (part.empty() || !all_digits(part)) return part;
    std::size_t first = part.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view("0") : part.substr(first);
}

bool accumulate_digit(std::uint64_t& value, char digit) {
    const std::uint64_t d = static_cast<std::uint64_t>(digit - '0');
    if (value > (UINT64_MAX - d) / 10) return false;
    value = value * 10 + d;
    return true;
}

// A lenient numeric component: digits only, leading zeros ignored, no u64 overflow.
std::optional<std::uint64_t> lenient_component(std::string_view part) {
    if (part.empty() || !all_digits(part)) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : strip_leading_zeros(part))
        if (!accumulate_digit(value, c)) return std::nullopt;
    return value;
}

// A strict numeric identifier at the front of `text` (no leading zeros), consumed on success.
std::optional<std::uint64_t> take_numeric_identifier(std::string_view& text) {
    std::size_t len = 0;
    std::uint64_t value = 0;
    while (len < text.size() && is_digit(text[len])) {
        if (len > 0 && value == 0) return std::nullopt;  // leading zero
        if (!accumulate_digit(value, text[len])) return std::nullopt;
        ++len;
    }
    if (len == 0) return std::nullopt;
    text.remove_prefix(len);
    return value;
}

// Dot-separated identifiers ([0-9A-Za-z-]+) at the front of `text`, consumed on success. An
// empty result means `text` did not start with one. Pre-release numeric identifiers may not
// have leading zeros; build metadata ones may.
std::optional<std::string_view> take_identifiers(std::string_view& text, bool prerelease) {
    std::size_t pos = 0;
    std::size_t segment_start = 0;
    bool segment_has_nondigit = false;
    for (;;) {
        if (pos < text.size() && is_identifier_char(text[pos])) {
            if (!is_digit(text[pos])) segment_has_nondigit = true;
            ++pos;
            continue;
        }
        const bool at_dot = pos < text.size() && text[pos] == '.';
        const std::size_t segment_length = pos - segment_start;
        if (segment_length == 0) {
            if (segment_start == 0 && !at_dot) return std::string_view();
            return std::nullopt;  // empty segment
        }
        if (prerelease && segment_length > 1 && !segment_has_nondigit && text[segment_start] == '0')
            return std::nullopt;
        if (at_dot) {
            ++pos;
            segment_start = pos;
            segment_has_nondigit = false;
            continue;
        }
        std::string_view identifiers = text.substr(0, pos);
        text.remove_prefix(pos);
        return identifiers;
    }
}

// Splits like Rust's str::split, keeping empty pieces.
template <typename Visit>
void for_each_piece(std::string_view s, char separator, Visit visit) {
    for (;;) {
        std::size_t at = s.find(separator);
        visit(s.substr(0, at));
        if (at == std::string_view::npos) return;
        s.remove_prefix(at + 1);
    }
}

std::vector<std::string_view> split_pieces(std::string_view s, char separator) {
    std::vector<std::string_view> pieces;
    for_each_piece(s, separator, [&](std::string_view piece) { pieces.push_back(piece); });
    return pieces;
}

int sign_of(int c) { return (c > 0) - (c < 0); }

int compare_text(std::string_view a, std::string_view b) { return sign_of(a.compare(b)); }

// SemVer precedence of pre-release identifiers; a release (empty) ranks above any pre-release.
int compare_prerelease(std::string_view a, std::string_view b) {
    if (a.empty() || b.empty()) return static_cast<int>(a.empty()) - static_cast<int>(b.empty());
    std::vector<std::string_view> left = split_pieces(a, '.');
    std::vector<std::string_view> right = split_pieces(b, '.');
    for (std::size_t i = 0; i < left.size(); ++i) {
        if (i == right.size()) return 1;  // more identifiers rank higher
        const bool left_numeric = all_digits(left[i]);
        const bool right_numeric = all_digits(right[i]);
        if (left_numeric != right_numeric) return left_numeric ? -1 : 1;
        int c = left_numeric && left[i].size() != right[i].size()
                    ? (left[i].size() < right[i].size() ? -1 : 1)
                    : compare_text(left[i], right[i]);
        if (c != 0) return c;
    }
    return left.size() == right.size() ? 0 : -1;
}

// The semver crate's order of build metadata (no SemVer precedence, but a total order):
// numeric identifiers by value, then by length (0 < 00 < 1 < 01), below alphanumeric ones.
int compare_build(std::string_view a, std::string_view b) {
    std::vector<std::string_view> left = split_pieces(a, '.');
    std::vector<std::string_view> right = split_pieces(b, '.');
    for (std::size_t i = 0; i < left.size(); ++i) {
        if (i == right.size()) return 1;
        const bool left_numeric = all_digits(left[i]);
        const bool right_numeric = all_digits(right[i]);
        if (left_numeric != right_numeric) return left_numeric ? -1 : 1;
        int c;
        if (left_numeric) {
            std::string_view lv =
                left[i].substr(std::min(left[i].find_first_not_of('0'), left[i].size()));
            std::string_view rv =
                right[i].substr(std::min(right[i].find_first_not_of('0'), right[i].size()));
            if (lv.size() != rv.size())
                c = lv.size() < rv.size() ? -1 : 1;
            else if ((c = compare_text(lv, rv)) == 0 && left[i].size() != right[i].size())
                c = left[i].size() < right[i].size() ? -1 : 1;
        } else {
            c = compare_text(left[i], right[i]);
        }
        if (c != 0) return c;
    }
    return left.size() == right.size() ? 0 : -1;
}

int compare_numbers(std::uint64_t a, std::uint64_t b) { return (a > b) - (a < b); }

// The reference's canonical form for tilde and caret filters: numeric core padded to three
// components with leading zeros stripped, pre-release/build suffix untouched.
std::string canonical_version_text(std::string_view version) {
    const std::size_t split = version.find_first_of("-+");
    const std::string_view core = version.substr(0, split);
    const std::string_view suffix =
        split == std::string_view::npos ? std::string_view() : version.substr(split);
    std::vector<std::string_view> parts = split_pieces(core, '.');
    for (auto& part : parts) part = strip_leading_zeros(part);
    while (parts.size() < 3) parts.push_back("0");
    std::string text;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) text += '.';
        text += parts[i];
    }
    text += suffix;
    return text;
}

// The reference's wildcard form: leading zeros stripped from every dot-separated piece, and
// "*" spelled "x" for the semver crate.
std::string wildcard_requirement_text(std::string_view version) {
    std::string text;
    bool first = true;
    for_each_piece(version, '.', [&](std::string_view piece) {
        if (!first) text += '.';
        first = false;
        text += strip_leading_zeros(piece);
    });
    std::replace(text.begin(), text.end(), '*', 'x');
    return text;
}

bool is_wildcard_char(char c) { return c == '*' || c == 'x' || c == 'X'; }

}  // namespace

std::optional<SemanticVersion> parse_lenient_version(std::string_view text) {
    text = normalize_version_text(text);
    const std::size_t split = text.find_first_of("-+");
    std::string_view core = text.substr(0, split);
    std::string_view suffix =
        split == std::string_view::npos ? std::string_view() : text.substr(split);

    std::uint64_t parts[3] = {0, 0, 0};
    std::size_t count = 0;
    bool ok = true;
    for_each_piece(core, '.', [&](std::string_view piece) {
        std::optional<std::uint64_t> value = count < 3 ? lenient_component(piece) : std::nullopt;
        if (!value)
            ok = false;
        else
            parts[count++] = *value;
    });
    if (!ok) return std::nullopt;

    SemanticVersion version{parts[0], parts[1], parts[2], {}, {}};
    if (!suffix.empty() && suffix.front() == '-') {
        suffix.remove_prefix(1);
        std::optional<std::string_view> pre = take_identifiers(suffix, true);
        if (!pre || pre->empty()) return std::nullopt;
        version.pre = *pre;
    }
    if (!suffix.empty() && suffix.front() == '+') {
        suffix.remove_prefix(1);
        std::optional<std::string_view> build = take_identifiers(suffix, false);
        if (!build || build->empty()) return std::nullopt;
        version.build = *build;
    }
    if (!suffix.empty()) return std::nullopt;
    return version;
}

int compare_versions(const SemanticVersion& a, const SemanticVersion& b) {
    if (int c = compare_numbers(a.major, b.major)) return c;
    if (int c = compare_numbers(a.minor, b.minor)) return c;
    if (int c = compare_numbers(a.patch, b.patch)) return c;
    if (int c = compare_prerelease(a.pre, b.pre)) return c;
    return compare_build(a.build, b.build);
}

std::optional<VersionRequirement> VersionRequirement::from_filter(RangeOperator op,
                                                                  std::string_view filter_value) {
    const std::string_view version = normalize_version_text(filter_value);
    switch (op) {
        case RangeOperator::Tilde: return parse("~" + canonical_version_text(version));
        case RangeOperator::Caret: return parse("^" + canonical_version_text(version));
        case RangeOperator::Wildcard: return parse(wildcard_requirement_text(version));
    }
    return std::nullopt;
}

std::optional<VersionRequirement::Comparator> VersionRequirement::parse_comparator(
    std::string_view& text) {
    Comparator c;
    bool default_kind = false;
    if (text.starts_with(">="))
        c.kind = Kind::GreaterEq, text.remove_prefix(2);
    else if (text.starts_with("<="))
        c.kind = Kind::LessEq, text.remove_prefix(2);
    else if (text.starts_with('='))
        c.kind = Kind::Exact, text.remove_prefix(1);
    else if (text.starts_with('>'))
        c.kind = Kind::Greater, text.remove_prefix(1);
    else if (text.starts_with('<'))
        c.kind = Kind::Less, text.remove_prefix(1);
    else if (text.starts_with('~'))
        c.kind = Kind::Tilde, text.remove_prefix(1);
    else if (text.starts_with('^'))
        c.kind = Kind::Caret, text.remove_prefix(1);
    else
        default_kind = true;  // a bare version means caret
    trim_leading_spaces(text);

    std::optional<std::uint64_t> major = take_numeric_identifier(text);
    if (!major) return std::nullopt;
    c.major = *major;

    bool minor_is_wildcard = false;
    if (text.starts_with('.')) {
        text.remove_prefix(1);
        if (!text.empty() && is_wildcard_char(text.front())) {
            text.remove_prefix(1);
            minor_is_wildcard = true;
            if (default_kind) c.kind = Kind::Wildcard;
        } else {
            c.minor = take_numeric_identifier(text);
            if (!c.minor) return std::nullopt;
        }
    }
    if (text.starts_with('.')) {
        text.remove_prefix(1);
        if (!text.empty() && is_wildcard_char(text.front())) {
            text.remove_prefix(1);
            if (default_kind) c.kind = Kind::Wildcard;
        } else if (minor_is_wildcard) {
            return std::nullopt;  // "1.*.3"
        } else {
            c.patch = take_numeric_identifier(text);
            if (!c.patch) return std::nullopt;
        }
    }
    if (c.patch && text.starts_with('-')) {
        text.remove_prefix(1);
        std::optional<std::string_view> pre = take_identifiers(text, true);
        if (!pre || pre->empty()) return std::nullopt;
        c.pre = std::string(*pre);
    }
    if (c.patch && text.starts_with('+')) {  // build metadata is accepted and ignored
        text.remove_prefix(1);
        std::optional<std::string_view> build = take_identifiers(text, false);
        if (!build || build->empty()) return std::nullopt;
    }
    trim_leading_spaces(text);
    return c;
}

std::optional<VersionRequirement> VersionRequirement::parse(std::string_view text) {
    constexpr std::size_t max_comparators = 32;  // the semver crate's limit
    trim_leading_spaces(text);
    VersionRequirement requirement;
    if (!text.empty() && is_wildcard_char(text.front())) {
        text.remove_prefix(1);
        trim_leading_spaces(text);
        if (!text.empty()) return std::nullopt;
        return requirement;  // "*": any release
    }
    for (;;) {
        std::optional<Comparator> c = parse_comparator(text);
        if (!c) return std::nullopt;
        requirement.comparators_.push_back(std::move(*c));
        if (text.empty()) return requirement;
        if (text.front() != ',' || requirement.comparators_.size() == max_comparators)
            return std::nullopt;
        text.remove_prefix(1);
        trim_leading_spaces(text);
    }
}

bool VersionRequirement::comparator_matches(const Comparator& c, const SemanticVersion& v) {
    const auto exact = [&] {
        return v.major == c.major && (!c.minor || v.minor == *c.minor) &&
               (!c.patch || v.patch == *c.patch) && v.pre == c.pre;
    };
    // Compares v with c on the components c names; 0 when they agree on all of them.
    const auto partial_compare = [&](int& result) {
        if (v.major != c.major) return result = compare_numbers(v.major, c.major), true;
        if (!c.minor) return false;
        if (v.minor != *c.minor) return result = compare_numbers(v.minor, *c.minor), true;
        if (!c.patch) return false;
        if (v.patch != *c.patch) return result = compare_numbers(v.patch, *c.patch), true;
        result = compare_prerelease(v.pre, c.pre);
        return true;
    };
    int order = 0;
    switch (c.kind) {
        case Kind::Exact:
        case Kind::Wildcard: return exact();
        case Kind::Greater: return partial_compare(order) && order > 0;
        case Kind::GreaterEq: return exact() || (partial_compare(order) && order > 0);
        case Kind::Less: return partial_compare(order) && order < 0;
        case Kind::LessEq: return exact() || (partial_compare(order) && order < 0);
        case Kind::Tilde:
            if (v.major != c.major) return false;
            if (c.minor && v.minor != *c.minor) return false;
            if (c.patch && v.patch != *c.patch) return v.patch > *c.patch;
            return compare_prerelease(v.pre, c.pre) >= 0;
        case Kind::Caret: {
            if (v.major != c.major) return false;
            if (!c.minor) return true;
            const std::uint64_t minor = *c.minor;
            if (!c.patch) return c.major > 0 ? v.minor >= minor : v.minor == minor;
            const std::uint64_t patch = *c.patch;
            if (c.major > 0) {
                if (v.minor != minor) return v.minor > minor;
                if (v.patch != patch) return v.patch > patch;
            } else if (minor > 0) {
                if (v.minor != minor) return false;
                if (v.patch != patch) return v.patch > patch;
            } else if (v.minor != minor || v.patch != patch) {
                return false;
            }
            return compare_prerelease(v.pre, c.pre) >= 0;
        }
    }
    return false;
}

bool VersionRequirement::matches(const SemanticVersion& version) const {
    for (const Comparator& c : comparators_)
        if (!comparator_matches(c, version)) return false;
    if (version.pre.empty()) return true;
    // A pre-release only satisfies a requirement that names a pre-release of the same
    // major.minor.patch, so "^1.0.0" does not pull in 2.0.0-beta.
    for (const Comparator& c : comparators_)
        if (c.major == version.major && c.minor == version.minor && c.patch == version.patch &&
            !c.pre.empty())
            return true;
    return false;
}

}  // namespace flag_eval
