// Plain C-style code on purpose: everything here may ereport (locks, permissions, buffer reads),
// so no frame holds an object with a destructor (docs/architecture.md, C++ inside PostgreSQL).
#include "pg/jsonb_properties.hpp"  // first: it includes core headers, which precede PostgreSQL's
#include "pg/stored_subject.hpp"
#include "pg/team_cache.hpp"

extern "C" {
#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace flag_eval::pg {
namespace {

// ---- the extension's tables, indexes and columns, resolved once per backend ----

enum Table {
    Teams,
    PersonDistinctIds,
    Persons,
    GroupTypeMappings,
    Groups,
    CohortMembers,
    HashKeyOverrides,
    Flags,
    kTables
};
// Every table decide() reads, flags and group type mappings included (what it needs of them comes
// from the compiled definitions, but a caller must still be allowed to read them).
constexpr const char* kTableNames[kTables] = {
    "teams",          "person_distinct_ids", "persons", "group_type_mappings", "groups",
    "cohort_members", "hash_key_overrides",  "flags"};

enum Index {
    TeamsByToken,
    DistinctIdsKey,
    PersonsKey,
    GroupsKey,
    CohortsByPerson,
    HashKeysKey,
    kIndexes
};
struct IndexName {
    const char* name;
    Table table;
};
// Each lookup compares the leading columns of its index, named in the comments.
constexpr IndexName kIndexNames[kIndexes] = {
    {"teams_api_token_key", Teams},                   // (api_token)
    {"person_distinct_ids_pkey", PersonDistinctIds},  // (team_id, distinct_id)
    {"persons_pkey", Persons},                        // (id)
    {"groups_pkey", Groups},                          // (team_id, group_type_index, group_key)
    {"cohort_members_person_id", CohortMembers},      // (person_id, cohort_id)
    {"hash_key_overrides_pkey", HashKeyOverrides},    // (team_id, person_id, feature_flag_key)
};

enum Column {
    TeamId,
    DistinctIdPerson,
    PersonProperties,
    GroupProperties,
    MemberCohort,
    OverrideFlagKey,
    OverrideHashKey,
    kColumns
};
struct ColumnName {
    const char* name;
    Table table;
};
constexpr ColumnName kColumnNames[kColumns] = {
    {"id", Teams},
    {"person_id", PersonDistinctIds},
    {"properties", Persons},
    {"properties", Groups},
    {"cohort_id", CohortMembers},
    {"feature_flag_key", HashKeyOverrides},
    {"hash_key", HashKeyOverrides},
};

struct Catalog {
    bool valid;
    Oid tables[kTables];
    Oid indexes[kIndexes];
    AttrNumber columns[kColumns];
};

Catalog catalog;
bool callback_registered = false;

// Runs during invalidation processing: only note that the OIDs may be stale (DROP EXTENSION and
// CREATE EXTENSION give the tables new ones).
void on_relcache_invalidation(Datum, Oid relid) {
    if (!catalog.valid) return;
    if (relid == InvalidOid) {
        catalog.valid = false;
        return;
    }
    for (Oid t : catalog.tables)
        if (t == relid) catalog.valid = false;
    for (Oid i : catalog.indexes)
        if (i == relid) catalog.valid = false;
}

Oid relation_oid(const char* name, Oid schema) {
    const Oid relid = get_relname_relid(name, schema);
    if (!OidIsValid(relid))
        ereport(
            ERROR,
            (errcode(ERRCODE_UNDEFINED_TABLE),
             errmsg("relation \"flag_eval.%s\" does not exist", name),
             errhint(
                 "Recreate the extension: DROP EXTENSION flag_eval; CREATE EXTENSION flag_eval;")));
    return relid;
}

void load_catalog() {
    if (!callback_registered) {
        CacheRegisterRelcacheCallback(on_relcache_invalidation, PointerGetDatum(nullptr));
        callback_registered = true;
    }
    // A change by this session, or replayed on a standby, arrives here.
    AcceptInvalidationMessages();
    if (catalog.valid) return;
    const Oid schema = get_namespace_oid("flag_eval", false);
    Catalog loaded;
    for (int t = 0; t < kTables; ++t) loaded.tables[t] = relation_oid(kTableNames[t], schema);
    for (int i = 0; i < kIndexes; ++i)
        loaded.indexes[i] = relation_oid(kIndexNames[i].name, schema);
    for (int c = 0; c < kColumns; ++c) {
        loaded.columns[c] = get_attnum(loaded.tables[kColumnNames[c].table], kColumnNames[c].name);
        if (loaded.columns[c] == InvalidAttrNumber)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                            errmsg("column \"%s\" of relation \"flag_eval.%s\" does not exist",
                                   kColumnNames[c].name, kTableNames[kColumnNames[c].table])));
    }
    loaded.valid = true;
    catalog = loaded;
}

