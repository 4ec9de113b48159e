#include "flags_v2_writer.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

namespace flag_eval {
namespace {

// jsonb's key order (jsonb_util.c, lengthCompareJsonbString): shorter keys first, then bytes.
int jsonb_key_compare(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return std::memcmp(a.data(), b.data(), a.size());
}

// Bytes of a flag beyond its strings' escaped text: keys, punctuation, three integers.
constexpr std::size_t kFlagOverhead = 320 + 3 * JsonTextWriter::kMaxInteger;

std::size_t optional_size(const std::optional<std::string_view>& s) { return s ? s->size() : 0; }

void optional_string(JsonTextWriter& w, const std::optional<std::string_view>& s) {
    if (s)
        w.string(*s);
    else
        w.null();
}

void condition_index(JsonTextWriter& w, const std::optional<int>& index) {
    if (index)
        w.integer(*index);
    else
        w.null();
}

// One flag's member in jsonb's order: key, failed, reason {code, description, condition_index},
// enabled, variant, metadata {id, payload, version, description, has_experiment}.
void write_jsonb_flag(JsonTextWriter& w, const FlagAnswerView& f) {
    w.string(f.key);
    w.literal(": {\"key\": ");
    w.string(f.key);
    w.literal(", \"failed\": ");
    w.boolean(f.failed);
    w.literal(", \"reason\": {\"code\": ");
    w.string(f.reason_code);
    w.literal(", \"description\": ");
    w.string(f.reason_description);
    w.literal(", \"condition_index\": ");
    condition_index(w, f.condition_index);
    w.literal("}, \"enabled\": ");
    w.boolean(f.enabled);
    w.literal(", \"variant\": ");
    optional_string(w, f.variant);
    w.literal(", \"metadata\": {\"id\": ");
    w.integer(f.id);
    w.literal(", \"payload\": ");
    optional_string(w, f.payload);
    w.literal(", \"version\": ");
    w.integer(f.version);
    w.literal(", \"description\": ");
    optional_string(w, f.description);
    w.literal(", \"has_experiment\": ");
    w.boolean(f.has_experiment);
    w.literal("}}");
}

void write_document_head(JsonTextWriter& w, std::string_view key) {
    w.string(key);
    w.literal(":{\"key\":");
    w.string(key);
    w.literal(",\"enabled\":");
}

void write_document_metadata(JsonTextWriter& w, std::int64_t id, std::int64_t version,
                             const std::optional<std::string_view>& description) {
    w.literal("},\"metadata\":{\"id\":");
    w.integer(id);
    w.literal(",\"version\":");
    w.integer(version);
    w.literal(",\"description\":");
    optional_string(w, description);
    w.literal(",\"payload\":");
}

// One flag's member in the reference's order: key, enabled, variant, reason {code,
// condition_index, description}, metadata {id, version, description, payload, has_experiment},
// failed.
void write_document_flag(JsonTextWriter& w, const FlagAnswerView& f) {
    if (f.v2_head.empty())
        write_document_head(w, f.key);
    else
        w.raw(f.v2_head);
    w.boolean(f.enabled);
    w.literal(",\"variant\":");
    optional_string(w, f.variant);
    w.literal(",\"reason\":{\"code\":");
    w.string(f.reason_code);
    w.literal(",\"condition_index\":");
    condition_index(w, f.condition_index);
    w.literal(",\"description\":");
    w.string(f.reason_description);
    if (f.v2_metadata.empty())
        write_document_metadata(w, f.id, f.version, f.description);
    else
        w.raw(f.v2_metadata);
    optional_string(w, f.payload);
    w.literal(",\"has_experiment\":");
    w.boolean(f.has_experiment);
    w.literal("},\"failed\":");
    w.boolean(f.failed);
    w.literal("}");
}

// The flags sorted by key as jsonb sorts them; equal keys in the order given.
std::vector<const FlagAnswerView*> in_jsonb_order(std::span<const FlagAnswerView> flags) {
    std::vector<const FlagAnswerView*> sorted;
    sorted.reserve(flags.size());
    for (const FlagAnswerView& f : flags) sorted.push_back(&f);
    std::sort(sorted.begin(), sorted.end(), [](const FlagAnswerView* a, const FlagAnswerView* b) {
        if (const int c = jsonb_key_compare(a->key, b->key)) return c < 0;
        return a < b;  // the same span: its order
    });
    return sorted;
}

bool same_key(const FlagAnswerView* a, const FlagAnswerView* b) { return a->key == b->key; }

void write_jsonb_flags(JsonTextWriter& w, std::span<const FlagAnswerView> flags) {
    const auto sorted = in_jsonb_order(flags);
    bool first = true;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (i + 1 < sorted.size() && same_key(sorted[i + 1], sorted[i]))
            continue;  // a later one wins
        if (!first) w.literal(", ");
        first = false;
        write_jsonb_flag(w, *sorted[i]);
    }
}

void write_document_flags(JsonTextWriter& w, std::span<const FlagAnswerView> flags, FlagKeys keys) {
    // Keys are unique but for a team's flags stored twice; look for that only once the keys are
    // sorted, and keep the straight loop for the usual answer.
    const auto sorted = keys == FlagKeys::MayRepeat && flags.size() > 1
                            ? in_jsonb_order(flags)
                            : std::vector<const FlagAnswerView*>{};
    const bool unique = std::adjacent_find(sorted.begin(), sorted.end(), same_key) == sorted.end();
    bool first = true;
    for (const FlagAnswerView& f : flags) {
        const FlagAnswerView* value = &f;
        if (!unique) {
            // Written at the first of its key, with the last of its key.
            const auto less = [](const FlagAnswerView* a, const FlagAnswerView* b) {
                return jsonb_key_compare(a->key, b->key) < 0;
            };
            const auto [begin, end] = std::equal_range(sorted.begin(), sorted.end(), &f, less);
            if (*begin != &f) continue;
            value = *(end - 1);
        }
        if (!first) w.literal(",");
        first = false;
        write_document_flag(w, *value);
    }
}

}  // namespace

