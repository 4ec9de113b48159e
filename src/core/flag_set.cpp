#include "flag_set.hpp"

#include "flag_parser.hpp"
#include "json_access.hpp"
#include "json_properties.hpp"

#include <string>
#include <unordered_map>

namespace flag_eval {
namespace {

using namespace json_access;
namespace json = boost::json;

constexpr std::size_t kMaxDependencyDepth = 256;

// The results so far, found by key without copying them: each live key has one slot (the
// position of the first live flag with that key), pointing at the result of the flag with that
// key evaluated last, as a map from key to result would keep it.
class ResultsByKey final : public DependencyResults {
public:
    ResultsByKey(const std::unordered_map<std::string_view, std::size_t>& slot_of_key,
                 std::size_t flags)
        : slot_of_key_(slot_of_key), latest_(flags, nullptr) {}
    const FlagResult* find(std::string_view key) const override {
        const auto it = slot_of_key_.find(key);
        return it == slot_of_key_.end() ? nullptr : latest_[it->second];
    }
    // `result` must stay where it is while this object is used; `slot` is its key's.
    void put(std::size_t slot, const FlagResult* result) { latest_[slot] = result; }

private:
    const std::unordered_map<std::string_view, std::size_t>& slot_of_key_;
    std::vector<const FlagResult*> latest_;
};

class NoResults final : public DependencyResults {
public:
    const FlagResult* find(std::string_view) const override { return nullptr; }
};

}  // namespace

FlagSet FlagSet::parse(const json::value& definitions, Bucketing default_bucketing) {
    FlagSet set;
    const json::array* flags = nullptr;
    std::string flags_path = "$";
    PropertyMatching matching = PropertyMatching::Legacy;
    if (definitions.is_array()) {
        flags = &definitions.get_array();
    } else if (definitions.is_object()) {
        const auto& doc = definitions.get_object();
        Problems problems;
        flags = read_array(doc, "flags", "$", problems);
        if (const Problem* p = problems.first_invalid())
            throw InvalidDefinition(p->path, p->message);
        flags_path = "$.flags";
        // As PostHog reads it: exactly 2 selects explicit matching, anything else is legacy.
        if (const auto* version = member(doc, "property_matching_version");
            version && integer(*version) == 2)
            matching = PropertyMatching::Explicit;
        if (const auto* mapping = member(doc, "group_type_mapping"))
            parse_group_type_mapping(*mapping, "$.group_type_mapping", set.group_type_mapping_);
        if (const auto* cohorts = member(doc, "cohorts"))
            set.cohorts_ = CohortSet::parse(*cohorts, "$.cohorts", matching);
    } else {
        throw InvalidDefinition("$", "expected an array of flags or a definitions document");
    }
    if (flags)
        for (std::size_t i = 0; i < flags->size(); ++i)
            set.flags_.push_back(
                compile_flag((*flags)[i], default_bucketing, index_path(flags_path, i), matching));
    set.order_by_dependencies();
    return set;
}

// Depth-first topological order over live flags. A flag on a cycle, or depending on one,
// is marked with the cycle so that it alone fails.
void FlagSet::order_by_dependencies() {
    auto& by_key = live_by_key_;
    std::size_t live = 0;
    for (std::size_t i = 0; i < flags_.size(); ++i)
        if (!flags_[i]->deleted) {
            by_key.emplace(flags_[i]->key, i);
            ++live;
        }
    keys_unique_ = live == by_key.size();
    slot_of_flag_.assign(flags_.size(), 0);
    for (std::size_t i = 0; i < flags_.size(); ++i)
        if (!flags_[i]->deleted) slot_of_flag_[i] = by_key.at(flags_[i]->key);
    cycle_errors_.assign(flags_.size(), {});
    enum class Mark { None, Visiting, Done };
    std::vector<Mark> marks(flags_.size(), Mark::None);
    std::vector<std::size_t> stack;

    auto visit = [&](auto&& self, std::size_t i) -> void {
        if (stack.size() >= kMaxDependencyDepth) {  // bounded recursion whatever the input
            cycle_errors_[i] =
                "dependency chain is deeper than " + std::to_string(kMaxDependencyDepth) + " flags";
            marks[i] = Mark::Done;
            evaluation_order_.push_back(i);
            return;
        }
        marks[i] = Mark::Visiting;
        stack.push_back(i);
        for (const auto& dep : flags_[i]->dependencies) {
            auto it = by_key.find(dep);
            if (it == by_key.end()) continue;  // missing: the evaluator reports it
            const std::size_t j = it->second;
            if (marks[j] == Mark::Visiting) {
                std::string cycle;
                bool on_cycle = false;
                for (std::size_t k : stack) {
                    if (k == j) on_cycle = true;
                    if (on_cycle) cycle += flags_[k]->key + " -> ";
                }
                cycle += flags_[j]->key;
                bool mark = false;
                for (std::size_t k : stack) {
                    if (k == j) mark = true;
                    if (mark && cycle_errors_[k].empty())
                        cycle_errors_[k] = "dependency cycle: " + cycle;
                }
                continue;
            }
            if (marks[j] == Mark::None) self(self, j);
            if (!cycle_errors_[j].empty() && cycle_errors_[i].empty())
                cycle_errors_[i] = "depends on \"" + flags_[j]->key + "\": " + cycle_errors_[j];
        }
        stack.pop_back();
        marks[i] = Mark::Done;
        evaluation_order_.push_back(i);
    };
    for (std::size_t i = 0; i < flags_.size(); ++i)
        if (marks[i] == Mark::None && !flags_[i]->deleted) visit(visit, i);
}

// The definitions' group_type_mapping wins over the context's.
EvaluationContext FlagSet::with_group_type_mapping(const EvaluationContext& context) const {
    EvaluationContext ctx = context;
    for (std::size_t i = 0; i < ctx.group_type_mapping.size(); ++i)
        if (group_type_mapping_[i]) ctx.group_type_mapping[i] = group_type_mapping_[i];
    return ctx;
}

FlagResult FlagSet::evaluate_in_order(std::size_t index, const EvaluationContext& context,
                                      const DependencyResults& results) const {
    const Flag& flag = *flags_[index];
    if (!cycle_errors_[index].empty() && flag.active) {
        FlagResult r;
        r.reason = Reason::MissingDependency;
        r.failed = true;
        r.description = cycle_errors_[index];
        return r;
    }
    return evaluate_flag(flag, context, cohorts_.empty() ? nullptr : &cohorts_, &results);
}

EvaluationSummary FlagSet::evaluate_all(const EvaluationContext& context,
                                        EvaluationObserver* observer) const {
    std::vector<FlagResult> by_index(flags_.size());
    ResultsByKey results(live_by_key_, flags_.size());
    const EvaluationContext ctx = with_group_type_mapping(context);

    std::vector<bool> out_of_scope(flags_.size(), false);
    for (std::size_t i : evaluation_order_) {
        const Flag& flag = *flags_[i];
        if (ctx.scope && !ctx.scope->admits(flag)) {
            // Not evaluated, as PostHog does: off (a default result) for the flags that depend
            // on it.
            out_of_scope[i] = true;
            results.put(slot_of_flag_[i], &by_index[i]);
            continue;
        }
        if (observer) observer->before_flag(flag);
        by_index[i] = evaluate_in_order(i, ctx, results);
        if (observer) observer->after_flag(flag, by_index[i]);
        results.put(slot_of_flag_[i], &by_index[i]);
    }

    EvaluationSummary summary;
    summary.flags.reserve(flags_.size());
    for (std::size_t i = 0; i < flags_.size(); ++i) {
        const Flag& flag = *flags_[i];
        if (!flag.active || flag.deleted || out_of_scope[i]) continue;
        summary.errors_while_computing |= by_index[i].failed;
        summary.flags.push_back({&flag, std::move(by_index[i])});
    }
    return summary;
}

// The flags flags_[index] needs: itself and its live dependencies, directly or not.
std::vector<bool> FlagSet::needed_by(std::size_t index) const {
    std::vector<bool> needed(flags_.size(), false);
    std::vector<std::size_t> pending{index};
    needed[index] = true;
    while (!pending.empty()) {
        const std::size_t i = pending.back();
        pending.pop_back();
        for (const auto& dep : flags_[i]->dependencies)
            if (auto it = live_by_key_.find(dep); it != live_by_key_.end() && !needed[it->second]) {
                needed[it->second] = true;
                pending.push_back(it->second);
            }
    }
    return needed;
}

std::vector<const Flag*> FlagSet::with_dependencies(std::string_view key) const {
    std::vector<const Flag*> out;
    const auto target = live_by_key_.find(key);
    if (target == live_by_key_.end()) return out;
    const std::vector<bool> needed = needed_by(target->second);
    for (std::size_t i = 0; i < flags_.size(); ++i)
        if (needed[i]) out.push_back(flags_[i].get());
    return out;
}

std::optional<FlagResult> FlagSet::evaluate_one(std::string_view key,
                                                const EvaluationContext& context) const {
    const auto target = live_by_key_.find(key);
    if (target == live_by_key_.end()) return std::nullopt;
    const EvaluationContext ctx = with_group_type_mapping(context);
    // Most flags depend on none: nothing to evaluate first, no results to keep (preview()
    // evaluates one flag per subject, and the team's every flag is in the set).
    if (flags_[target->second]->dependencies.empty())
        return evaluate_in_order(target->second, ctx, NoResults{});

    const std::vector<bool> needed = needed_by(target->second);
    std::vector<FlagResult> by_index(flags_.size());
    ResultsByKey results(live_by_key_, flags_.size());
    for (std::size_t i : evaluation_order_) {
        if (!needed[i]) continue;
        by_index[i] = evaluate_in_order(i, ctx, results);
        if (i == target->second) return std::move(by_index[i]);
        results.put(slot_of_flag_[i], &by_index[i]);
    }
    return std::nullopt;  // unreachable: every live flag is in evaluation_order_
}

}  // namespace flag_eval
