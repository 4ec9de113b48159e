#include "outcome_lines.hpp"

#include <charconv>
#include <limits>

namespace flag_eval {
namespace {

// Runs without a character to escape are copied whole: keys and variants rarely have one.
void append_escaped(std::string& out, std::string_view s) {
    for (;;) {
        const std::size_t special = s.find_first_of("\\\t\n\r");
        out.append(s.substr(0, special));
        if (special == std::string_view::npos) return;
        out += '\\';
        switch (s[special]) {
            case '\t': out += 't'; break;
            case '\n': out += 'n'; break;
            case '\r': out += 'r'; break;
            default: out += '\\';
        }
        s.remove_prefix(special + 1);
    }
}

void append_integer(std::string& out, std::int64_t n) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, end);
}

// The field's text with escapes undone: the field itself when it has none.
std::optional<std::string_view> unescaped(std::string_view field, std::deque<std::string>& store) {
    if (field.find('\\') == std::string_view::npos) return field;
    std::string& out = store.emplace_back();
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\\') {
            out += field[i];
            continue;
        }
        if (++i == field.size()) return std::nullopt;
        switch (field[i]) {
            case '\\': out += '\\'; break;
            case 't': out += '\t'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            default: return std::nullopt;
        }
    }
    return std::string_view(out);
}

template <class Integer>
bool read_integer(std::string_view field, Integer& n) {
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), n);
    return !field.empty() && ec == std::errc() && end == field.data() + field.size();
}

}  // namespace

void append_outcome_line(std::string& out, const Flag& flag, const FlagResult& result) {
    append_escaped(out, flag.key);
    out += '\t';
    append_integer(out, flag.version);
    out += '\t';
    out += result.failed ? 'e' : result.enabled ? 't' : 'f';
    out += '\t';
    out += reason_code(result.reason);
    out += '\t';
    if (result.condition_index) append_integer(out, *result.condition_index);
    out += '\t';
    if (result.variant)
        append_escaped(out, *result.variant);
    else
        out += "\\N";
    out += '\t';
    append_escaped(out, result.description);
    out += '\n';
}

std::variant<OutcomeLines, std::string> read_outcome_lines(std::string_view text) {
    OutcomeLines read;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = text.find('\n');
        if (end == std::string_view::npos)
            return "outcome line " + std::to_string(line_number) + " does not end in a newline";
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end + 1);

        std::string_view fields[7];
        std::size_t count = 0;
        for (; count < 7; ++count) {
            const std::size_t tab = line.find('\t');
            fields[count] = line.substr(0, tab);
            if (tab == std::string_view::npos) {
                ++count;
                break;
            }
            line.remove_prefix(tab + 1);
        }
        const auto bad = [&](std::string_view what) {
            return "outcome line " + std::to_string(line_number) + ": " + std::string(what);
        };
        if (count != 7 || line.data() != fields[6].data()) return bad("expected 7 fields");

        OutcomeLine outcome;
        const auto key = unescaped(fields[0], read.unescaped);
        if (!key || key->empty()) return bad("bad key");
        outcome.key = *key;
        if (!read_integer(fields[1], outcome.version)) return bad("bad version");
        if (fields[2] == "t")
            outcome.enabled = true;
        else if (fields[2] == "e")
            outcome.failed = true;
        else if (fields[2] != "f")
            return bad("bad state");
        if (fields[3].empty()) return bad("no reason code");
        outcome.reason_code = fields[3];
        if (!fields[4].empty()) {
            int index = 0;
            if (!read_integer(fields[4], index) || index < 0) return bad("bad condition index");
            outcome.condition_index = index;
        }
        if (fields[5] != "\\N") {
            outcome.variant = unescaped(fields[5], read.unescaped);
            if (!outcome.variant) return bad("bad variant");
        }
        const auto description = unescaped(fields[6], read.unescaped);
        if (!description) return bad("bad description");
        outcome.description = *description;
        read.lines.push_back(outcome);
    }
    return read;
}

}  // namespace flag_eval
