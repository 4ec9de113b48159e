#include "core/problems.hpp"
#include "pg/jsonb_properties.hpp"

#include <boost/json/parse.hpp>

#include "pg/error_report.hpp"
#include "pg/pg_guard.hpp"

#include <charconv>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace flag_eval::pg {
namespace {

// Deeper definitions are refused: PostHog flags and cohorts nest a handful of levels, and the
// compilers recurse over the structure.
constexpr unsigned kMaxDefinitionDepth = 64;

[[noreturn]] void invalid_context(const std::string& path, const char* message) {
    throw InvalidInput("invalid context at " + path + ": " + message);
}

std::string field_path(const std::string& path, std::string_view key) {
    std::string p = path;
    p.append(".").append(key);
    return p;
}

std::string_view string_of(const JsonbValue& v) {
    return {v.val.string.val, static_cast<std::size_t>(v.val.string.len)};
}

bool is_object(const JsonbValue& v) {
    return v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data);
}

// The member `key` of an object container. With a result buffer supplied, the lookup neither
// allocates nor raises (jsonb_util.c), so it needs no guard; it is the per-row path.
bool lookup(JsonbContainer* object, std::string_view key, JsonbValue& out) {
    if (key.size() > static_cast<std::size_t>(INT_MAX)) return false;
    return getKeyJsonValueFromContainer(object, key.data(), static_cast<int>(key.size()), &out) !=
           nullptr;
}

// numeric_out of a jsonb number, palloc'd in the current memory context.
const char* numeric_text(Numeric n) {
    const char* text = nullptr;
    guarded([&] { text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n))); });
    return text;
}

// The JSON text of an array or object container, palloc'd in the current memory context.
const char* container_text(JsonbContainer* container, int estimated_len) {
    const char* text = nullptr;
    guarded([&] { text = JsonbToCString(nullptr, container, estimated_len); });
    return text;
}

// The string form the engine compares for a jsonb number. The reference reads properties with
// serde_json, where an integer that fits i64 / u64 keeps its digits and any other number becomes
// an f64 printed back in shortest form (1.50 -> "1.5", 1e30 -> "1e30"). numeric_out's text is
// that form for such integers; for the others the text is left empty, which tells the engine to
// print the double the way the reference does (core/operators.cpp).
std::string_view number_string_form(const char* text) {
    const std::size_t len = std::strlen(text);
    if (std::memchr(text, '.', len) == nullptr) {
        std::int64_t i = 0;
        std::uint64_t u = 0;
        const auto as_i64 = std::from_chars(text, text + len, i);
        const auto as_u64 = std::from_chars(text, text + len, u);
        if ((as_i64.ec == std::errc() && as_i64.ptr == text + len) ||
            (as_u64.ec == std::errc() && as_u64.ptr == text + len))
            return {text, len};
    }
    return {};
}

// numeric_out text -> double. numeric_out never writes an exponent; a value beyond double's
// range becomes +-inf (strtod's ERANGE), so huge numerics compare rather than fail. The backend
// keeps LC_NUMERIC at "C", so strtod reads '.' as the decimal point.
double text_to_double(const char* text) { return std::strtod(text, nullptr); }

// Plain data (it lives in palloc'd memory).
struct Member {
    const char* key_data;
    int key_len;
    JsonbValue value;
    std::string_view key() const { return {key_data, static_cast<std::size_t>(key_len)}; }
};

// The direct members of an object container, in a palloc'd array (keys and values point into
// the container).
Member* object_members(JsonbContainer* object, int& count) {
    Member* members = nullptr;
    int n = 0;
    guarded([&] {
        const int size = JsonContainerSize(object);
        members = static_cast<Member*>(palloc0(sizeof(Member) * (size > 0 ? size : 1)));
        JsonbIterator* it = JsonbIteratorInit(object);
        JsonbValue v;
        JsonbIteratorToken token;
        while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
            if (token == WJB_KEY && n < size) {
                members[n].key_data = v.val.string.val;
                members[n].key_len = v.val.string.len;
            } else if (token == WJB_VALUE && n < size) {
                members[n++].value = v;
            }
        }
    });
    count = n;
    return members;
}

// The elements of an array container, in a palloc'd array (strings point into the container).
JsonbValue* array_elements(JsonbContainer* array, int& count) {
    JsonbValue* elements = nullptr;
    int n = 0;
    guarded([&] {
        const int size = JsonContainerSize(array);
        elements = static_cast<JsonbValue*>(palloc0(sizeof(JsonbValue) * (size > 0 ? size : 1)));
        JsonbIterator* it = JsonbIteratorInit(array);
        JsonbValue v;
        JsonbIteratorToken token;
        while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
            if (token == WJB_ELEM && n < size) elements[n++] = v;
    });
    count = n;
    return elements;
}

