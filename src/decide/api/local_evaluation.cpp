#include "decide/api/local_evaluation.hpp"

#include <boost/unordered/unordered_flat_set.hpp>

#include "core/json_properties.hpp"

#include <deque>

namespace flag_eval::decide {
namespace {

// Reads the request's properties and notes when a property was absent: the stored one might
// exist and decide the answer.
class TrackingPropertySource final : public PropertySource {
public:
    TrackingPropertySource(const boost::json::object* object, bool& read_missing)
        : inner_(object), read_missing_(read_missing) {}
    PropertyValue get(std::string_view key) const override {
        PropertyValue value = inner_.get(key);
        if (value.missing()) read_missing_ = true;
        return value;
    }

private:
    JsonPropertySource inner_;
    bool& read_missing_;
};

// Static cohort membership and experience-continuity keys are stored data only: asking for
// either makes the answer inexact.
class StoredOnlyData final : public StaticCohortMembership, public HashKeyOverrides {
public:
    explicit StoredOnlyData(bool& read_missing) : read_missing_(read_missing) {}
    // "Not a member" rather than "unknown": the flag is inexact now, so whatever it evaluates to
    // here is never answered (the database's outcome is), and an unknown membership would make
    // the evaluator throw, which cost a stored person's request microseconds per static cohort.
    std::optional<bool> is_member(std::int64_t) const override {
        read_missing_ = true;
        return false;
    }
    std::optional<std::string_view> for_flag(std::string_view) const override {
        read_missing_ = true;
        return std::nullopt;
    }

private:
    bool& read_missing_;
};

// Marks each flag whose evaluation read something missing, or depends on a flag so marked.
class ExactnessObserver final : public EvaluationObserver {
public:
    explicit ExactnessObserver(bool& read_missing) : read_missing_(read_missing) {}
    void before_flag(const Flag&) override { read_missing_ = false; }
    // While no flag is inexact (every flag of a request that carries all they read), no key is
    // looked up.
    void after_flag(const Flag& flag, const FlagResult&) override {
        bool inexact = read_missing_;
        if (!inexact_.empty())
            for (const auto& dependency : flag.dependencies)
                inexact = inexact || inexact_.contains(dependency);
        if (inexact) inexact_.insert(flag.key);
    }
    bool inexact(const Flag& flag) const {
        return !inexact_.empty() && inexact_.contains(flag.key);
    }

private:
    bool& read_missing_;
    // Keys point into the FlagSet. Open addressing: most flags of a stored person are inexact,
    // and a node per flag was the request's largest source of allocations.
    boost::unordered_flat_set<std::string_view> inexact_;
};

const boost::json::object* object_at(const boost::json::object* parent, std::string_view key) {
    if (!parent) return nullptr;
    const boost::json::value* v = parent->if_contains(key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

}  // namespace

LocalEvaluation evaluate_locally(const FlagSet& flags, const Subject& subject) {
    bool read_missing = false;
    std::deque<TrackingPropertySource> sources;  // stable addresses for the context
    StoredOnlyData stored_only(read_missing);

    EvaluationContext context;
    context.distinct_id = subject.distinct_id;
    context.device_id = subject.device_id;
    context.person_properties = &sources.emplace_back(subject.person_properties, read_missing);
    context.static_cohorts = &stored_only;
    context.hash_key_overrides = &stored_only;
    context.scope = subject.scope;
    if (subject.groups) {
        for (const auto& [type_name, key] : *subject.groups) {
            if (!key.is_string()) continue;  // the request parser turns numeric keys into digits
            const auto* properties = object_at(subject.group_properties, type_name);
            context.groups.push_back({std::string(type_name), std::string(key.get_string()),
                                      &sources.emplace_back(properties, read_missing)});
        }
    }

    ExactnessObserver observer(read_missing);
    LocalEvaluation out{flags.evaluate_all(context, &observer), {}};
    out.needs_database.reserve(out.summary.flags.size());
    for (const auto& outcome : out.summary.flags)
        out.needs_database.push_back(observer.inexact(*outcome.flag));
    return out;
}

}  // namespace flag_eval::decide
