// What decide() reads from the tables for one request: the team by token, the person and the
// anonymous person by distinct id, the request's groups, the person's static cohorts and the
// experience-continuity hash keys (the last two only for teams whose flags can use them). Each row
// is fetched by a B-tree index scan run here directly (index_beginscan), with neither a query plan
// nor an executor: the plpgsql statement that did the same cost ~35 µs a call. Privileges are
// checked as a query would (SELECT on each table), and the rows are those of the statement's
// snapshot.
#pragma once
#include "pg/pg_headers.hpp"

#include <cstdint>

namespace flag_eval::pg {

// One member of the request's groups object, with the stored properties of that group.
struct StoredGroup {
    const char* type;  // the group type name (the member's key), into the groups datum
    int type_length;
    // The group key as the request gives it: a string, a number (key is numeric_out's text), or
    // anything else (key is null: no stored group is looked up, and the context refuses it).
    enum class KeyKind { String, Number, Other } key_kind;
    const char* key;
    int key_length;
    Jsonb* properties;  // the stored group's properties; nullptr when no group is stored
};

// An experience-continuity row: the hash key recorded for (person, flag).
struct StoredHashKey {
    text* flag_key;
    text* hash_key;
};

// Plain data in palloc'd memory (the current memory context).
struct StoredSubject {
    bool person_found;  // the person of distinct_id
    std::int64_t person_id;
    Jsonb* person_properties;
    bool anon_person_found;  // the person of anon_distinct_id
    StoredGroup* groups;
    int group_count;
    std::int64_t* static_cohort_ids;  // every cohort the person is a member of (static or not);
                                      // not read when the team has no static cohort
    int static_cohort_count;
    // The hash keys of the anonymous person, then those of the person (a later row for the same
    // flag wins: the person's own key beats the anonymous one, as in PostHog); not read when the
    // team has no continuity flag.
    StoredHashKey* hash_keys;
    int hash_key_count;
};

// What of a team's compiled definitions decides which rows are worth reading (plain data that
// points into the cached definitions, which outlive the call).
struct TeamShape {
    bool has_static_cohorts;    // else cohort memberships cannot change an answer
    bool has_continuity_flags;  // else hash key overrides cannot change an answer
    // The group type name of each index 0..4 (nullptr: not mapped), as the flags use it.
    const char* group_types[5];
    int group_type_lengths[5];
};

// Checks the caller's privileges and finds the team of a public token (nullptr: none). It
// ereports on errors: call it from a frame without live C++ objects.
bool find_team(text* token, std::int64_t* team_id);

// Reads the subject's stored rows for the team; groups and anon_distinct_id may be null (none).
// Call it after find_team() in the same call. It ereports on errors: call it under guarded(),
// or from a frame without live C++ objects.
void read_stored_subject(std::int64_t team_id, const TeamShape& shape, text* distinct_id,
                         Jsonb* groups, text* anon_distinct_id, StoredSubject* out);

}  // namespace flag_eval::pg
