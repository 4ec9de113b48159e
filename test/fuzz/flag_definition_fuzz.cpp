// libFuzzer target: the flag definition parser and compiler, then evaluation of what compiles.
//
// Input: JSON text, one of
//   - a conformance case {"definitions": {...}, "context": {...}}: the definitions document is
//     parsed as a FlagSet and evaluated for that context;
//   - a flags array or a feed document {"flags": [...], ...}: parsed as a FlagSet;
//   - anything else: one flag object, validated and compiled.
// What compiles is evaluated against a few fixed subjects and its results printed as JSON.
//
// The contract (docs/reference.md, Flag format): bad input raises InvalidDefinition naming the
// JSON path, and nothing else. Any other exception escapes and libFuzzer reports it as a crash.
#include "core/flag_answer.hpp"
#include "core/flag_parser.hpp"
#include "core/flag_set.hpp"
#include "core/flags_v2_writer.hpp"
#include "core/json_properties.hpp"
#include "core/result_json.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace json = boost::json;
using namespace flag_eval;

// Subjects whose properties reach every operator family: strings, numbers, booleans, null,
// arrays, dates, versions, and groups for group-aggregated flags.
constexpr const char* kSubjects[] = {
    R"({"distinct_id": "user-17"})",
    R"({"distinct_id": "", "person_properties": {}})",
    R"({"distinct_id": "user-61", "person_properties": {"plan": "enterprise", "email": "a@posthog.com",
        "age": 42, "score": 3.5, "beta": true, "nothing": null, "tags": ["a", "b"], "meta": {"k": 1},
        "signup": "2024-03-21T10:00:00Z", "app_version": "1.2.3", "country": "US", "$browser": "Chrome"},
        "groups": {"organization": "org-1", "project": 7},
        "group_properties": {"organization": {"plan": "team", "seats": 12}},
        "group_type_mapping": {"0": "organization", "1": "project"}})",
    R"({"distinct_id": "12345678901234567890", "person_properties": {"plan": 1, "email": false,
        "age": "42", "signup": 1711015200, "app_version": "v2.0.0-rc.1+build.5"}})",
};

// Built once: the subjects are not under test here (request_body_fuzz covers contexts).
const std::vector<std::unique_ptr<JsonContext>>& subjects() {
    static const std::vector<std::unique_ptr<JsonContext>> built = [] {
        std::vector<std::unique_ptr<JsonContext>> out;
        for (const char* text : kSubjects) {
            out.push_back(std::make_unique<JsonContext>(json::parse(text)));
        }
        return out;
    }();
    return built;
}

// Writing the results exercises result_json and the /flags v2 writer (reasons, payloads,
// variants) in both its styles, each within its bound.
void write_flags_v2(const EvaluationSummary& summary) {
    std::vector<std::string> descriptions;
    descriptions.reserve(summary.flags.size());
    std::vector<FlagAnswerView> flags;
    for (const auto& [flag, result] : summary.flags) {
        descriptions.push_back(reason_description(result));
        flags.push_back(flag_answer_view(*flag, result, descriptions.back()));
    }
    const std::size_t bound = flags_v2_members_max_size(flags);
    for (const V2Style style : {V2Style::Jsonb, V2Style::Document}) {
        std::vector<char> out(bound);
        JsonTextWriter w(out.data());
        write_flags_v2_members(w, flags, summary.errors_while_computing, style);
        if (static_cast<std::size_t>(w.end() - out.data()) > bound) __builtin_trap();
    }
}

void evaluate_set(const FlagSet& set, const EvaluationContext& context) {
    const EvaluationSummary summary = set.evaluate_all(context);
    (void)json::serialize(summary_json(summary));
    write_flags_v2(summary);
}

void evaluate_flag_alone(const Flag& flag, const EvaluationContext& context) {
    const FlagResult result = evaluate_flag(flag, context, nullptr, nullptr);
    (void)json::serialize(result_detail_json(flag, result));
}

void run_case(const json::value& definitions, const json::value& context_json) {
    std::unique_ptr<FlagSet> set;
    try {
        set = std::make_unique<FlagSet>(FlagSet::parse(definitions, Bucketing::Sha1));
    } catch (const InvalidDefinition&) {
        return;
    }
    try {
        const JsonContext context(context_json);
        evaluate_set(*set, context.context());
    } catch (const InvalidDefinition&) {
    }
    for (const auto& subject : subjects()) evaluate_set(*set, subject->context());
}

void run_set(const json::value& definitions) {
    try {
        const FlagSet set = FlagSet::parse(definitions, Bucketing::Xxh3);
        for (const auto& subject : subjects()) evaluate_set(set, subject->context());
    } catch (const InvalidDefinition&) {
    }
}

void run_flag(const json::value& flag_json) {
    (void)validate_flag(flag_json);  // must not throw, whatever the input
    std::unique_ptr<Flag> flag;
    try {
        flag = compile_flag(flag_json, Bucketing::Xxh3);
    } catch (const InvalidDefinition&) {
        return;
    }
    for (const auto& subject : subjects()) evaluate_flag_alone(*flag, subject->context());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 64;  // as the service parses bodies
    const json::value document =
        json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec, {}, options);
    if (ec) return -1;  // not JSON: not worth keeping in the corpus

    const json::object* object = document.if_object();
    if (object && object->contains("definitions") && object->contains("context"))
        run_case(object->at("definitions"), object->at("context"));
    else if (document.is_array() || (object && object->contains("flags")))
        run_set(document);
    else
        run_flag(document);
    return 0;
}
