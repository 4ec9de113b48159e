#include "decide/api/answer_shapes.hpp"

#include "core/flags_v2_writer.hpp"
#include "core/result_json.hpp"
#include "core/json_text_writer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace flag_eval::decide {
namespace {

namespace json = boost::json;

// The value SDKs read: the variant when there is one, else the boolean.
json::value flag_value(const FlagAnswerView& flag) {
    return flag.variant ? json::value(*flag.variant) : json::value(flag.enabled);
}

// ---- reading the database's body ----

struct ShapeError {
    std::string message;
};

[[noreturn]] void fail(const std::string& path, std::string_view expected) {
    throw ShapeError{path + " must be " + std::string(expected)};
}

std::string member_path(const std::string& path, std::string_view key) {
    std::string out = path;
    out += "[\"";
    out.append(key);
    out += "\"]";
    return out;
}

const json::object& object_at(const json::value& v, const std::string& path) {
    if (!v.is_object()) fail(path, "an object");
    return v.get_object();
}

const json::value* find(const json::object& o, std::string_view key) {
    const auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

const json::value& required(const json::object& o, std::string_view key, const std::string& path) {
    const json::value* v = find(o, key);
    if (!v) throw ShapeError{member_path(path, key) + " is missing"};
    return *v;
}

bool boolean_at(const json::value& v, const std::string& path) {
    if (!v.is_bool()) fail(path, "a boolean");
    return v.get_bool();
}

// jsonb writes integers as plain numbers; an integral double is accepted too.
std::int64_t integer_at(const json::value& v, const std::string& path) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() &&
        v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return static_cast<std::int64_t>(v.get_uint64());
    if (v.is_double()) {
        const double d = v.get_double();
        if (std::trunc(d) == d && std::abs(d) < 9.0e15) return static_cast<std::int64_t>(d);
    }
    fail(path, "an integer");
}

std::optional<std::string> optional_string_at(const json::object& o, std::string_view key,
                                              const std::string& path) {
    const json::value* v = find(o, key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) fail(member_path(path, key), "a string or null");
    return std::string(v->get_string());
}

FlagAnswer flag_from_json(std::string_view map_key, const json::value& value,
                          const std::string& path) {
    const json::object& o = object_at(value, path);
    FlagAnswer flag;
    const json::value* key = find(o, "key");
    if (key && !key->is_string()) fail(member_path(path, "key"), "a string");
    flag.key = key ? std::string(key->get_string()) : std::string(map_key);
    flag.enabled = boolean_at(required(o, "enabled", path), member_path(path, "enabled"));
    flag.variant = optional_string_at(o, "variant", path);

    const std::string reason_path = member_path(path, "reason");
    if (const json::value* reason = find(o, "reason"); reason && !reason->is_null()) {
        const json::object& r = object_at(*reason, reason_path);
        const json::value& code = required(r, "code", reason_path);
        if (!code.is_string()) fail(member_path(reason_path, "code"), "a string");
        flag.reason_code = std::string(code.get_string());
        if (const json::value* index = find(r, "condition_index"); index && !index->is_null()) {
            const std::int64_t i = integer_at(*index, member_path(reason_path, "condition_index"));
            if (i < 0 || i > std::numeric_limits<int>::max())
                fail(member_path(reason_path, "condition_index"), "a non-negative integer or null");
            flag.condition_index = static_cast<int>(i);
        }
        flag.reason_description = optional_string_at(r, "description", reason_path).value_or("");
    }

    const std::string metadata_path = member_path(path, "metadata");
    if (const json::value* metadata = find(o, "metadata"); metadata && !metadata->is_null()) {
        const json::object& m = object_at(*metadata, metadata_path);
        if (const json::value* id = find(m, "id"); id && !id->is_null())
            flag.id = integer_at(*id, member_path(metadata_path, "id"));
        if (const json::value* version = find(m, "version"); version && !version->is_null())
            flag.version = integer_at(*version, member_path(metadata_path, "version"));
        if (const json::value* payload = find(m, "payload"); payload && !payload->is_null())
            // Stored payloads are JSON text in a string; a bare JSON value is kept as its text.
            flag.payload = payload->is_string() ? std::string(payload->get_string())
                                                : json::serialize(*payload);
        flag.description = optional_string_at(m, "description", metadata_path);
        if (const json::value* experiment = find(m, "has_experiment");
            experiment && !experiment->is_null())
            flag.has_experiment =
                boolean_at(*experiment, member_path(metadata_path, "has_experiment"));
    }

    if (const json::value* failed = find(o, "failed"); failed && !failed->is_null())
        flag.failed = boolean_at(*failed, member_path(path, "failed"));
    return flag;
}

}  // namespace

FlagAnswerView failed_answer(const flag_eval::Flag& flag, std::string_view description,
                             std::string_view reason_code) {
    FlagAnswerView answer;
    answer.key = flag.key;
    answer.reason_code = reason_code;
    answer.reason_description = description;
    answer.id = flag.id;
    answer.version = flag.version;
    answer.failed = true;
    if (flag.description) answer.description = *flag.description;
    answer.has_experiment = flag.has_experiment;
    return answer;
}