// An integer group key as its decimal string, the way the engine's JSON context reads it: an
// int64, or a number with an integral value inside int64's range.
bool integer_group_key(Numeric n, std::string& out) {
    const char* text = numeric_text(n);
    const std::size_t len = std::strlen(text);
    std::int64_t i = 0;
    auto [end, ec] = std::from_chars(text, text + len, i);
    if (ec == std::errc() && end == text + len) {
        out = std::to_string(i);
        return true;
    }
    if (std::strchr(text, '.') == nullptr) return false;  // an integer beyond int64
    const double d = text_to_double(text);
    if (d > -9.2e18 && d < 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d))) {
        out = std::to_string(static_cast<std::int64_t>(d));
        return true;
    }
    return false;
}

}  // namespace

PropertyValue JsonbPropertySource::get(std::string_view key) const {
    JsonbValue v;
    if (!lookup(object_, key, v)) return PropertyValue::make_missing();
    switch (v.type) {
        case jbvNull: return PropertyValue::make_null();
        case jbvBool: return PropertyValue::make_bool(v.val.boolean);
        case jbvString: return PropertyValue::make_string(string_of(v));
        case jbvNumeric: {
            const char* text = numeric_text(v.val.numeric);
            return PropertyValue::make_number(text_to_double(text), number_string_form(text));
        }
        case jbvBinary: {
            const bool array = JsonContainerIsArray(v.val.binary.data);
            const char* text = container_text(v.val.binary.data, v.val.binary.len);
            return {array ? ValueKind::Array : ValueKind::Object, false, 0.0, text};
        }
        default: return PropertyValue::make_missing();  // not produced for a stored jsonb
    }
}

JsonbContainer* properties_object(Jsonb* properties) {
    if (!JB_ROOT_IS_OBJECT(properties))
        throw InvalidInput("invalid properties at $: expected an object");
    return &properties->root;
}

// The request's runtime and evaluation contexts, named as in PostHog's /flags body.
void JsonbContext::read_scope(JsonbContainer* root) {
    JsonbValue runtime, contexts;
    const bool has_runtime = lookup(root, "evaluation_runtime", runtime) && runtime.type != jbvNull;
    std::string contexts_path = "$.evaluation_contexts";
    bool has_contexts = lookup(root, "evaluation_contexts", contexts) && contexts.type != jbvNull;
    if (!has_contexts) {
        contexts_path = "$.evaluation_environments";
        has_contexts =
            lookup(root, "evaluation_environments", contexts) && contexts.type != jbvNull;
    }
    if (!has_runtime && !has_contexts) return;
    if (has_runtime) {
        const auto parsed = runtime.type == jbvString
                                ? request_runtime_from_name(string_of(runtime))
                                : std::nullopt;
        if (!parsed)
            invalid_context("$.evaluation_runtime",
                            "expected \"all\", \"client\", \"server\" or \"unknown\"");
        scope_.runtime = *parsed;
    }
    if (has_contexts) {
        if (contexts.type != jbvBinary || !JsonContainerIsArray(contexts.val.binary.data))
            invalid_context(contexts_path, "expected an array");
        int count = 0;
        const JsonbValue* elements = array_elements(contexts.val.binary.data, count);
        for (int i = 0; i < count; ++i) {
            if (elements[i].type != jbvString)
                invalid_context(contexts_path + "[" + std::to_string(i) + "]",
                                "expected a context name");
            scope_.contexts.emplace_back(string_of(elements[i]));
        }
    }
    context_.scope = &scope_;
}

