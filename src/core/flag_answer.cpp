#include "flag_answer.hpp"

#include "result_json.hpp"

#include <array>

namespace flag_eval {
namespace {

template <class String>
std::optional<String> optional_of(const std::string* s) {
    return s ? std::optional<String>(*s) : std::nullopt;
}

template <class String>
std::optional<std::string_view> optional_view(const std::optional<String>& s) {
    return s ? std::optional<std::string_view>(*s) : std::nullopt;
}

}  // namespace

FlagAnswer flag_answer(const Flag& flag, const FlagResult& result) {
    return {flag.key,
            result.enabled,
            optional_of<std::string>(result.variant),
            std::string(reason_code(result.reason)),
            result.condition_index,
            reason_description(result),
            flag.id,
            flag.version,
            optional_of<std::string>(result.payload),
            result.failed,
            optional_of<std::string>(flag.description ? &*flag.description : nullptr),
            flag.has_experiment};
}

FlagAnswerView flag_answer_view(const Flag& flag, const FlagResult& result,
                                std::string_view description) {
    return {flag.key,
            result.enabled,
            optional_of<std::string_view>(result.variant),
            reason_code(result.reason),
            result.condition_index,
            description,
            flag.id,
            flag.version,
            optional_of<std::string_view>(result.payload),
            result.failed,
            optional_of<std::string_view>(flag.description ? &*flag.description : nullptr),
            flag.has_experiment,
            flag.v2_head,
            flag.v2_metadata};
}

namespace {

// reason_description() of a result without its own description: per reason, and per condition
// set for the first kMatchedSets sets of ConditionMatch. Made once, read by every thread.
constexpr int kMatchedSets = 64;
constexpr std::size_t kReasons = static_cast<std::size_t>(Reason::MissingDependency) + 1;

std::string description_of(Reason reason, int condition_index) {
    FlagResult result;
    result.reason = reason;
    result.condition_index = condition_index;
    return reason_description(result);
}

}  // namespace

std::string_view ReasonDescriptions::of(const FlagResult& r) {
    if (r.description.empty()) {
        static const std::array<std::string, kReasons> by_reason = [] {
            std::array<std::string, kReasons> texts;
            for (std::size_t i = 0; i < kReasons; ++i)
                texts[i] = description_of(static_cast<Reason>(i), 0);
            return texts;
        }();
        static const std::array<std::string, kMatchedSets> matched = [] {
            std::array<std::string, kMatchedSets> texts;
            for (int i = 0; i < kMatchedSets; ++i)
                texts[static_cast<std::size_t>(i)] = description_of(Reason::ConditionMatch, i);
            return texts;
        }();
        if (r.reason != Reason::ConditionMatch)
            return by_reason[static_cast<std::size_t>(r.reason)];
        const int index = r.condition_index.value_or(0);
        if (index >= 0 && index < kMatchedSets) return matched[static_cast<std::size_t>(index)];
    }
    for (const Known& k : known_)
        if (k.reason == r.reason && k.condition_index == r.condition_index &&
            k.own == r.description)
            return k.text;
    return known_
        .emplace_front(Known{r.reason, r.condition_index, r.description, reason_description(r)})
        .text;
}

FlagAnswerView view_of(const FlagAnswer& a) {
    return {a.key,
            a.enabled,
            optional_view(a.variant),
            a.reason_code,
            a.condition_index,
            a.reason_description,
            a.id,
            a.version,
            optional_view(a.payload),
            a.failed,
            optional_view(a.description),
            a.has_experiment};
}

}  // namespace flag_eval
