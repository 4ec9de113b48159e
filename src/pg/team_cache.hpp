// Compiled flag definitions per team, cached for the life of the backend and dropped when the
// definitions tables change. A statement trigger on those tables calls CacheInvalidateRelcache;
// the invalidation travels with the commit record, so it also reaches hot-standby backends when
// replay applies the change.
#pragma once
#include "core/flag_set.hpp"

#include <cstdint>
#include <memory>
#include <unordered_set>

#include "pg/pg_headers.hpp"  // PostgreSQL headers come after every core header

namespace flag_eval::pg {

struct TeamDefinitions {
    FlagSet flags;
    std::unordered_set<std::int64_t> static_cohort_ids;  // the team's static cohorts
};

// The team's compiled definitions, loaded through flag_eval._team_document() on first use.
// Throws InvalidDefinition when a stored definition cannot be compiled.
std::shared_ptr<const TeamDefinitions> team_definitions(std::int64_t team_id);

}  // namespace flag_eval::pg
