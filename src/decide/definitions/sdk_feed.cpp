#include "decide/definitions/sdk_feed.hpp"

#include "core/json_access.hpp"

#include <boost/json/serialize.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace flag_eval::decide {
namespace {

namespace json = boost::json;
using json_access::member;

// Deeper dependency chains are treated as unresolvable, as the core refuses them too.
constexpr std::size_t kMaxChainDepth = 256;

const json::object* object_member(const json::object& o, std::string_view key) {
    const json::value* v = member(o, key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array_member(const json::object& o, std::string_view key) {
    const json::value* v = member(o, key);
    return v && v->is_array() ? &v->get_array() : nullptr;
}

bool has_type(const json::object& o, std::string_view type) {
    const json::value* t = member(o, "type");
    return t && t->is_string() && t->get_string() == type;
}

bool non_empty_array(const json::object& o, std::string_view key) {
    const json::array* a = array_member(o, key);
    return a && !a->empty();
}

// What an SDK looks a cohort up by: String(property.value).
std::optional<std::string> cohort_key(const json::value& value) {
    if (auto id = json_access::integer(value)) return std::to_string(*id);
    if (value.is_string()) return std::string(value.get_string());
    return std::nullopt;
}

// Calls f(property) for each property filter object in the flag's condition groups: the only
// place PostHog's server adds dependency chains, and the only place posthog-node reads them.
template <class Object, class F>
void for_each_condition_property(Object& flag, F&& f) {
    auto* filters = flag.if_contains("filters");
    if (!filters || !filters->is_object()) return;
    auto* groups = filters->get_object().if_contains("groups");
    if (!groups || !groups->is_array()) return;
    for (auto& group : groups->get_array()) {
        if (!group.is_object()) continue;
        auto* properties = group.get_object().if_contains("properties");
        if (!properties || !properties->is_array()) continue;
        for (auto& property : properties->get_array())
            if (property.is_object()) f(property.get_object());
    }
}

// Whether a cohort, or a cohort it refers to, contains a flag filter.
class CohortFlagUse {
public:
    explicit CohortFlagUse(const json::object* cohorts) : cohorts_(cohorts) {}

    bool uses_flags(const std::string& id) {
        if (auto it = memo_.find(id); it != memo_.end()) return it->second;
        if (!cohorts_ || !visiting_.insert(id).second)
            return false;  // unknown, or a reference cycle
        bool uses = false;
        if (const json::value* cohort = cohorts_->if_contains(id)) uses = walk(*cohort);
        visiting_.erase(id);
        memo_.emplace(id, uses);
        return uses;
    }

private:
    bool walk(const json::value& v) {
        if (v.is_array()) {
            for (const auto& e : v.get_array())
                if (walk(e)) return true;
            return false;
        }
        if (!v.is_object()) return false;
        const json::object& o = v.get_object();
        if (has_type(o, "flag")) return true;
        if (has_type(o, "cohort")) {
            const json::value* value = member(o, "value");
            if (auto key = value ? cohort_key(*value) : std::nullopt; key && uses_flags(*key))
                return true;
        }
        for (const auto& [name, child] : o)
            if (walk(child)) return true;
        return false;
    }

    const json::object* cohorts_;
    std::map<std::string, bool> memo_;
    std::set<std::string> visiting_;
};

struct FeedFlag {
    json::object* object;              // in the feed being built
    std::vector<std::string> depends;  // keys named by flag filters, in order
    bool own_reason = false;           // needs the server whatever it depends on
};

// A condition set with its own aggregation that posthog-node evaluates differently from the
// server: a group set with a filter on anything but that group (posthog-node reads every filter
// of it from the group), or a person set (null) in a group flag (posthog-node keeps the group).
bool has_mixed_set_posthog_node_reads_otherwise(const json::object& filters) {
    const json::value* flag_level = member(filters, "aggregation_group_type_index");
    const json::array* groups = array_member(filters, "groups");
    if (!groups) return false;
    for (const json::value& group : *groups) {
        if (!group.is_object() || !group.get_object().contains("aggregation_group_type_index"))
            continue;
        const json::value& own = group.get_object().at("aggregation_group_type_index");
        if (own.is_null()) {
            if (flag_level && !flag_level->is_null()) return true;
            continue;
        }
        const json::array* properties = array_member(group.get_object(), "properties");
        if (!properties) continue;
        for (const json::value& property : *properties) {
            if (!property.is_object() || has_type(property.get_object(), "flag")) continue;
            const json::value* index = member(property.get_object(), "group_type_index");
            if (!has_type(property.get_object(), "group") || !index || *index != own) return true;
        }
    }
    return false;
}

// Why an SDK could not evaluate this flag as the service does, on its own account.
bool needs_server_by_itself(const json::object& flag, Bucketing team_bucketing,
                            CohortFlagUse& cohorts) {
    const json::value* bucketing = member(flag, "bucketing");
    const std::string_view name = bucketing && bucketing->is_string()
                                      ? std::string_view(bucketing->get_string())
                                      : bucketing_name(team_bucketing);
    if (name != bucketing_name(Bucketing::Sha1)) return true;
    if (const json::object* filters = object_member(flag, "filters")) {
        if (has_mixed_set_posthog_node_reads_otherwise(*filters)) return true;
        if (non_empty_array(*filters, "super_groups") ||
            non_empty_array(*filters, "holdout_groups"))
            return true;
        if (const json::value* enrollment = member(*filters, "feature_enrollment");
            enrollment && enrollment->is_bool() && enrollment->get_bool())
            return true;
    }
    bool uses_flag_cohort = false;
    for_each_condition_property(flag, [&](const json::object& property) {
        if (!has_type(property, "cohort")) return;
        const json::value* value = member(property, "value");
        if (auto key = value ? cohort_key(*value) : std::nullopt; key && cohorts.uses_flags(*key))
            uses_flag_cohort = true;
    });
    return uses_flag_cohort;
}

// PostHog's dependency chains: a depth-first post-order from the flag depended on, so every flag
// comes after the flags it depends on, the flag itself last. Empty when any flag on the way is
// missing, or on a cycle, or when the flag depends on itself.
class DependencyChains {
public:
    explicit DependencyChains(const std::unordered_map<std::string, FeedFlag*>& by_key)
        : by_key_(by_key) {}

    const std::vector<std::string>& chain(const std::string& key) {
        if (auto it = memo_.find(key); it != memo_.end()) return it->second;
        std::vector<std::string> result;
        auto flag = by_key_.find(key);
        const bool self_dependent =
            flag != by_key_.end() &&
            std::find(flag->second->depends.begin(), flag->second->depends.end(), key) !=
                flag->second->depends.end();
        if (!self_dependent) {
            std::set<std::string> on_path, done;
            if (!visit(key, on_path, done, result)) result.clear();
        }
        return memo_.emplace(key, std::move(result)).first->second;
    }

private:
    bool visit(const std::string& key, std::set<std::string>& on_path, std::set<std::string>& done,
               std::vector<std::string>& out) {
        if (on_path.count(key)) return false;  // a cycle
        if (done.count(key)) return true;
        auto flag = by_key_.find(key);
        if (flag == by_key_.end() || on_path.size() >= kMaxChainDepth) return false;
        on_path.insert(key);
        for (const auto& dependency : flag->second->depends) {
            if (dependency == key)
                continue;  // a flag's own self-reference is skipped below the root
            if (!visit(dependency, on_path, done, out)) return false;
        }
        on_path.erase(key);
        done.insert(key);
        out.push_back(key);
        return true;
    }

    const std::unordered_map<std::string, FeedFlag*>& by_key_;
    std::map<std::string, std::vector<std::string>> memo_;
};

}  // namespace

SdkFeed build_sdk_feed(const json::object& team_document, Bucketing team_bucketing) {
    const json::array* source_flags = array_member(team_document, "flags");
    if (!source_flags) throw std::invalid_argument("team definitions have no \"flags\" array");
    const json::value* mapping = member(team_document, "group_type_mapping");
    const json::value* cohorts = member(team_document, "cohorts");
    if ((mapping && !mapping->is_object()) || (cohorts && !cohorts->is_object()))
        throw std::invalid_argument(
            "team definitions: group_type_mapping and cohorts must be objects");

    // Every member first: inserting into an object may move its values, and references into
    // the flags are kept from here on.
    json::object feed;
    feed["flags"] = json::array();
    feed["group_type_mapping"] = mapping ? *mapping : json::object();
    // Dynamic cohorts only: static ones are membership rows the SDK cannot see.
    feed["cohorts"] = cohorts ? *cohorts : json::object();
    const json::value* matching = member(team_document, "property_matching_version");
    feed["property_matching_version"] = matching ? *matching : json::value(1);
    json::array& flags = feed.at("flags").as_array();
    flags.reserve(source_flags->size());
    for (const auto& f : *source_flags) {
        if (!f.is_object())
            throw std::invalid_argument("team definitions: each flag must be an object");
        const json::value* deleted = member(f.get_object(), "deleted");
        if (deleted && deleted->is_bool() && deleted->get_bool()) continue;  // never in a feed
        flags.push_back(f);
    }

    std::vector<FeedFlag> feed_flags;
    feed_flags.reserve(flags.size());
    std::unordered_map<std::string, FeedFlag*> by_key;
    CohortFlagUse cohort_flag_use(cohorts ? &cohorts->get_object() : nullptr);
    for (auto& f : flags) {
        FeedFlag& flag = feed_flags.emplace_back(FeedFlag{&f.get_object(), {}, false});
        for_each_condition_property(*flag.object, [&](json::object& property) {
            const json::value* key = member(property, "key");
            if (has_type(property, "flag") && key && key->is_string())
                flag.depends.emplace_back(key->get_string());
        });
        flag.own_reason = needs_server_by_itself(*flag.object, team_bucketing, cohort_flag_use);
    }
    for (auto& flag : feed_flags) {
        const json::value* key = member(*flag.object, "key");
        if (key && key->is_string()) by_key[std::string(key->get_string())] = &flag;
    }

    SdkFeed result;
    DependencyChains chains(by_key);
    for (auto& flag : feed_flags) {
        bool needs_server = flag.own_reason;
        for_each_condition_property(*flag.object, [&](json::object& property) {
            if (!has_type(property, "flag")) return;
            const json::value* key = member(property, "key");
            const std::vector<std::string> none;
            const std::vector<std::string>& chain =
                key && key->is_string() ? chains.chain(std::string(key->get_string())) : none;
            json::array& out = property["dependency_chain"].emplace_array();
            for (const auto& k : chain) out.emplace_back(k);
            // posthog-node resolves an empty chain as inconclusive per condition, and may then
            // answer from a later condition where the service reports the flag as failed.
            if (chain.empty()) needs_server = true;
            for (const auto& k : chain)
                if (by_key.at(k)->own_reason) needs_server = true;
        });
        if (needs_server) {
            (*flag.object)["ensure_experience_continuity"] = true;
            const json::value* key = member(*flag.object, "key");
            result.server_only_keys.emplace_back(
                key && key->is_string() ? std::string(key->get_string()) : std::string());
        }
    }

    result.body = json::serialize(feed);
    result.etag = strong_etag(result.body);
    return result;
}

std::string strong_etag(std::string_view body) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(body.data(), body.size(), digest, &length, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string etag;
    etag.reserve(2 + 2 * length);
    etag.push_back('"');
    for (unsigned int i = 0; i < length; ++i) {
        etag.push_back(kHex[digest[i] >> 4]);
        etag.push_back(kHex[digest[i] & 0x0f]);
    }
    etag.push_back('"');
    return etag;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    auto weakless = [](std::string_view tag) {
        if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
        return tag;
    };
    const std::string_view wanted = weakless(etag);
    while (!if_none_match.empty()) {
        const std::size_t comma = if_none_match.find(',');
        std::string_view candidate = if_none_match.substr(0, comma);
        if_none_match.remove_prefix(comma == std::string_view::npos ? if_none_match.size()
                                                                    : comma + 1);
        while (!candidate.empty() && (candidate.front() == ' ' || candidate.front() == '\t'))
            candidate.remove_prefix(1);
        while (!candidate.empty() && (candidate.back() == ' ' || candidate.back() == '\t'))
            candidate.remove_suffix(1);
        if (candidate == "*") return true;
        if (!candidate.empty() && weakless(candidate) == wanted) return true;
    }
    return false;
}

}  // namespace flag_eval::decide
