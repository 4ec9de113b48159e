#include "flag_parser.hpp"

#include "flags_v2_writer.hpp"
#include "json_access.hpp"

#include <cmath>
#include <cstdio>
#include <string>

namespace flag_eval {
namespace {

using namespace json_access;
namespace json = boost::json;

std::optional<FilterType> filter_type_from_name(std::string_view name) {
    if (name == "person") return FilterType::Person;
    if (name == "group") return FilterType::Group;
    if (name == "cohort") return FilterType::Cohort;
    if (name == "flag") return FilterType::Flag;
    return std::nullopt;
}

Operator default_operator(FilterType type) {
    switch (type) {
        case FilterType::Cohort: return Operator::In;
        case FilterType::Flag: return Operator::FlagEvaluatesTo;
        default: return Operator::Exact;
    }
}

// A cohort id is written as a number or as a numeric string.
std::optional<std::int64_t> cohort_id_of(const json::value& v) {
    if (auto i = integer(v)) return i;
    if (v.is_string()) {
        const std::string s(v.get_string());
        if (s.empty() || s.size() > 18) return std::nullopt;
        for (char c : s)
            if (c < '0' || c > '9') return std::nullopt;
        return std::stoll(s);
    }
    return std::nullopt;
}

// 80 -> "80", 33.3 -> "33.3": for messages, not for matching.
std::string plain_number(double d) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.10g", d);
    return buffer;
}

std::optional<double> read_percentage(const json::object& o, std::string_view key,
                                      const std::string& path, Problems& problems) {
    auto pct = read_number(o, key, path, problems);
    if (pct && !(*pct >= 0.0 && *pct <= 100.0)) {
        problems.invalid(field_path(path, key), "must be between 0 and 100");
        return std::nullopt;
    }
    return pct;
}

class FlagCompiler {
public:
    FlagCompiler(Problems& problems, PropertyMatching matching)
        : problems_(problems), matching_(matching) {}

    std::unique_ptr<Flag> compile(const json::value& json, Bucketing default_bucketing,
                                  const std::string& path) {
        auto flag = std::make_unique<Flag>();
        flag->bucketing = default_bucketing;
        if (!json.is_object()) {
            problems_.invalid(path, "expected a flag object");
            return flag;
        }
        const json::object& o = json.get_object();
        if (auto key = read_string(o, "key", path, problems_)) {
            if (key->empty()) problems_.invalid(field_path(path, "key"), "must not be empty");
            flag->key = std::string(*key);
        } else if (!member(o, "key")) {
            problems_.invalid(field_path(path, "key"), "missing flag key");
        }
        if (auto id = read_integer(o, "id", path, problems_)) flag->id = *id;
        if (auto active = read_bool(o, "active", path, problems_)) flag->active = *active;
        if (auto deleted = read_bool(o, "deleted", path, problems_)) flag->deleted = *deleted;
        if (auto version = read_integer(o, "version", path, problems_)) flag->version = *version;
        if (auto description = read_string(o, "description", path, problems_))
            flag->description = std::string(*description);
        if (auto has_experiment = read_bool(o, "has_experiment", path, problems_))
            flag->has_experiment = *has_experiment;
        if (auto eec = read_bool(o, "ensure_experience_continuity", path, problems_))
            flag->ensure_experience_continuity = *eec;
        if (auto name = read_string(o, "bucketing", path, problems_)) {
            if (auto b = bucketing_from_name(*name))
                flag->bucketing = *b;
            else
                problems_.invalid(field_path(path, "bucketing"),
                                  "unknown bucketing \"" + std::string(*name) +
                                      "\" (expected \"xxh3\" or \"sha1\")");
        }
        // PostHog reads "device_id" as device bucketing and any other string as the distinct id.
        if (auto identifier = read_string(o, "bucketing_identifier", path, problems_))
            if (*identifier == "device_id")
                flag->bucketing_identifier = BucketingIdentifier::DeviceId;
        if (auto runtime = read_string(o, "evaluation_runtime", path, problems_))
            flag->evaluation_runtime = evaluation_runtime_from_name(*runtime);
        compile_evaluation_contexts(o, path, *flag);
        if (const auto* filters = read_object(o, "filters", path, problems_))
            compile_filters(*filters, field_path(path, "filters"), *flag);
        return flag;
    }

private:
    // PostHog renamed evaluation_tags to evaluation_contexts; the SDKs read either.
    void compile_evaluation_contexts(const json::object& o, const std::string& path, Flag& flag) {
        const char* name =
            member(o, "evaluation_contexts") ? "evaluation_contexts" : "evaluation_tags";
        const auto* contexts = read_array(o, name, path, problems_);
        if (!contexts) return;
        const std::string contexts_path = field_path(path, name);
        for (std::size_t i = 0; i < contexts->size(); ++i) {
            const json::value& c = (*contexts)[i];
            if (c.is_string())
                flag.evaluation_contexts.emplace_back(c.get_string());
            else
                problems_.invalid(index_path(contexts_path, i), "expected a context name");
        }
    }

