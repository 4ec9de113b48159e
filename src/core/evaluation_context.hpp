// Everything known about the subject of one evaluation: who it is, its properties, its groups,
// and the stored data hosts may supply (static cohort membership, experience-continuity keys).
#pragma once
#include "no_postgres.hpp"
#include "property_value.hpp"
#include "request_scope.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval {

struct GroupContext {
    std::string type_name;                       // e.g. "organization"
    std::string key;                             // an integer key already in decimal
    const PropertySource* properties = nullptr;  // never null once the context is built
};

// Group type index (0..4) -> group type name.
using GroupTypeMapping = std::array<std::optional<std::string>, 5>;

// Membership that only stored data can answer; hosts with a database implement it.
class StaticCohortMembership {
public:
    virtual ~StaticCohortMembership() = default;
    // true / false when known; nullopt when the cohort is neither static nor known here.
    virtual std::optional<bool> is_member(std::int64_t cohort_id) const = 0;
};

// Experience continuity: the hash key recorded for (person, flag), if any.
class HashKeyOverrides {
public:
    virtual ~HashKeyOverrides() = default;
    virtual std::optional<std::string_view> for_flag(std::string_view flag_key) const = 0;
};

struct EvaluationContext {
    std::string_view distinct_id;
    // The request's device id, which buckets flags with bucketing_identifier "device_id"; when
    // empty, the person property $device_id is used.
    std::string_view device_id;
    const PropertySource* person_properties = nullptr;  // never null once built
    std::vector<GroupContext> groups;
    GroupTypeMapping group_type_mapping;
    const StaticCohortMembership* static_cohorts = nullptr;
    const HashKeyOverrides* hash_key_overrides = nullptr;
    const RequestScope* scope = nullptr;  // null: every flag is answered

    const GroupContext* group_by_type_index(int index) const {
        if (index < 0 || index >= static_cast<int>(group_type_mapping.size()) ||
            !group_type_mapping[index])
            return nullptr;
        for (const auto& g : groups)
            if (g.type_name == *group_type_mapping[index]) return &g;
        return nullptr;
    }
};

}  // namespace flag_eval