PreparedV2Parts prepare_v2_parts(std::string_view key, std::int64_t id, std::int64_t version,
                                 const std::optional<std::string_view>& description) {
    std::string buffer(64 + 2 * JsonTextWriter::kMaxInteger +
                           JsonTextWriter::max_string_size(key.size()) * 2 +
                           JsonTextWriter::max_string_size(description ? description->size() : 0),
                       '\0');
    PreparedV2Parts parts;
    JsonTextWriter head(buffer.data());
    write_document_head(head, key);
    parts.head.assign(buffer.data(), head.end());
    JsonTextWriter metadata(buffer.data());
    write_document_metadata(metadata, id, version, description);
    parts.metadata.assign(buffer.data(), metadata.end());
    return parts;
}

std::size_t flags_v2_members_max_size(std::span<const FlagAnswerView> flags) {
    std::size_t bound = 128;
    for (const FlagAnswerView& f : flags)
        bound += kFlagOverhead + 6 * (2 * f.key.size() + f.reason_code.size() +
                                      f.reason_description.size() + optional_size(f.variant) +
                                      optional_size(f.payload) + optional_size(f.description));
    return bound;
}

void write_flags_v2_members(JsonTextWriter& w, std::span<const FlagAnswerView> flags,
                            bool errors_while_computing, V2Style style, FlagKeys keys) {
    if (style == V2Style::Jsonb) {
        w.literal("\"flags\": {");
        write_jsonb_flags(w, flags);
        w.literal("}, \"errorsWhileComputingFlags\": ");
    } else {
        w.literal("\"flags\":{");
        write_document_flags(w, flags, keys);
        w.literal("},\"errorsWhileComputingFlags\":");
    }
    w.boolean(errors_while_computing);
}

}  // namespace flag_eval
