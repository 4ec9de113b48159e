#include "pg/team_cache.hpp"

#include "core/json_access.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pg/pg_guard.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace flag_eval::pg {
namespace {

// Tables whose change makes every cached team stale.
constexpr std::array<const char*, 4> kDefinitionTables = {"flags", "cohorts", "teams",
                                                          "group_type_mappings"};
// Beyond this many teams a backend starts again rather than grow without bound.
constexpr std::size_t kMaxCachedTeams = 1000;

std::unordered_map<std::int64_t, std::shared_ptr<const TeamDefinitions>> cached_teams;
struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
// The teams of the api_tokens decide() was called with, dropped with the compiled teams.
std::unordered_map<std::string, std::int64_t, TokenHash, std::equal_to<>> team_by_token;
std::array<Oid, kDefinitionTables.size()> tracked_relids{};
bool stale = false;
bool callback_registered = false;

// Runs during invalidation processing: only note that the cache is stale.
void on_relcache_invalidation(Datum, Oid relid) {
    if (relid == InvalidOid) {
        stale = true;
        return;
    }
    for (Oid tracked : tracked_relids)
        if (tracked == relid) stale = true;
}

void register_invalidation_callback() {
    if (callback_registered) return;
    guarded(
        [] { CacheRegisterRelcacheCallback(on_relcache_invalidation, PointerGetDatum(nullptr)); });
    callback_registered = true;
}

// Looked up at every load: dropping and re-creating the extension gives the tables new OIDs.
void track_definition_tables() {
    guarded([] {
        const Oid schema = get_namespace_oid("flag_eval", true);
        for (std::size_t i = 0; i < kDefinitionTables.size(); ++i)
            tracked_relids[i] =
                OidIsValid(schema) ? get_relname_relid(kDefinitionTables[i], schema) : InvalidOid;
    });
}

// _team_document(team_id) as JSON text, palloc'd in the caller's memory context; nullptr when
// the function returns NULL. Plain data only: SPI errors longjmp through this frame.
char* load_team_document(std::int64_t team_id) {
    char* document = nullptr;
    guarded([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "flag_eval: SPI_connect failed");
        Oid arg_types[1] = {INT8OID};
        Datum args[1] = {Int64GetDatum(team_id)};
        const int rc = SPI_execute_with_args("SELECT flag_eval._team_document($1)::text", 1,
                                             arg_types, args, nullptr, true, 1);
        if (rc != SPI_OK_SELECT)
            elog(ERROR, "flag_eval: loading team definitions failed (SPI code %d)", rc);
        bool is_null = true;
        Datum value = SPI_processed == 1
                          ? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &is_null)
                          : Datum(0);
        if (!is_null) {
            text* t = DatumGetTextPP(value);
            const std::size_t size = VARSIZE_ANY_EXHDR(t);
            document = static_cast<char*>(SPI_palloc(size + 1));  // outlives SPI_finish
            std::memcpy(document, VARDATA_ANY(t), size);
            document[size] = '\0';
        }
        SPI_finish();
    });
    return document;
}

std::shared_ptr<const TeamDefinitions> compile_team(std::int64_t team_id) {
    track_definition_tables();
    const char* document = load_team_document(team_id);
    if (document == nullptr)
        throw InvalidDefinition("$", "team " + std::to_string(team_id) + " has no definitions");
    return compile_team_document(boost::json::parse(std::string_view(document)));
}

}  // namespace

std::unique_ptr<TeamDefinitions> compile_team_document(const boost::json::value& document) {
    if (!document.is_object())
        throw InvalidDefinition("$",
                                "expected a team document {flags, group_type_mapping, "
                                "cohorts, static_cohort_ids}");
    auto team = std::make_unique<TeamDefinitions>(
        TeamDefinitions{FlagSet::parse(document, Bucketing::Xxh3), {}});
    if (const auto* ids = document.as_object().if_contains("static_cohort_ids");
        ids && ids->is_array())
        for (const auto& id : ids->get_array())
            if (auto i = json_access::integer(id)) team->static_cohort_ids.insert(*i);
    return team;
}

TeamStaticCohorts::TeamStaticCohorts(const TeamDefinitions& team,
                                     std::vector<std::int64_t> member_of)
    : team_(team), member_of_(std::move(member_of)) {
    std::sort(member_of_.begin(), member_of_.end());
}

std::optional<bool> TeamStaticCohorts::is_member(std::int64_t cohort_id) const {
    if (!team_.static_cohort_ids.count(cohort_id)) return std::nullopt;
    return std::binary_search(member_of_.begin(), member_of_.end(), cohort_id);
}

std::shared_ptr<const TeamDefinitions> team_definitions(std::int64_t team_id) {
    register_invalidation_callback();
    // Pending invalidations (a change by this session, or replayed on a standby) arrive here.
    guarded([] { AcceptInvalidationMessages(); });
    if (stale || cached_teams.size() > kMaxCachedTeams) {
        cached_teams.clear();
        team_by_token.clear();
        stale = false;  // before loading: an invalidation during the load marks it stale again
    }
    auto it = cached_teams.find(team_id);
    if (it != cached_teams.end()) return it->second;
    auto team = compile_team(team_id);
    cached_teams.emplace(team_id, team);
    return team;
}

std::optional<std::int64_t> remembered_team(std::string_view api_token) noexcept {
    // Only once the invalidation callback is in place (the first team_definitions() of the
    // backend), and not while an invalidation is pending: a changed token must not be answered.
    if (!callback_registered || stale) return std::nullopt;
    const auto it = team_by_token.find(api_token);
    if (it == team_by_token.end()) return std::nullopt;
    return it->second;
}

void remember_team(std::string_view api_token, std::int64_t team_id) noexcept {
    if (!callback_registered || stale) return;
    try {
        if (team_by_token.size() >= kMaxCachedTeams) team_by_token.clear();
        team_by_token.emplace(std::string(api_token), team_id);
    } catch (...) {
        // Out of memory: the next call looks the token up again.
    }
}

}  // namespace flag_eval::pg
