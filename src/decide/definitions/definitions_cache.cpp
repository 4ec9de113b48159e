#include "decide/definitions/definitions_cache.hpp"

#include "core/json_access.hpp"
#include "core/problems.hpp"
#include "decide/definitions/sdk_feed.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <xxhash.h>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <utility>

namespace flag_eval::decide {
namespace {

namespace json = boost::json;
using json_access::member;

// Cohorts nest; Boost.JSON's default limit (32) is too tight for real documents, and the core
// bounds its own recursion.
constexpr std::size_t kMaxJsonDepth = 512;

std::string fingerprint_of(const json::value& team) {
    const std::string text = json::serialize(team);
    const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return hex;
}

std::string team_label(std::int64_t id) { return "team " + std::to_string(id); }

// One team compiled from its entry in the document; throws std::exception with a message.
std::shared_ptr<const TeamDefinitions> compile_team(std::int64_t id, const json::object& entry) {
    auto text = [&](std::string_view key) -> std::string {
        const json::value* v = member(entry, key);
        if (!v || !v->is_string())
            throw std::invalid_argument(std::string(key) + " must be a string");
        return std::string(v->get_string());
    };
    auto team = std::make_shared<TeamDefinitions>();
    team->id = id;
    team->api_token = text("api_token");
    team->secret_token = text("secret_token");
    if (team->api_token.empty()) throw std::invalid_argument("api_token must not be empty");
    const std::string bucketing = text("bucketing");
    const auto parsed_bucketing = bucketing_from_name(bucketing);
    if (!parsed_bucketing) throw std::invalid_argument("unknown bucketing \"" + bucketing + "\"");
    team->bucketing = *parsed_bucketing;

    const json::value* definitions = member(entry, "definitions");
    if (!definitions || !definitions->is_object())
        throw std::invalid_argument("definitions must be an object");
    team->flags = FlagSet::parse(*definitions, team->bucketing);
    if (const json::value* ids = member(definitions->get_object(), "static_cohort_ids")) {
        if (!ids->is_array())
            throw std::invalid_argument("definitions.static_cohort_ids must be an array");
        for (const auto& v : ids->get_array()) {
            const auto cohort = json_access::integer(v);
            if (!cohort)
                throw std::invalid_argument("definitions.static_cohort_ids must hold integers");
            team->static_cohort_ids.push_back(*cohort);
        }
    }
    SdkFeed feed = build_sdk_feed(definitions->get_object(), team->bucketing);
    team->sdk_feed_body = std::move(feed.body);
    team->sdk_feed_etag = std::move(feed.etag);
    return team;
}

}  // namespace

// Builds a generation team by team, keeping tokens unique.
struct GenerationBuilder {
    std::shared_ptr<DefinitionsGeneration> generation = std::make_shared<DefinitionsGeneration>();

    // False (and nothing added) when the id or a token is already taken.
    bool add(std::shared_ptr<const TeamDefinitions> team, std::string fingerprint,
             std::string& why) {
        if (generation->by_id_.count(team->id)) {
            why = "appears twice";
            return false;
        }
        if (generation->by_api_token_.count(team->api_token)) {
            why = "has the api_token of another team";
            return false;
        }
        if (generation->by_secret_token_.count(team->secret_token)) {
            why = "has the secret_token of another team";
            return false;
        }
        generation->by_api_token_.emplace(team->api_token, team);
        generation->by_secret_token_.emplace(team->secret_token, team);
        const std::int64_t id = team->id;
        generation->by_id_.emplace(
            id, DefinitionsGeneration::Entry{std::move(team), std::move(fingerprint)});
        return true;
    }

    static const DefinitionsGeneration::Entry* previous_entry(const DefinitionsGeneration* previous,
                                                              std::int64_t id) {
        if (!previous) return nullptr;
        auto it = previous->by_id_.find(id);
        return it == previous->by_id_.end() ? nullptr : &it->second;
    }