void note_stale_definitions(Answer& answer, std::chrono::seconds age) {
    const std::string note =
        " (stale definitions: last confirmed current " + std::to_string(age.count()) + " s ago)";
    for (FlagAnswerView& flag : answer.flags) {
        std::string description(flag.reason_description);
        description += note;
        flag.reason_description = answer.keep(description);
    }
}

FlagAnswerView stored_answer(const flag_eval::Flag& flag, const flag_eval::OutcomeLine& outcome,
                             Answer& answer) {
    FlagAnswerView view;
    view.key = flag.key;
    view.enabled = outcome.enabled;
    if (outcome.variant) {
        // The flag's own variant; a copy only when the flag has no such variant (a holdout's, or
        // the flag changed since the database read it).
        const auto own = std::find_if(flag.variants.begin(), flag.variants.end(),
                                      [&](const auto& v) { return v.key == *outcome.variant; });
        view.variant =
            own != flag.variants.end() ? std::string_view(own->key) : answer.keep(*outcome.variant);
    }
    const auto reason = flag_eval::reason_from_code(outcome.reason_code);
    view.reason_code = reason ? flag_eval::reason_code(*reason) : answer.keep(outcome.reason_code);
    view.condition_index = outcome.condition_index;
    flag_eval::FlagResult result;
    result.reason = reason.value_or(flag_eval::Reason::NoConditionMatch);
    result.condition_index = outcome.condition_index;
    result.description = std::string(outcome.description);
    view.reason_description = !reason && outcome.description.empty()
                                  ? std::string_view{}
                                  : answer.descriptions.of(result);
    view.id = flag.id;
    view.version = flag.version;
    if (outcome.enabled)
        if (const std::string* payload = flag_eval::payload_of(flag, outcome.variant))
            view.payload = *payload;
    view.failed = outcome.failed;
    if (flag.description) view.description = *flag.description;
    view.has_experiment = flag.has_experiment;
    view.v2_head = flag.v2_head;
    view.v2_metadata = flag.v2_metadata;
    return view;
}

std::variant<Answer, std::string> parse_v2_body(std::string_view json_text) {
    try {
        boost::system::error_code ec;
        const json::value body = json::parse(json_text, ec);
        if (ec) return "decide() body is not valid JSON: " + ec.message();
        const std::string root = "$";
        const json::object& top = object_at(body, root);
        Answer answer;
        const std::string flags_path = member_path(root, "flags");
        const json::object& flags = object_at(required(top, "flags", root), flags_path);
        answer.flags.reserve(flags.size());
        for (const auto& [key, value] : flags)
            answer.add(flag_from_json(key, value, member_path(flags_path, key)));
        if (const json::value* errors = find(top, "errorsWhileComputingFlags");
            errors && !errors->is_null())
            answer.errors_while_computing =
                boolean_at(*errors, member_path(root, "errorsWhileComputingFlags"));
        return answer;
    } catch (const ShapeError& e) {
        return "decide() body has an unexpected shape: " + e.message;
    } catch (const std::exception& e) {
        return std::string("decide() body cannot be read: ") + e.what();
    }
}

std::string flags_v2_body(const Answer& answer, std::string_view request_id,
                          std::optional<std::int64_t> evaluated_at_ms) {
    const std::vector<FlagAnswerView>& flags = answer.flags;

    // The service's own members: requestId and evaluatedAt.
    constexpr std::size_t kOwnMembers = 64 + JsonTextWriter::kMaxInteger;
    const std::size_t bound = 2 + flags_v2_members_max_size(flags) + kOwnMembers +
                              JsonTextWriter::max_string_size(request_id.size());
    // Written into a buffer the thread keeps (as large as its largest answer so far), then copied
    // once at its real size: a string of the bound would be zero-filled first, several times the
    // answer's bytes.
    thread_local std::vector<char> scratch;
    if (scratch.size() < bound) scratch.resize(bound);
    JsonTextWriter w(scratch.data());
    w.literal("{");
    write_flags_v2_members(w, flags, answer.errors_while_computing, V2Style::Document, answer.keys);
    w.literal(",\"requestId\":");
    w.string(request_id);
    if (evaluated_at_ms) {
        w.literal(",\"evaluatedAt\":");
        w.integer(*evaluated_at_ms);
    }
    w.literal("}");
    return std::string(scratch.data(), w.end());
}

std::string flags_v1_body(const Answer& answer, std::string_view request_id) {
    json::object feature_flags;
    json::object payloads;
    for (const FlagAnswerView& flag : answer.flags) {
        if (flag.failed) continue;  // omitted: an SDK falls back to its default (docs/reference.md)
        feature_flags[flag.key] = flag_value(flag);
        // Stored JSON text as a string, as PostHog sends it; SDKs JSON.parse it.
        if (flag.enabled && flag.payload) payloads[flag.key] = *flag.payload;
    }
    json::object body;
    body["featureFlags"] = std::move(feature_flags);
    body["featureFlagPayloads"] = std::move(payloads);
    body["errorsWhileComputingFlags"] = answer.errors_while_computing;
    if (!request_id.empty()) body["requestId"] = request_id;
    return json::serialize(body);
}

}  // namespace flag_eval::decide