JsonbContext::JsonbContext(Jsonb* jsonb) {
    context_.person_properties = &empty_;
    if (!JB_ROOT_IS_OBJECT(jsonb)) invalid_context("$", "expected a context object");
    JsonbContainer* root = &jsonb->root;

    // A member that is absent or JSON null counts as absent.
    auto member = [&](std::string_view key, JsonbValue& v) {
        return lookup(root, key, v) && v.type != jbvNull;
    };
    auto object_member = [&](std::string_view key) -> JsonbContainer* {
        JsonbValue v;
        if (!member(key, v)) return nullptr;
        if (!is_object(v)) invalid_context(field_path("$", key), "expected an object");
        return v.val.binary.data;
    };

    JsonbValue v;
    if (member("distinct_id", v)) {
        if (v.type != jbvString) invalid_context("$.distinct_id", "expected a string");
        context_.distinct_id = string_of(v);
    }
    // PostHog's /flags body spells it both ways; device_id wins.
    for (const char* key : {"$device_id", "device_id"})
        if (member(key, v)) {
            if (v.type != jbvString) invalid_context(field_path("$", key), "expected a string");
            context_.device_id = string_of(v);
        }
    if (JsonbContainer* person = object_member("person_properties"))
        context_.person_properties = &sources_.emplace_back(person);
    read_scope(root);
    JsonbContainer* groups = object_member("groups");
    JsonbContainer* group_properties = object_member("group_properties");

    if (member("group_type_mapping", v)) {
        if (!is_object(v))
            invalid_context("$.group_type_mapping",
                            "expected an object of group type names by index");
        int count = 0;
        const Member* members = object_members(v.val.binary.data, count);
        for (int i = 0; i < count; ++i) {
            const std::string_view index = members[i].key();
            const std::string path = field_path("$.group_type_mapping", index);
            if (index.size() != 1 || index[0] < '0' || index[0] > '4')
                invalid_context(path, "group type indexes are 0 to 4");
            if (members[i].value.type != jbvString)
                invalid_context(path, "expected a group type name");
            context_.group_type_mapping[index[0] - '0'] = std::string(string_of(members[i].value));
        }
    }

    if (!groups) return;
    int count = 0;
    const Member* members = object_members(groups, count);
    for (int i = 0; i < count; ++i) {
        const std::string_view type = members[i].key();
        const JsonbValue& key = members[i].value;
        GroupContext group;
        group.type_name = std::string(type);
        if (key.type == jbvString)
            group.key = std::string(string_of(key));
        else if (key.type != jbvNumeric || !integer_group_key(key.val.numeric, group.key))
            invalid_context(field_path("$.groups", type), "expected a group key string or integer");
        group.properties = &empty_;
        JsonbValue props;
        if (group_properties && lookup(group_properties, type, props)) {
            if (!is_object(props))
                invalid_context(field_path("$.group_properties", type), "expected an object");
            group.properties = &sources_.emplace_back(props.val.binary.data);
        }
        context_.groups.push_back(std::move(group));
    }
}

JsonbContainer* object_root(Jsonb* jsonb) {
    return jsonb != nullptr && JB_ROOT_IS_OBJECT(jsonb) ? &jsonb->root : nullptr;
}

JsonbContainer* root_container(Jsonb* jsonb) { return &jsonb->root; }

bool container_is_empty(JsonbContainer* container) { return JsonContainerSize(container) == 0; }

const char* jsonb_type_name(Jsonb* jsonb) {
    return TextDatumGetCString(DirectFunctionCall1(jsonb_typeof, JsonbPGetDatum(jsonb)));
}

MemberObject member_object(JsonbContainer* object, std::string_view key) {
    JsonbValue v;
    if (!lookup(object, key, v)) return {false, nullptr};
    return {true, is_object(v) ? v.val.binary.data : nullptr};
}

// No guard: decide() calls it under guarded(), and no C++ exception may unwind through PG_TRY.
MemberText* member_texts(JsonbContainer* object, int* count) {
    const int size = JsonContainerSize(object);
    auto* members = static_cast<MemberText*>(palloc0(sizeof(MemberText) * (size > 0 ? size : 1)));
    JsonbIterator* it = JsonbIteratorInit(object);
    JsonbValue v;
    JsonbIteratorToken token;
    int n = 0;
    while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
        if (token == WJB_KEY && n < size) {
            members[n].key = v.val.string.val;
            members[n].key_length = v.val.string.len;
            continue;
        }
        if (token != WJB_VALUE || n >= size) continue;
        MemberText& m = members[n++];
        if (v.type == jbvString) {
            m.kind = MemberText::Kind::String;
            m.text = v.val.string.val;
            m.text_length = v.val.string.len;
        } else if (v.type == jbvNumeric) {
            m.kind = MemberText::Kind::Number;
            m.text =
                DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
            m.text_length = static_cast<int>(std::strlen(m.text));
        } else {
            m.kind = MemberText::Kind::Other;
        }
    }
    *count = n;
    return members;
}

boost::json::value jsonb_to_json(Jsonb* jsonb) {
    const char* text = container_text(&jsonb->root, static_cast<int>(VARSIZE(jsonb)));
    boost::json::parse_options options;
    options.max_depth = kMaxDefinitionDepth;
    boost::json::error_code ec;
    boost::json::value value = boost::json::parse(std::string_view(text), ec, {}, options);
    if (ec == boost::json::error::too_deep)
        throw InvalidDefinition(
            "$", "nested deeper than " + std::to_string(kMaxDefinitionDepth) + " levels");
    if (ec) throw InvalidDefinition("$", "cannot be read: " + ec.message());
    return value;
}

Datum jsonb_from_text(const char* json) {
    return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

}  // namespace flag_eval::pg
