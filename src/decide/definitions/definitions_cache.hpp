// Every team's tokens and compiled flags, in memory: what the service answers from, with or
// without a database. Filled from the text of flag_eval.service_definitions() (or the snapshot
// file holding that text).
//
// Readers take a std::shared_ptr<const ...> to an immutable generation or team: a refresh swaps
// in a new generation and never changes what an in-flight request holds. Every event-loop thread
// reads the current generation while the refresher installs the next, under a mutex held only to
// copy the pointer (std::atomic<std::shared_ptr> of GCC 12's library unlocks its reads relaxed,
// which ThreadSanitizer reports as a race); prepare_definitions(), the expensive part, is a pure
// function that may run on any thread.
#pragma once
#include "core/bucketing.hpp"
#include "core/flag_set.hpp"
#include "decide/definitions/definitions_freshness.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flag_eval::decide {

struct TeamDefinitions {
    std::int64_t id = 0;
    std::string api_token, secret_token;
    flag_eval::Bucketing bucketing = flag_eval::Bucketing::Xxh3;
    flag_eval::FlagSet flags;  // the team's live flags, cohorts, group type mapping
    std::vector<std::int64_t> static_cohort_ids;  // evaluated by the database only
    std::string sdk_feed_body;                    // body of GET /flags/definitions for this team
    std::string sdk_feed_etag;                    // quoted strong ETag of that body
};

// A team whose definitions could not be taken from a document.
struct TeamError {
    std::int64_t team_id = 0;
    std::string message;
    bool kept_previous = false;  // the team is still served, from the previous generation
};

struct ApplyReport {
    bool ok = false;                 // false: the document was refused and nothing changed
    std::string error;               // why, when !ok
    std::int64_t version = 0;        // the document's version (when ok)
    std::size_t teams = 0;           // teams served after the apply
    std::size_t teams_compiled = 0;  // of those, compiled anew (the rest were unchanged)
    std::vector<TeamError> team_errors;
};

// One immutable set of definitions.
class DefinitionsGeneration {
public:
    std::int64_t version() const { return version_; }
    std::size_t team_count() const { return by_id_.size(); }
    std::shared_ptr<const TeamDefinitions> by_api_token(std::string_view token) const;
    std::shared_ptr<const TeamDefinitions> by_secret_token(std::string_view token) const;
    std::shared_ptr<const TeamDefinitions> by_id(std::int64_t id) const;

private:
    friend struct GenerationBuilder;

    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    using ByToken = std::unordered_map<std::string, std::shared_ptr<const TeamDefinitions>,
                                       StringHash, std::equal_to<>>;
    struct Entry {
        std::shared_ptr<const TeamDefinitions> team;
        std::string fingerprint;  // of the team's source JSON: unchanged teams are not recompiled
    };

    std::int64_t version_ = 0;
    std::unordered_map<std::int64_t, Entry> by_id_;
    ByToken by_api_token_;
    ByToken by_secret_token_;
};

struct PreparedDefinitions {
    std::shared_ptr<const DefinitionsGeneration> generation;  // null when the document was refused
    ApplyReport report;
};

// Compiles the text of service_definitions(): {"version", "teams": [{"id", "api_token",
// "secret_token", "bucketing", "definitions"}]}. A document that is not of that shape is refused
// whole. A team that is wrong on its own (its definitions do not compile, a bad token or bucketing)
// keeps its version from `previous` if it had one, and is reported; the other teams are not
// affected. Never throws for bad input.
PreparedDefinitions prepare_definitions(
    std::string_view service_definitions_json,
    const std::shared_ptr<const DefinitionsGeneration>& previous);

class DefinitionsCache {
public:
    // Replaces everything from the text of service_definitions(); on a refused document, keeps
    // the previous contents (a bad refresh loses nothing).
    ApplyReport apply(std::string_view service_definitions_json);

    // Installs what prepare_definitions() made (nothing when the document was refused).
    void install(const PreparedDefinitions& prepared);

    std::shared_ptr<const DefinitionsGeneration> current() const;
    std::shared_ptr<const TeamDefinitions> by_api_token(std::string_view token) const;
    std::shared_ptr<const TeamDefinitions> by_secret_token(std::string_view token) const;
    bool loaded() const { return current() != nullptr; }
    std::int64_t version() const;

    DefinitionsFreshness& freshness() { return freshness_; }
    const DefinitionsFreshness& freshness() const { return freshness_; }

private:
    DefinitionsFreshness freshness_;
    mutable std::mutex mutex_;
    std::shared_ptr<const DefinitionsGeneration> current_;  // under mutex_
};

}  // namespace flag_eval::decide