    void compile_filters(const json::object& f, const std::string& path, Flag& flag) {
        // PostHog's second format (typed rules) is a different document under the same name;
        // PostHog's own local-evaluation feed leaves such flags out too.
        if (const auto* version = member(f, "version"); version && integer(*version) != 1) {
            problems_.invalid(field_path(path, "version"),
                              "PostHog's version-2 flag format is not supported (expected 1 or "
                              "no version)");
            return;
        }
        // Variants first: condition overrides refer to them.
        if (const auto* mv = read_object(f, "multivariate", path, problems_))
            compile_variants(*mv, field_path(path, "multivariate"), flag);
        if (const auto* groups = read_array(f, "groups", path, problems_)) {
            const std::string groups_path = field_path(path, "groups");
            for (std::size_t i = 0; i < groups->size(); ++i)
                flag.conditions.push_back(
                    compile_condition((*groups)[i], index_path(groups_path, i), flag));
        }
        flag.aggregation_group_type_index = read_group_type_index(f, path);
        if (const auto* payloads = read_object(f, "payloads", path, problems_)) {
            for (const auto& [k, v] : *payloads) {
                if (v.is_null()) continue;
                // Payloads are JSON-encoded strings; an unencoded JSON value is encoded here.
                flag.payloads.emplace(std::string(k), v.is_string() ? std::string(v.get_string())
                                                                    : json::serialize(v));
            }
        }
        if (const auto* supers = read_array(f, "super_groups", path, problems_);
            supers && !supers->empty()) {
            flag.super_condition = compile_condition(
                (*supers)[0], index_path(field_path(path, "super_groups"), 0), flag);
        } else if (read_bool(f, "feature_enrollment", path, problems_).value_or(false)) {
            flag.super_condition = enrollment_condition(flag.key);
        }
        if (const auto* holdout = read_object(f, "holdout", path, problems_)) {
            compile_holdout(*holdout, field_path(path, "holdout"), flag);
        } else if (const auto* hg = read_array(f, "holdout_groups", path, problems_);
                   hg && !hg->empty()) {
            compile_legacy_holdout((*hg)[0], index_path(field_path(path, "holdout_groups"), 0),
                                   flag);
        }
        if (auto early_exit = read_bool(f, "early_exit", path, problems_))
            flag.early_exit = *early_exit;
    }

    void compile_variants(const json::object& mv, const std::string& path, Flag& flag) {
        const auto* variants = read_array(mv, "variants", path, problems_);
        if (!variants) return;
        const std::string vpath = field_path(path, "variants");
        double total = 0.0;
        for (std::size_t i = 0; i < variants->size(); ++i) {
            const std::string p = index_path(vpath, i);
            if (!(*variants)[i].is_object()) {
                problems_.invalid(p, "expected a variant object");
                continue;
            }
            const auto& vo = (*variants)[i].get_object();
            Variant variant;
            if (auto key = read_string(vo, "key", p, problems_))
                variant.key = std::string(*key);
            else if (!member(vo, "key"))
                problems_.invalid(field_path(p, "key"), "missing variant key");
            variant.rollout_percentage =
                read_percentage(vo, "rollout_percentage", p, problems_).value_or(0.0);
            total += variant.rollout_percentage;
            flag.variants.push_back(std::move(variant));
        }
        if (!flag.variants.empty() && std::fabs(total - 100.0) > 1e-9)
            problems_.warning(
                vpath, "variant rollout percentages sum to " + plain_number(total) + ", not 100");
    }

