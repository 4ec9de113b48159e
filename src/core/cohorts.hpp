// Dynamic cohorts: nested AND/OR property groups with negation and references to other cohorts,
// as PostHog's local-evaluation feed carries them under "cohorts".
#pragma once
#include "no_postgres.hpp"
#include "flag_model.hpp"
#include "problems.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace flag_eval {

struct CohortNode {
    enum class Kind { And, Or, Filter };
    Kind kind = Kind::And;
    std::vector<CohortNode> children;      // And / Or
    std::optional<PropertyFilter> filter;  // Filter
};

class CohortSet {
public:
    // Parses {"<id>": {"type": "OR", "values": [...]}, ...}; throws InvalidDefinition.
    static CohortSet parse(const boost::json::value& json, const std::string& path,
                           PropertyMatching matching = PropertyMatching::Legacy);

    const CohortNode* find(std::int64_t id) const;
    void add(std::int64_t id, CohortNode root) { cohorts_.emplace(id, std::move(root)); }
    bool empty() const { return cohorts_.empty(); }

private:
    std::map<std::int64_t, CohortNode> cohorts_;
};

}  // namespace flag_eval