// SELECT on every table, as the executor checks a statement's tables: the same error too.
void check_privileges() {
    const Oid user = GetUserId();
    for (int t = 0; t < kTables; ++t)
        if (pg_class_aclcheck(catalog.tables[t], user, ACL_SELECT) != ACLCHECK_OK)
            aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, kTableNames[t]);
}

// ---- one index lookup ----

// An equality on one leading index column: the btree's equality function and the value.
struct KeyValue {
    RegProcedure equals;
    Datum value;
};

struct IndexLookup {
    Relation heap;
    Relation index;
    IndexScanDesc scan;
    TupleTableSlot* slot;
};

// The rows of the index's table whose leading index columns equal keys[0..count), visible to the
// statement's snapshot. Locks are kept to the end of the transaction, as a query keeps them.
void begin_lookup(IndexLookup* lookup, Index index, const KeyValue* keys, int count) {
    lookup->heap = table_open(catalog.tables[kIndexNames[index].table], AccessShareLock);
    lookup->index = index_open(catalog.indexes[index], AccessShareLock);
    ScanKeyData scan_keys[3];
    Assert(count <= 3);
    for (int i = 0; i < count; ++i)
        ScanKeyEntryInitialize(&scan_keys[i], 0, static_cast<AttrNumber>(i + 1),
                               BTEqualStrategyNumber, InvalidOid, lookup->index->rd_indcollation[i],
                               keys[i].equals, keys[i].value);
    lookup->scan = index_beginscan(lookup->heap, lookup->index, GetActiveSnapshot(), count, 0);
    index_rescan(lookup->scan, scan_keys, count, nullptr, 0);
    lookup->slot = table_slot_create(lookup->heap, nullptr);
}

bool next_row(IndexLookup* lookup) {
    return index_getnext_slot(lookup->scan, ForwardScanDirection, lookup->slot);
}

// A column of the current row; false when it is null.
bool column(IndexLookup* lookup, Column c, Datum* value) {
    bool is_null = true;
    *value = slot_getattr(lookup->slot, catalog.columns[c], &is_null);
    return !is_null;
}

void end_lookup(IndexLookup* lookup) {
    ExecDropSingleTupleTableSlot(lookup->slot);
    index_endscan(lookup->scan);
    index_close(lookup->index, NoLock);
    table_close(lookup->heap, NoLock);
}

KeyValue int8_key(std::int64_t v) { return {F_INT8EQ, Int64GetDatum(v)}; }
KeyValue int2_key(int16 v) { return {F_INT2EQ, Int16GetDatum(v)}; }
KeyValue text_key(text* v) { return {F_TEXTEQ, PointerGetDatum(v)}; }

// The one row's column `c`, copied (detoasted) into the current memory context by `copy`;
// false when there is no row.
bool lookup_one(Index index, const KeyValue* keys, int count, Column c, Datum* value,
                bool copy_varlena) {
    IndexLookup lookup;
    begin_lookup(&lookup, index, keys, count);
    bool found = false;
    if (next_row(&lookup) && column(&lookup, c, value)) {
        found = true;
        if (copy_varlena) *value = PointerGetDatum(PG_DETOAST_DATUM_COPY(*value));
    }
    end_lookup(&lookup);
    return found;
}

// The person of a distinct id (person_distinct_ids' primary key).
bool person_of(std::int64_t team_id, text* distinct_id, std::int64_t* person_id) {
    const KeyValue keys[] = {int8_key(team_id), text_key(distinct_id)};
    Datum id;
    if (!lookup_one(DistinctIdsKey, keys, 2, DistinctIdPerson, &id, false)) return false;
    *person_id = DatumGetInt64(id);
    return true;
}

// The request's groups: each member, and the stored group of that type and key. The type's index
// is the one the compiled flags use; the key is compared in the text jsonb_each_text gives it (an
// integer 42 finds the group stored as '42').
void read_groups(std::int64_t team_id, const TeamShape& shape, Jsonb* groups, StoredSubject* out) {
    JsonbContainer* object = object_root(groups);
    if (object == nullptr) return;
    int count = 0;
    const MemberText* members = member_texts(object, &count);
    out->groups = static_cast<StoredGroup*>(palloc0(sizeof(StoredGroup) * (count > 0 ? count : 1)));
    for (int n = 0; n < count; ++n) {
        const MemberText& member = members[n];
        StoredGroup* group = &out->groups[n];
        group->type = member.key;
        group->type_length = member.key_length;
        if (member.kind == MemberText::Kind::Other) {
            group->key_kind = StoredGroup::KeyKind::Other;
            continue;
        }
        group->key_kind = member.kind == MemberText::Kind::String ? StoredGroup::KeyKind::String
                                                                  : StoredGroup::KeyKind::Number;
        group->key = member.text;
        group->key_length = member.text_length;
        int type_index = -1;
        for (int i = 0; i < 5; ++i)
            if (shape.group_types[i] != nullptr &&
                shape.group_type_lengths[i] == group->type_length &&
                memcmp(shape.group_types[i], group->type, group->type_length) == 0)
                type_index = i;
        if (type_index < 0) continue;
        const KeyValue keys[] = {int8_key(team_id), int2_key(static_cast<int16>(type_index)),
                                 text_key(cstring_to_text_with_len(group->key, group->key_length))};
        Datum properties;
        if (lookup_one(GroupsKey, keys, 3, GroupProperties, &properties, true))
            group->properties = DatumGetJsonbP(properties);
    }
    out->group_count = count;
}