    // aggregation_group_type_index: 0..4, or null / absent for none.
    std::optional<int> read_group_type_index(const json::object& o, const std::string& path) {
        auto gti = read_integer(o, "aggregation_group_type_index", path, problems_);
        if (!gti) return std::nullopt;
        if (*gti >= 0 && *gti <= 4) return static_cast<int>(*gti);
        problems_.invalid(field_path(path, "aggregation_group_type_index"),
                          "must be between 0 and 4");
        return std::nullopt;
    }

    Condition compile_condition(const json::value& json, const std::string& path,
                                const Flag& flag) {
        Condition condition;
        if (!json.is_object()) {
            problems_.invalid(path, "expected a condition object");
            return condition;
        }
        const auto& o = json.get_object();
        // Present (even null): the condition set's own aggregation, for mixed targeting.
        if (o.contains("aggregation_group_type_index")) {
            condition.has_own_aggregation = true;
            condition.own_aggregation_group_type_index = read_group_type_index(o, path);
        }
        if (const auto* props = read_array(o, "properties", path, problems_)) {
            const std::string ppath = field_path(path, "properties");
            for (std::size_t i = 0; i < props->size(); ++i)
                condition.filters.push_back(compile_property_filter(
                    (*props)[i], index_path(ppath, i), problems_, matching_));
        }
        condition.rollout_percentage = read_percentage(o, "rollout_percentage", path, problems_);
        if (auto variant = read_string(o, "variant", path, problems_)) {
            for (std::size_t i = 0; i < flag.variants.size(); ++i)
                if (flag.variants[i].key == *variant)
                    condition.variant_override = static_cast<int>(i);
            if (condition.variant_override < 0)
                problems_.warning(
                    field_path(path, "variant"),
                    "variant override \"" + std::string(*variant) + "\" names no declared variant");
        }
        return condition;
    }

    // Early-access enrollment without explicit super groups: the person opted in.
    static Condition enrollment_condition(const std::string& flag_key) {
        Problems ignored;
        json::object filter{{"key", "$feature_enrollment/" + flag_key},
                            {"type", "person"},
                            {"operator", "exact"},
                            {"value", json::array{"true"}}};
        Condition condition;
        condition.filters.push_back(compile_property_filter(filter, "$", ignored));
        return condition;
    }

    void compile_holdout(const json::object& h, const std::string& path, Flag& flag) {
        Holdout holdout;
        auto id = read_integer(h, "id", path, problems_);
        holdout.variant = id ? "holdout-" + std::to_string(*id) : "holdout";
        holdout.exclusion_percentage =
            read_percentage(h, "exclusion_percentage", path, problems_).value_or(0.0);
        flag.holdout = std::move(holdout);
    }

    void compile_legacy_holdout(const json::value& json, const std::string& path, Flag& flag) {
        if (!json.is_object()) {
            problems_.invalid(path, "expected a holdout group object");
            return;
        }
        const auto& o = json.get_object();
        Holdout holdout;
        holdout.exclusion_percentage =
            read_percentage(o, "rollout_percentage", path, problems_).value_or(0.0);
        holdout.variant =
            std::string(read_string(o, "variant", path, problems_).value_or("holdout"));
        flag.holdout = std::move(holdout);
    }

    Problems& problems_;
    PropertyMatching matching_;
};

void collect_references(const std::vector<PropertyFilter>& filters, Flag& flag) {
    for (const auto& f : filters) {
        if (f.type == FilterType::Flag) flag.dependencies.push_back(f.key);
        if (f.type == FilterType::Cohort) flag.cohort_ids.push_back(f.cohort_id);
    }
}

}  // namespace

