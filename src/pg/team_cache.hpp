// Compiled flag definitions per team, cached for the life of the backend and dropped when the
// definitions tables change. A statement trigger on those tables calls CacheInvalidateRelcache;
// the invalidation travels with the commit record, so it also reaches hot-standby backends when
// replay applies the change.
#pragma once
#include "core/flag_set.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "pg/pg_headers.hpp"  // PostgreSQL headers come after every core header

namespace flag_eval::pg {

struct TeamDefinitions {
    FlagSet flags;
    std::unordered_set<std::int64_t> static_cohort_ids;  // the team's static cohorts
};

// The team's compiled definitions, loaded through flag_eval._team_document() on first use.
// Throws InvalidDefinition when a stored definition cannot be compiled.
std::shared_ptr<const TeamDefinitions> team_definitions(std::int64_t team_id);

// The team of an api_token seen before in this backend, until a definitions table changes (the
// same invalidation as the compiled teams; call AcceptInvalidationMessages() first). Saves
// decide() the index lookup of the token. Never raises.
std::optional<std::int64_t> remembered_team(std::string_view api_token) noexcept;
void remember_team(std::string_view api_token, std::int64_t team_id) noexcept;

// A document shaped as _team_document()'s ({flags, group_type_mapping, cohorts,
// static_cohort_ids}) compiled. Throws InvalidDefinition.
std::unique_ptr<TeamDefinitions> compile_team_document(const boost::json::value& document);

// A person's static cohorts, answered for the team's static cohorts only; dynamic cohorts are
// evaluated from their definitions, and a cohort that is neither is the evaluator's error.
class TeamStaticCohorts final : public StaticCohortMembership {
public:
    TeamStaticCohorts(const TeamDefinitions& team, std::vector<std::int64_t> member_of);
    std::optional<bool> is_member(std::int64_t cohort_id) const override;

private:
    const TeamDefinitions& team_;
    std::vector<std::int64_t> member_of_;  // sorted
};

}  // namespace flag_eval::pg
