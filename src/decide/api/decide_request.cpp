#include "decide/api/decide_request.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <utility>

namespace flag_eval::decide {
namespace {

namespace json = boost::json;

using Result = std::variant<DecideRequest, RequestError>;

RequestError bad(std::string message) { return {400, std::move(message)}; }

// The first of `names` present with a non-null value; its name goes to `found_name`.
json::value* field(json::object& body, std::initializer_list<std::string_view> names,
                   std::string_view& found_name) {
    for (std::string_view name : names) {
        const auto it = body.find(name);
        if (it != body.end() && !it->value().is_null()) {
            found_name = name;
            return &it->value();
        }
    }
    return nullptr;
}

const char* kind(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_: return "a number";
        case json::kind::string: return "a string";
        case json::kind::array: return "an array";
        case json::kind::object: return "an object";
    }
    return "unknown";
}

// A JSON number as the digits a person would write: 8675309, 123.45.
std::string number_text(const json::value& v) {
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
    return ec == std::errc{} ? std::string(buf, end) : std::string{};
}

// A string, or a number as its digits; nullopt for anything else.
std::optional<std::string> string_or_number(const json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_number()) return number_text(v);
    return std::nullopt;
}

// The strings of a JSON array into `out`; an error naming the field otherwise.
std::optional<RequestError> read_strings(const json::value& v, std::string_view name,
                                         std::string_view what, std::vector<std::string>& out) {
    if (!v.is_array())
        return bad(std::string(name) + " must be an array of " + std::string(what) + ", not " +
                   kind(v));
    const json::array& array = v.get_array();
    out.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
        if (!array[i].is_string())
            return bad(std::string(name) + "[" + std::to_string(i) + "] must be a string, not " +
                       kind(array[i]));
        out.emplace_back(array[i].get_string());
    }
    return std::nullopt;
}

std::string quoted(std::string_view key) {
    std::string out = "\"";
    out.append(key);
    out.push_back('"');
    return out;
}

}  // namespace

std::variant<DecideRequest, RequestError> parse_decide_request(std::string_view json_text) {
    try {
        json::parse_options options;
        options.max_depth = 64;  // properties nest; the default of 32 is tight for real payloads
        boost::system::error_code ec;
        // One arena for the body and the request's JSON members, which keep it alive: parsing a
        // body of a few hundred bytes into the heap took dozens of allocations.
        const json::storage_ptr arena = json::make_shared_resource<json::monotonic_resource>(
            std::max<std::size_t>(1024, 4 * json_text.size()));
        json::value parsed = json::parse(json_text, ec, arena, options);
        if (ec) return bad("request body is not valid JSON: " + ec.message());
        if (!parsed.is_object())
            return bad(std::string("request body must be a JSON object, not ") + kind(parsed));
        json::object& body = parsed.get_object();

        DecideRequest request(arena);
        std::string_view name;

        // Type checks come first: a malformed body is a 400 whatever else it lacks.
        if (json::value* v = field(body, {"groups", "$groups"}, name)) {
            if (!v->is_object())
                return bad(std::string(name) +
                           " must be an object of group keys by group type, not " + kind(*v));
            for (const auto& [type, key] : v->get_object()) {
                if (key.is_null()) continue;
                auto text = string_or_number(key);
                if (!text)
                    return bad(std::string(name) + "." + quoted(type) +
                               " must be a string or a number (the group key), not " + kind(key));
                request.groups[type] = std::move(*text);
            }
        }
        if (json::value* v = field(body, {"person_properties", "$properties"}, name)) {
            if (!v->is_object())
                return bad(std::string(name) + " must be an object, not " + kind(*v));
            request.person_properties = std::move(v->get_object());
        }
        if (json::value* v = field(body, {"group_properties", "$group_properties"}, name)) {
            if (!v->is_object())
                return bad(std::string(name) +
                           " must be an object of properties by group type, not " + kind(*v));
            for (auto& [type, properties] : v->get_object()) {
                if (properties.is_null()) continue;
                if (!properties.is_object())
                    return bad(std::string(name) + "." + quoted(type) + " must be an object, not " +
                               kind(properties));
                request.group_properties[type] = std::move(properties);
            }
        }
        if (json::value* v = field(body, {"$anon_distinct_id", "anon_distinct_id"}, name)) {
            auto text = string_or_number(*v);
            if (!text) return bad(std::string(name) + " must be a string, not " + kind(*v));
            if (!text->empty()) request.anon_distinct_id = std::move(*text);
        }
        if (json::value* v = field(body, {"device_id", "$device_id"}, name)) {
            auto text = string_or_number(*v);
            if (!text) return bad(std::string(name) + " must be a string, not " + kind(*v));
            if (!text->empty()) request.device_id = std::move(*text);
        }
        if (json::value* v = field(body, {"flag_keys_to_evaluate", "flag_keys"}, name)) {
            request.flag_keys.emplace();
            if (auto error = read_strings(*v, name, "flag keys", *request.flag_keys)) return *error;
        }
        if (json::value* v = field(body, {"evaluation_runtime"}, name)) {
            if (!v->is_string())
                return bad(std::string(name) + " must be a string, not " + kind(*v));
            // As PostHog reads it: a value other than client or server means all.
            const auto runtime = request_runtime_from_name(v->get_string());
            request.scope.runtime =
                runtime && *runtime != RequestRuntime::Unknown ? *runtime : RequestRuntime::All;
            request.runtime_declared = true;
        }
        if (json::value* v =
                field(body, {"evaluation_contexts", "evaluation_environments"}, name)) {
            if (auto error = read_strings(*v, name, "context names", request.scope.contexts))
                return *error;
        }
        if (json::value* v = field(body, {"disable_flags"}, name)) {
            if (!v->is_bool())
                return bad(std::string(name) + " must be a boolean, not " + kind(*v));
            request.disable_flags = v->get_bool();
        }
        const json::value* distinct_id = field(body, {"distinct_id", "$distinct_id"}, name);
        const std::string_view distinct_id_name = name;
        if (distinct_id && !distinct_id->is_string() && !distinct_id->is_number())
            return bad(std::string(distinct_id_name) + " must be a string or a number, not " +
                       kind(*distinct_id));

        // PostHog answers 401 for a missing token before it looks at the subject.
        if (json::value* v = field(body, {"token", "$token", "api_key"}, name)) {
            if (!v->is_string())
                return bad(std::string(name) + " must be a string, not " + kind(*v));
            request.token = std::string(v->get_string());
        }
        if (request.token.empty())
            return RequestError{401,
                                "no token: send the project API key as \"token\" (or \"api_key\")"};

        if (!distinct_id)
            return bad("distinct_id is missing: send the subject's id as \"distinct_id\"");
        request.distinct_id = *string_or_number(*distinct_id);
        if (request.distinct_id.empty())
            return bad(std::string(distinct_id_name) + " must not be empty");
        return request;
    } catch (const std::bad_alloc&) {
        return RequestError{413, "request body is too large to parse"};
    } catch (const std::exception& e) {
        return bad(std::string("request body cannot be read: ") + e.what());
    }
}

}  // namespace flag_eval::decide