void read_static_cohorts(std::int64_t person_id, StoredSubject* out) {
    const KeyValue keys[] = {int8_key(person_id)};
    IndexLookup lookup;
    begin_lookup(&lookup, CohortsByPerson, keys, 1);
    int capacity = 0;
    while (next_row(&lookup)) {
        Datum cohort;
        if (!column(&lookup, MemberCohort, &cohort)) continue;
        if (out->static_cohort_count == capacity) {
            capacity = capacity ? capacity * 2 : 8;
            out->static_cohort_ids = static_cast<std::int64_t*>(
                out->static_cohort_ids
                    ? repalloc(out->static_cohort_ids, sizeof(std::int64_t) * capacity)
                    : palloc(sizeof(std::int64_t) * capacity));
        }
        out->static_cohort_ids[out->static_cohort_count++] = DatumGetInt64(cohort);
    }
    end_lookup(&lookup);
}

void read_hash_keys(std::int64_t team_id, std::int64_t person_id, StoredSubject* out,
                    int* capacity) {
    const KeyValue keys[] = {int8_key(team_id), int8_key(person_id)};
    IndexLookup lookup;
    begin_lookup(&lookup, HashKeysKey, keys, 2);
    while (next_row(&lookup)) {
        Datum flag_key, hash_key;
        if (!column(&lookup, OverrideFlagKey, &flag_key) ||
            !column(&lookup, OverrideHashKey, &hash_key))
            continue;
        if (out->hash_key_count == *capacity) {
            *capacity = *capacity ? *capacity * 2 : 8;
            out->hash_keys = static_cast<StoredHashKey*>(
                out->hash_keys ? repalloc(out->hash_keys, sizeof(StoredHashKey) * *capacity)
                               : palloc(sizeof(StoredHashKey) * *capacity));
        }
        out->hash_keys[out->hash_key_count++] = {DatumGetTextPCopy(flag_key),
                                                 DatumGetTextPCopy(hash_key)};
    }
    end_lookup(&lookup);
}

}  // namespace

bool find_team(text* token, std::int64_t* team_id) {
    load_catalog();
    check_privileges();
    if (!ActiveSnapshotSet()) elog(ERROR, "flag_eval.decide() needs an active snapshot");
    if (token == nullptr) return false;
    // Pending invalidations first: a change to the teams table forgets the remembered tokens.
    AcceptInvalidationMessages();
    const std::string_view api_token = view_of(token);
    if (const auto remembered = remembered_team(api_token)) {
        *team_id = *remembered;
        return true;
    }
    const KeyValue keys[] = {text_key(token)};
    Datum id;
    if (!lookup_one(TeamsByToken, keys, 1, TeamId, &id, false)) return false;
    *team_id = DatumGetInt64(id);
    remember_team(api_token, *team_id);
    return true;
}

void read_stored_subject(std::int64_t team_id, const TeamShape& shape, text* distinct_id,
                         Jsonb* groups, text* anon_distinct_id, StoredSubject* out) {
    *out = StoredSubject{};
    std::int64_t person_id = 0;
    if (person_of(team_id, distinct_id, &person_id)) {
        const KeyValue keys[] = {int8_key(person_id)};
        Datum properties;
        if (lookup_one(PersonsKey, keys, 1, PersonProperties, &properties, true)) {
            out->person_found = true;
            out->person_id = person_id;
            out->person_properties = DatumGetJsonbP(properties);
        }
    }
    std::int64_t anon_person_id = 0;
    if (anon_distinct_id != nullptr)
        out->anon_person_found = person_of(team_id, anon_distinct_id, &anon_person_id);

    read_groups(team_id, shape, groups, out);
    if (out->person_found && shape.has_static_cohorts) read_static_cohorts(out->person_id, out);

    if (!shape.has_continuity_flags) return;
    int capacity = 0;
    if (out->anon_person_found && !(out->person_found && anon_person_id == out->person_id))
        read_hash_keys(team_id, anon_person_id, out, &capacity);
    if (out->person_found) read_hash_keys(team_id, out->person_id, out, &capacity);
}

}  // namespace flag_eval::pg
