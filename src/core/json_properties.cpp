#include "json_properties.hpp"

#include "json_access.hpp"
#include "problems.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace flag_eval {
namespace {

using namespace json_access;
namespace json = boost::json;

}  // namespace

PropertyValue JsonPropertySource::get(std::string_view key) const {
    if (!object_) return {};
    const json::value* v = object_->if_contains(key);
    if (!v) return {};
    switch (v->kind()) {
        case json::kind::null: return PropertyValue::make_null();
        case json::kind::bool_: return PropertyValue::make_bool(v->get_bool());
        case json::kind::string: return PropertyValue::make_string(v->get_string());
        case json::kind::int64:
        case json::kind::uint64: {
            // The digits, as serialize() writes them, without a serializer per number.
            char digits[24];
            char* end = v->is_int64()
                            ? std::to_chars(digits, digits + sizeof digits, v->get_int64()).ptr
                            : std::to_chars(digits, digits + sizeof digits, v->get_uint64()).ptr;
            const std::string& text = texts_.emplace_back(digits, end - digits);
            return PropertyValue::make_number(*number(*v), text);
        }
        case json::kind::double_: return PropertyValue::make_number(v->get_double(), {});
        case json::kind::array:
        case json::kind::object: {
            const std::string& text = texts_.emplace_back(json::serialize(*v));
            return {v->is_array() ? ValueKind::Array : ValueKind::Object, false, 0.0, text};
        }
    }
    return {};
}

void parse_group_type_mapping(const json::value& v, const std::string& path,
                              GroupTypeMapping& mapping) {
    if (v.is_null()) return;
    if (!v.is_object())
        throw InvalidDefinition(path, "expected an object of group type names by index");
    for (const auto& [index, name] : v.get_object()) {
        const std::string p = field_path(path, index);
        if (index.size() != 1 || index[0] < '0' || index[0] > '4')
            throw InvalidDefinition(p, "group type indexes are 0 to 4");
        if (!name.is_string()) throw InvalidDefinition(p, "expected a group type name");
        mapping[index[0] - '0'] = std::string(name.get_string());
    }
}

// The request's runtime and evaluation contexts, named as in PostHog's /flags body.
void JsonContext::read_scope(const json::object& o) {
    Problems problems;
    const auto runtime = read_string(o, "evaluation_runtime", "$", problems);
    const char* contexts_name =
        member(o, "evaluation_contexts") ? "evaluation_contexts" : "evaluation_environments";
    const auto* contexts = read_array(o, contexts_name, "$", problems);
    if (const Problem* p = problems.first_invalid()) throw InvalidDefinition(p->path, p->message);
    if (!runtime && !contexts) return;
    if (runtime) {
        const auto parsed = request_runtime_from_name(*runtime);
        if (!parsed)
            throw InvalidDefinition("$.evaluation_runtime",
                                    "expected \"all\", \"client\", \"server\" or \"unknown\"");
        scope_.runtime = *parsed;
    }
    if (contexts)
        for (std::size_t i = 0; i < contexts->size(); ++i) {
            if (!(*contexts)[i].is_string())
                throw InvalidDefinition(index_path(field_path("$", contexts_name), i),
                                        "expected a context name");
            scope_.contexts.emplace_back((*contexts)[i].get_string());
        }
    context_.scope = &scope_;
}

JsonContext::JsonContext(const json::value& context_json) : json_(context_json) {
    context_.person_properties = &empty_;
    if (!json_.is_object()) throw InvalidDefinition("$", "expected a context object");
    const auto& o = json_.get_object();
    Problems problems;
    if (auto id = read_string(o, "distinct_id", "$", problems)) context_.distinct_id = *id;
    // PostHog's /flags body spells it both ways; device_id wins.
    for (const char* key : {"$device_id", "device_id"})
        if (auto id = read_string(o, key, "$", problems)) context_.device_id = *id;
    if (const auto* person = read_object(o, "person_properties", "$", problems))
        context_.person_properties = &sources_.emplace_back(person);
    read_scope(o);
    const auto* groups = read_object(o, "groups", "$", problems);
    const auto* group_properties = read_object(o, "group_properties", "$", problems);
    if (const Problem* p = problems.first_invalid()) throw InvalidDefinition(p->path, p->message);
    if (const auto* mapping = member(o, "group_type_mapping"))
        parse_group_type_mapping(*mapping, "$.group_type_mapping", context_.group_type_mapping);
    if (!groups) return;
    for (const auto& [type, key] : *groups) {
        GroupContext group;
        group.type_name = std::string(type);
        if (key.is_string())
            group.key = std::string(key.get_string());
        else if (auto i = integer(key))
            group.key = std::to_string(*i);  // an integer group key buckets as its decimal string
        else
            throw InvalidDefinition(field_path("$.groups", type),
                                    "expected a group key string or integer");
        group.properties = &empty_;
        if (group_properties)
            if (const auto* props = group_properties->if_contains(type)) {
                if (!props->is_object())
                    throw InvalidDefinition(field_path("$.group_properties", type),
                                            "expected an object");
                group.properties = &sources_.emplace_back(&props->get_object());
            }
        context_.groups.push_back(std::move(group));
    }
}

}  // namespace flag_eval