PropertyFilter compile_property_filter(const json::value& json, const std::string& path,
                                       Problems& problems, PropertyMatching matching) {
    PropertyFilter filter;
    if (!json.is_object()) {
        problems.invalid(path, "expected a property filter object");
        return filter;
    }
    const auto& o = json.get_object();
    if (auto type = read_string(o, "type", path, problems)) {
        if (auto t = filter_type_from_name(*type))
            filter.type = *t;
        else
            problems.invalid(field_path(path, "type"),
                             "unknown filter type \"" + std::string(*type) +
                                 "\" (expected person, group, cohort or flag)");
    }
    if (auto key = read_string(o, "key", path, problems))
        filter.key = std::string(*key);
    else if (!member(o, "key"))
        problems.invalid(field_path(path, "key"), "missing property key");
    filter.op = default_operator(filter.type);
    if (auto op = read_string(o, "operator", path, problems)) {
        if (auto parsed = operator_from_name(*op))
            filter.op = *parsed;
        else
            problems.invalid(field_path(path, "operator"),
                             "unknown operator \"" + std::string(*op) + "\"");
    }
    if (auto negation = read_bool(o, "negation", path, problems)) filter.negation = *negation;

    const std::string value_path = field_path(path, "value");
    static const json::value null_value;
    const json::value* value = o.if_contains("value");
    if (!value) value = &null_value;

    switch (filter.type) {
        case FilterType::Person:
        case FilterType::Group:
            if (filter.op == Operator::In || filter.op == Operator::NotIn ||
                filter.op == Operator::FlagEvaluatesTo) {
                problems.invalid(field_path(path, "operator"),
                                 "operator \"" + std::string(operator_name(filter.op)) +
                                     "\" needs a cohort or flag filter");
                break;
            }
            if (filter.type == FilterType::Group) {
                auto gti = read_integer(o, "group_type_index", path, problems);
                if (!gti && !member(o, "group_type_index"))
                    problems.invalid(field_path(path, "group_type_index"),
                                     "group filters need a group_type_index");
                else if (gti && (*gti < 0 || *gti > 4))
                    problems.invalid(field_path(path, "group_type_index"),
                                     "must be between 0 and 4");
                else if (gti)
                    filter.group_type_index = static_cast<int>(*gti);
            }
            filter.matcher =
                ValueMatcher::compile(filter.op, *value, value_path, problems, matching);
            break;
        case FilterType::Cohort: {
            if (filter.op != Operator::In && filter.op != Operator::NotIn) {
                problems.invalid(field_path(path, "operator"),
                                 "cohort filters take \"in\" or \"not_in\"");
                break;
            }
            auto id = cohort_id_of(*value);
            if (!id)
                problems.invalid(value_path, "expected a cohort id");
            else
                filter.cohort_id = *id;
            break;
        }
        case FilterType::Flag:
            if (filter.op != Operator::FlagEvaluatesTo) {
                problems.invalid(field_path(path, "operator"),
                                 "flag filters take \"flag_evaluates_to\"");
                break;
            }
            if (value->is_bool())
                filter.flag_value_bool = value->get_bool();
            else if (value->is_string())
                filter.flag_value_variant = std::string(value->get_string());
            else
                problems.invalid(value_path, "expected true, false or a variant key");
            break;
    }
    return filter;
}

std::unique_ptr<Flag> compile_flag(const json::value& json, Bucketing default_bucketing,
                                   const std::string& path, PropertyMatching matching) {
    Problems problems;
    auto flag = FlagCompiler(problems, matching).compile(json, default_bucketing, path);
    if (const Problem* p = problems.first_invalid()) throw InvalidDefinition(p->path, p->message);
    flag->hash_prefix = flag->key + ".";
    auto parts = prepare_v2_parts(flag->key, flag->id, flag->version, flag->description);
    flag->v2_head = std::move(parts.head);
    flag->v2_metadata = std::move(parts.metadata);
    for (const auto& c : flag->conditions) collect_references(c.filters, *flag);
    if (flag->super_condition) collect_references(flag->super_condition->filters, *flag);
    return flag;
}

Problems validate_flag(const json::value& json, const std::string& path) {
    Problems problems;
    FlagCompiler(problems, PropertyMatching::Legacy).compile(json, Bucketing::Xxh3, path);
    return problems;
}

}  // namespace flag_eval