    void set_version(std::int64_t version) { generation->version_ = version; }
};

std::shared_ptr<const TeamDefinitions> DefinitionsGeneration::by_api_token(
    std::string_view token) const {
    auto it = by_api_token_.find(token);
    return it == by_api_token_.end() ? nullptr : it->second;
}

std::shared_ptr<const TeamDefinitions> DefinitionsGeneration::by_secret_token(
    std::string_view token) const {
    auto it = by_secret_token_.find(token);
    return it == by_secret_token_.end() ? nullptr : it->second;
}

std::shared_ptr<const TeamDefinitions> DefinitionsGeneration::by_id(std::int64_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second.team;
}

PreparedDefinitions prepare_definitions(
    std::string_view text, const std::shared_ptr<const DefinitionsGeneration>& previous) {
    PreparedDefinitions prepared;
    ApplyReport& report = prepared.report;
    auto refuse = [&](std::string why) {
        report = ApplyReport{};
        report.error = std::move(why);
        return prepared;
    };

    json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    boost::system::error_code ec;
    json::value document = json::parse(text, ec, {}, options);
    if (ec) return refuse("definitions are not valid JSON: " + ec.message());
    if (!document.is_object()) return refuse("definitions must be a JSON object");
    const json::object& root = document.get_object();
    const json::value* version_value = member(root, "version");
    const auto version = version_value ? json_access::integer(*version_value) : std::nullopt;
    if (!version) return refuse("definitions have no integer \"version\"");
    const json::value* teams_value = member(root, "teams");
    if (!teams_value || !teams_value->is_array())
        return refuse("definitions have no \"teams\" array");
    const json::array& teams = teams_value->get_array();

    // The envelope first: an entry without an id cannot be matched to a previous version, which
    // means the document is not what service_definitions() makes.
    std::vector<std::int64_t> ids;
    ids.reserve(teams.size());
    for (std::size_t i = 0; i < teams.size(); ++i) {
        const json::value* id =
            teams[i].is_object() ? member(teams[i].get_object(), "id") : nullptr;
        const auto parsed = id ? json_access::integer(*id) : std::nullopt;
        if (!parsed)
            return refuse("teams[" + std::to_string(i) +
                          "] is not an object with an integer \"id\"");
        ids.push_back(*parsed);
    }

    GenerationBuilder builder;
    builder.set_version(*version);
    for (std::size_t i = 0; i < teams.size(); ++i) {
        const std::int64_t id = ids[i];
        const auto* before = GenerationBuilder::previous_entry(previous.get(), id);
        std::string fingerprint = fingerprint_of(teams[i]);
        std::shared_ptr<const TeamDefinitions> team;
        std::string error;
        if (before && before->fingerprint == fingerprint) {
            team = before->team;  // unchanged: no need to compile it again
        } else {
            try {
                team = compile_team(id, teams[i].get_object());
                ++report.teams_compiled;
            } catch (const std::exception& e) {
                error = e.what();
            }
        }
        if (team && !builder.add(team, fingerprint, error)) team = nullptr;
        if (team) continue;

        TeamError team_error{id, team_label(id) + ": " + error, false};
        // Keep serving what the team had, unless that now clashes with another team.
        std::string clash;
        if (before && builder.add(before->team, before->fingerprint, clash))
            team_error.kept_previous = true;
        report.team_errors.push_back(std::move(team_error));
    }

    report.ok = true;
    report.version = *version;
    report.teams = builder.generation->team_count();
    prepared.generation = std::move(builder.generation);
    return prepared;
}

ApplyReport DefinitionsCache::apply(std::string_view service_definitions_json) {
    PreparedDefinitions prepared = prepare_definitions(service_definitions_json, current());
    install(prepared);
    return std::move(prepared.report);
}

void DefinitionsCache::install(const PreparedDefinitions& prepared) {
    if (!prepared.generation) return;
    std::shared_ptr<const DefinitionsGeneration> previous;  // released after the lock
    std::lock_guard lock(mutex_);
    previous = std::exchange(current_, prepared.generation);
}

std::shared_ptr<const DefinitionsGeneration> DefinitionsCache::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

std::int64_t DefinitionsCache::version() const {
    const auto generation = current();
    return generation ? generation->version() : 0;
}

std::shared_ptr<const TeamDefinitions> DefinitionsCache::by_api_token(
    std::string_view token) const {
    const auto generation = current();
    return generation ? generation->by_api_token(token) : nullptr;
}

std::shared_ptr<const TeamDefinitions> DefinitionsCache::by_secret_token(
    std::string_view token) const {
    const auto generation = current();
    return generation ? generation->by_secret_token(token) : nullptr;
}

}  // namespace flag_eval::decide
