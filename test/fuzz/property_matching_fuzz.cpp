// libFuzzer target: one property filter (operator and value) matched against one property.
//
// Input: up to three lines, so that mutations stay meaningful and seeds stay readable:
//   1. the operator name, then optional words: "!" negates the filter, "group" makes it a group
//      filter (group_type_index 0) instead of a person filter;
//   2. the filter value: JSON when it parses as JSON, else the line itself as a string;
//   3. the property value, the same way; without a third line the property is missing.
// The filter is compiled as the parser compiles it (compile_property_filter) and matched through
// filter_matches with the property in a JSON context, exactly as the service evaluates it. The
// date and version parsers also see both values directly.
#include "core/dates.hpp"
#include "core/filter_matching.hpp"
#include "core/flag_parser.hpp"
#include "core/json_properties.hpp"
#include "core/semver.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace json = boost::json;
using namespace flag_eval;

constexpr std::string_view kPropertyKey = "p";

// The next line of `rest` (without its '\n'), or nullopt when `rest` is exhausted.
std::optional<std::string_view> next_line(std::string_view& rest) {
    if (rest.empty()) return std::nullopt;
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    return line;
}

json::value json_or_string(std::string_view line) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec) return json::string(line);
    return v;
}

struct FilterHead {
    std::string op;
    bool negation = false;
    bool group = false;
};

FilterHead read_head(std::string_view line) {
    FilterHead head;
    const std::size_t space = line.find(' ');
    head.op = std::string(line.substr(0, space));
    std::string_view words =
        space == std::string_view::npos ? std::string_view{} : line.substr(space);
    head.negation = words.find(" !") != std::string_view::npos;
    head.group = words.find(" group") != std::string_view::npos;
    return head;
}

// The parsers behind the date and semver operators, on any text either side holds.
void parse_directly(const json::value& v) {
    const json::string* s = v.if_string();
    if (!s) return;
    const std::string_view text(*s);
    (void)parse_date_text(text, current_instant());
    const auto version = parse_lenient_version(text);
    if (version) (void)compare_versions(*version, *version);
    if (const auto requirement = VersionRequirement::parse(text); requirement && version)
        (void)requirement->matches(*version);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    const auto head_line = next_line(rest);
    const auto filter_line = next_line(rest);
    if (!head_line || !filter_line) return -1;
    const auto property_line = next_line(rest);

    const FilterHead head = read_head(*head_line);
    const json::value filter_value = json_or_string(*filter_line);
    std::optional<json::value> property;
    if (property_line) property = json_or_string(*property_line);

    parse_directly(filter_value);
    if (property) parse_directly(*property);

    json::object filter_json{{"key", kPropertyKey}, {"operator", head.op}, {"value", filter_value}};
    filter_json["type"] = head.group ? "group" : "person";
    if (head.group) filter_json["group_type_index"] = 0;
    if (head.negation) filter_json["negation"] = true;

    Problems problems;
    const PropertyFilter filter = compile_property_filter(filter_json, "$", problems);
    if (problems.any_invalid()) return 0;

    json::object properties;
    if (property) properties[kPropertyKey] = *property;
    const json::object context_json{
        {"distinct_id", "user-1"},
        {"person_properties", properties},
        {"groups", {{"organization", "org-1"}}},
        {"group_properties", {{"organization", properties}}},
        {"group_type_mapping", {{"0", "organization"}}},
    };
    const JsonContext context{json::value(context_json)};
    const MatchEnvironment env{context.context(), nullptr, nullptr};
    try {
        (void)filter_matches(filter, env);
    } catch (const EvaluationError&) {
        // Documented: a filter the subject cannot answer (a cohort or flag filter here).
    }
    return 0;
}
