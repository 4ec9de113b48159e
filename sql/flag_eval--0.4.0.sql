-- flag_eval 0.4.0: feature flags evaluated next to the data (docs/reference.md, SQL interface).
\echo Use "CREATE EXTENSION flag_eval" to load this file. \quit

-- Bucketing hashes the UTF-8 bytes of identifiers and the operators read text as UTF-8
-- (docs/reference.md, Bucketing): other server encodings would silently bucket differently from
-- PostHog.
DO $$
BEGIN
  IF pg_catalog.getdatabaseencoding() NOT IN ('UTF8', 'SQL_ASCII') THEN
    RAISE EXCEPTION 'flag_eval requires a UTF8 database, not %', pg_catalog.getdatabaseencoding()
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Create the database with ENCODING ''UTF8''.';
  END IF;
END
$$;

-- The pure functions: IMMUTABLE (the result depends on the arguments only) and PARALLEL SAFE.
-- They are STRICT: a NULL argument gives a NULL result (for flag_eval and flag_variant a NULL
-- properties argument too; pass '{}' for "no properties", which is also the default).
-- Flags without a "bucketing" field bucket with xxh3.

-- The planner asks flag_eval_support how many rows `WHERE flag_eval(<constant flag>, ...)` keeps
-- (the flag's rollouts, its property filters matched against the properties column's
-- statistics) instead of assuming a third. COST 4: in bench/RESULTS.md section 1 the native
-- 3-filter predicate, nine built-in calls of COST 1 (->>, lower, =, the cast, ...), takes 264 ns a
-- row above the scan, about 29 ns each; flag_eval takes 89 ns for a pure rollout and 120 ns for
-- the same three filters: three to four of them.
CREATE FUNCTION flag_eval_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'flag_eval_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION flag_eval(flag jsonb, distinct_id text, properties jsonb DEFAULT '{}')
RETURNS boolean
AS 'MODULE_PATHNAME', 'flag_eval_enabled'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
SUPPORT flag_eval_support COST 4;

COMMENT ON FUNCTION flag_eval(jsonb, text, jsonb) IS
'whether the flag (PostHog flag JSON) is enabled for distinct_id with these person properties';

CREATE FUNCTION flag_variant(flag jsonb, distinct_id text, properties jsonb DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'flag_eval_variant'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
COST 4;

COMMENT ON FUNCTION flag_variant(jsonb, text, jsonb) IS
'the variant of a multivariate flag for distinct_id with these person properties; NULL when the flag is off or has no variant';

CREATE FUNCTION flag_evaluate(flag jsonb, context jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flag_eval_evaluate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_evaluate(jsonb, jsonb) IS
'evaluation detail {key, enabled, variant, value, reason{code, condition_index, description}, payload} of one flag for a context {distinct_id, person_properties, groups, group_properties, group_type_mapping}';

CREATE FUNCTION flag_evaluate_all(definitions jsonb, context jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flag_eval_evaluate_all'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_evaluate_all(jsonb, jsonb) IS
'{flags: {key: detail}, errorsWhileComputingFlags} for a flags array or a local-evaluation feed document {flags, group_type_mapping, cohorts}, dependencies between flags resolved';

CREATE FUNCTION flag_bucket(key text, identifier text, salt text DEFAULT '', bucketing text DEFAULT 'xxh3')
RETURNS double precision
AS 'MODULE_PATHNAME', 'flag_eval_bucket'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_bucket(text, text, text, text) IS
'hash01 in [0, 1] of key || ''.'' || identifier || salt with bucketing xxh3 or sha1 (identifier cut to 200 characters)';

CREATE FUNCTION flag_validate(flag jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flag_eval_validate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_validate(jsonb) IS
'the problems of a flag definition as [{path, message, severity}], [] when it is valid';

-- flag_variant_counts(flag, distinct_id, properties): how many rows get each outcome of the flag,
-- as {"control": 340170, "test-a": 330570, ..., "false": 0} (a flag without variants: "true" and
-- "false"; every outcome the flag declares is listed, with 0 when no row gets it). An aggregate,
-- so a variant breakdown runs in parallel, where `GROUP BY flag_variant(...)` does not (the
-- planner expects a group per distinct id; docs/reference.md, What the planner expects). A row
-- with a NULL argument is not counted; NULL when no row is. The functions below are its parts
-- (src/pg/variant_counts.cpp) and refuse to be called alone.
CREATE FUNCTION _variant_counts_step(state internal, flag jsonb, distinct_id text, properties jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_step'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION _variant_counts_combine(state internal, other internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION _variant_counts_serialize(state internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION _variant_counts_deserialize(bytes bytea, unused internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION _variant_counts_final(state internal)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE flag_variant_counts(flag jsonb, distinct_id text, properties jsonb) (
    SFUNC = _variant_counts_step,
    STYPE = internal,
    FINALFUNC = _variant_counts_final,
    COMBINEFUNC = _variant_counts_combine,
    SERIALFUNC = _variant_counts_serialize,
    DESERIALFUNC = _variant_counts_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE flag_variant_counts(jsonb, text, jsonb) IS
'how many rows get each outcome of the flag (each variant, or true; false), as a jsonb object; parallel, unlike GROUP BY flag_variant(...)';

-- ==============================================================================================
-- Decide in the database (docs/reference.md, SQL interface: Tables, Table-backed functions): the
-- tables the extension owns, decide(), definitions(), preview() and the experience-continuity
-- write.
--
-- Every table is marked with pg_extension_config_dump, so pg_dump keeps its rows. Identity
-- columns are GENERATED BY DEFAULT: rows imported from PostHog keep their ids, which flag
-- definitions refer to (cohort ids in cohort filters). Tables keyed by a person carry the team
-- too, and reference persons by (team_id, id), so that a row can never join one team's person to
-- another team.
-- ==============================================================================================

CREATE TABLE flag_eval.teams (
    id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    -- the public project token SDKs send (decide, definitions, preview take this one)
    api_token    text NOT NULL UNIQUE DEFAULT 'phc_' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''),
    -- the secret token a server presents for the local-evaluation feed
    secret_token text NOT NULL UNIQUE DEFAULT 'phs_' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '')
                                                      || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''),
    -- what a flag without a "bucketing" field hashes with (docs/reference.md, Bucketing)
    bucketing    text NOT NULL DEFAULT 'xxh3' CONSTRAINT teams_bucketing_check CHECK (bucketing IN ('xxh3', 'sha1')),
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- how exact / is_not compare (docs/reference.md, Property operators): 1 PostHog's legacy
    -- truthiness, 2 plain equality
    property_matching_version smallint NOT NULL DEFAULT 1
        CONSTRAINT teams_property_matching_version_check CHECK (property_matching_version IN (1, 2))
);

COMMENT ON TABLE flag_eval.teams IS
'projects: api_token (public, phc_...) authenticates decide(), definitions() and preview(); bucketing is the default of flags that name none; property_matching_version is PostHog''s (1 legacy, 2 explicit exact matching)';

CREATE TABLE flag_eval.flags (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    team_id     bigint NOT NULL REFERENCES flag_eval.teams ON DELETE CASCADE,
    key         text NOT NULL,
    -- PostHog's flag object: filters, ensure_experience_continuity, optionally bucketing. The
    -- columns id, key, version and active win over the same fields in here.
    definition  jsonb NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    active      boolean NOT NULL DEFAULT true,
    deleted     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- The flag object as decide() sees it passes flag_validate without a single problem (warnings
    -- included). The trigger flags_before_write reports the problems first, with their paths.
    CONSTRAINT flags_definition_valid CHECK (
        flag_eval.flag_validate(definition || pg_catalog.jsonb_build_object(
            'id', id, 'key', key, 'version', version, 'active', active, 'deleted', false)) = '[]'::jsonb)
);

-- One live flag per key and team; also the index _team_document() reads a team's flags with.
CREATE UNIQUE INDEX flags_team_id_key_live ON flag_eval.flags (team_id, key) WHERE NOT deleted;
-- Deleted flags too (ON DELETE CASCADE from teams).
CREATE INDEX flags_team_id ON flag_eval.flags (team_id);
-- The experience-continuity flags of a team, read by decide() when a request carries an
-- anon_distinct_id, without reading any definition.
CREATE INDEX flags_team_id_key_continuity ON flag_eval.flags (team_id, key)
    WHERE NOT deleted AND (definition -> 'ensure_experience_continuity') = 'true'::jsonb;

COMMENT ON TABLE flag_eval.flags IS
'feature flags: definition is PostHog''s flag object; one live (not deleted) flag per key and team; version goes up by one on each change of key, definition or active unless the update sets it';

CREATE TABLE flag_eval.persons (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    team_id     bigint NOT NULL REFERENCES flag_eval.teams ON DELETE CASCADE,
    properties  jsonb NOT NULL DEFAULT '{}'
                CONSTRAINT persons_properties_object CHECK (pg_catalog.jsonb_typeof(properties) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- the target of the (team_id, person_id) references; also a team's persons for preview()
    CONSTRAINT persons_team_id_id_key UNIQUE (team_id, id)
);

COMMENT ON TABLE flag_eval.persons IS 'persons and their stored properties, found through person_distinct_ids';

CREATE TABLE flag_eval.person_distinct_ids (
    team_id      bigint NOT NULL,
    distinct_id  text NOT NULL,
    person_id    bigint NOT NULL,
    PRIMARY KEY (team_id, distinct_id),
    FOREIGN KEY (team_id, person_id) REFERENCES flag_eval.persons (team_id, id) ON DELETE CASCADE
);

CREATE INDEX person_distinct_ids_person_id ON flag_eval.person_distinct_ids (person_id);

COMMENT ON TABLE flag_eval.person_distinct_ids IS 'the distinct ids of a person, unique per team';

CREATE TABLE flag_eval.group_type_mappings (
    team_id           bigint NOT NULL REFERENCES flag_eval.teams ON DELETE CASCADE,
    group_type_index  smallint NOT NULL CONSTRAINT group_type_mappings_index_range CHECK (group_type_index BETWEEN 0 AND 4),
    group_type        text NOT NULL,
    PRIMARY KEY (team_id, group_type_index),
    UNIQUE (team_id, group_type)
);

COMMENT ON TABLE flag_eval.group_type_mappings IS 'group type names (organization, company, ...) by index 0 to 4, per team';

CREATE TABLE flag_eval.groups (
    team_id           bigint NOT NULL,
    group_type_index  smallint NOT NULL,
    group_key         text NOT NULL,
    properties        jsonb NOT NULL DEFAULT '{}'
                      CONSTRAINT groups_properties_object CHECK (pg_catalog.jsonb_typeof(properties) = 'object'),
    created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (team_id, group_type_index, group_key),
    -- a group belongs to a mapped group type (and through it to the team): deleting either
    -- deletes the group
    FOREIGN KEY (team_id, group_type_index) REFERENCES flag_eval.group_type_mappings (team_id, group_type_index)
        ON DELETE CASCADE
);

COMMENT ON TABLE flag_eval.groups IS 'groups and their stored properties; an integer group key is stored as its decimal string';

CREATE TABLE flag_eval.cohorts (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    team_id     bigint NOT NULL REFERENCES flag_eval.teams ON DELETE CASCADE,
    name        text NOT NULL,
    is_static   boolean NOT NULL DEFAULT false,
    -- dynamic cohorts: PostHog's property group {"type": "AND"|"OR", "values": [...]}; static
    -- cohorts: NULL (their members are rows of cohort_members)
    filters     jsonb,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT cohorts_filters_by_kind CHECK (CASE WHEN is_static THEN filters IS NULL ELSE filters IS NOT NULL END),
    -- the filters compile (a bad cohort would fail every decide() of its team). The trigger
    -- cohorts_before_write reports the problem first, with its path.
    CONSTRAINT cohorts_filters_valid CHECK (
        filters IS NULL OR flag_eval.flag_evaluate_all(
            pg_catalog.jsonb_build_object('flags', '[]'::jsonb, 'cohorts', pg_catalog.jsonb_build_object(id::text, filters)),
            '{}'::jsonb) IS NOT NULL)
);

CREATE INDEX cohorts_team_id ON flag_eval.cohorts (team_id);

COMMENT ON TABLE flag_eval.cohorts IS 'cohorts: dynamic ones are evaluated from filters, static ones from cohort_members';

CREATE TABLE flag_eval.cohort_members (
    cohort_id  bigint NOT NULL REFERENCES flag_eval.cohorts ON DELETE CASCADE,
    person_id  bigint NOT NULL REFERENCES flag_eval.persons ON DELETE CASCADE,
    PRIMARY KEY (cohort_id, person_id)
);

-- a person's static cohorts, read by an index-only scan
CREATE INDEX cohort_members_person_id ON flag_eval.cohort_members (person_id, cohort_id);

COMMENT ON TABLE flag_eval.cohort_members IS 'members of static cohorts';

CREATE TABLE flag_eval.hash_key_overrides (
    team_id           bigint NOT NULL,
    person_id         bigint NOT NULL,
    feature_flag_key  text NOT NULL,
    hash_key          text NOT NULL,
    PRIMARY KEY (team_id, person_id, feature_flag_key),
    FOREIGN KEY (team_id, person_id) REFERENCES flag_eval.persons (team_id, id) ON DELETE CASCADE
);

COMMENT ON TABLE flag_eval.hash_key_overrides IS
'experience continuity: the identifier a person is bucketed with for a flag (the first recorded wins); written by record_hash_key_overrides()';

-- (one call per statement: each call updates the pg_extension row)
SELECT pg_catalog.pg_extension_config_dump('flag_eval.teams', '');
SELECT pg_catalog.pg_extension_config_dump('flag_eval.flags', '');
SELECT pg_catalog.pg_extension_config_dump('flag_eval.persons', '');
SELECT pg_catalog.pg_extension_config_dump('flag_eval.person_distinct_ids', '');
SELECT pg_catalog.pg_extension_config_dump('flag_eval.group_type_mappings', '');
SELECT pg_catalog.pg_extension_config_dump('flag_eval.groups', '');
SELECT pg_catalog.pg_extension_config_dump('flag_eval.cohorts', '');
SELECT pg_catalog.pg_extension_config_dump('flag_eval.cohort_members', '');
SELECT pg_catalog.pg_extension_config_dump('flag_eval.hash_key_overrides', '');
-- and the identity sequences, so that a restored database goes on numbering after its rows
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('flag_eval.teams', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('flag_eval.flags', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('flag_eval.persons', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('flag_eval.cohorts', 'id')::regclass, '');

-- ---- cohorts: a readable refusal of filters that do not compile ----

CREATE FUNCTION flag_eval._cohorts_before_write()
RETURNS trigger
LANGUAGE plpgsql
AS $function$
BEGIN
    IF NEW.filters IS NOT NULL THEN
        BEGIN
            -- the same expression as the CHECK constraint cohorts_filters_valid
            PERFORM flag_eval.flag_evaluate_all(
                pg_catalog.jsonb_build_object('flags', '[]'::jsonb, 'cohorts', pg_catalog.jsonb_build_object(NEW.id::text, NEW.filters)),
                '{}'::jsonb);
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION 'invalid filters for cohort % ("%")', NEW.id, NEW.name
                USING ERRCODE = 'check_violation',
                      SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, CONSTRAINT = 'cohorts_filters_valid',
                      DETAIL = SQLERRM,
                      HINT = 'filters is PostHog''s property group {"type": "AND" or "OR", "values": [...]}.';
        END;
    END IF;
    RETURN NEW;
END
$function$;

CREATE TRIGGER cohorts_before_write
    BEFORE INSERT OR UPDATE ON flag_eval.cohorts
    FOR EACH ROW EXECUTE FUNCTION flag_eval._cohorts_before_write();

-- ---- flags: version, updated_at, and a readable refusal of invalid definitions ----

CREATE FUNCTION flag_eval._flags_before_write()
RETURNS trigger
LANGUAGE plpgsql
AS $function$
DECLARE
    problems jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
        IF NEW.version = OLD.version
           AND (NEW.key, NEW.definition, NEW.active) IS DISTINCT FROM (OLD.key, OLD.definition, OLD.active) THEN
            NEW.version := OLD.version + 1;
        END IF;
    END IF;
    -- the same expression as the CHECK constraint flags_definition_valid
    problems := flag_eval.flag_validate(NEW.definition || pg_catalog.jsonb_build_object(
        'id', NEW.id, 'key', NEW.key, 'version', NEW.version, 'active', NEW.active, 'deleted', false));
    IF problems <> '[]'::jsonb THEN
        RAISE EXCEPTION 'invalid flag definition for "%" at %: %',
                        NEW.key, problems -> 0 ->> 'path', problems -> 0 ->> 'message'
            USING ERRCODE = 'check_violation',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, CONSTRAINT = 'flags_definition_valid',
                  DETAIL = (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s (%s)', p ->> 'path', p ->> 'message',
                                                                           p ->> 'severity'), E'\n' ORDER BY n)
                            FROM pg_catalog.jsonb_array_elements(problems) WITH ORDINALITY AS e(p, n)),
                  HINT = 'A stored flag must pass flag_eval.flag_validate() with no problem, warnings included.';
    END IF;
    RETURN NEW;
END
$function$;

CREATE TRIGGER flags_before_write
    BEFORE INSERT OR UPDATE ON flag_eval.flags
    FOR EACH ROW EXECUTE FUNCTION flag_eval._flags_before_write();

-- A flag's bucketing never changes behind its back (docs/reference.md, Flag format): when a
-- team's default changes, its flags that name no bucketing keep the one they had, written into
-- them.
CREATE FUNCTION flag_eval._teams_bucketing_changed()
RETURNS trigger
LANGUAGE plpgsql
AS $function$
BEGIN
    UPDATE flag_eval.flags f
       SET definition = f.definition || pg_catalog.jsonb_build_object('bucketing', OLD.bucketing)
     WHERE f.team_id = NEW.id AND (f.definition ->> 'bucketing') IS NULL;
    RETURN NULL;
END
$function$;

CREATE TRIGGER teams_bucketing_changed
    AFTER UPDATE OF bucketing ON flag_eval.teams
    FOR EACH ROW WHEN (OLD.bucketing IS DISTINCT FROM NEW.bucketing)
    EXECUTE FUNCTION flag_eval._teams_bucketing_changed();

-- ---- the per-backend cache of compiled team definitions ----

-- Drops the compiled definitions every backend caches (through a relcache invalidation, which
-- also reaches hot standbys with the commit record).
CREATE FUNCTION flag_eval._definitions_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'flag_eval_definitions_changed'
LANGUAGE C;

CREATE TRIGGER flags_definitions_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flag_eval.flags
    FOR EACH STATEMENT EXECUTE FUNCTION flag_eval._definitions_changed();
CREATE TRIGGER cohorts_definitions_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flag_eval.cohorts
    FOR EACH STATEMENT EXECUTE FUNCTION flag_eval._definitions_changed();
CREATE TRIGGER teams_definitions_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flag_eval.teams
    FOR EACH STATEMENT EXECUTE FUNCTION flag_eval._definitions_changed();
CREATE TRIGGER group_type_mappings_definitions_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flag_eval.group_type_mappings
    FOR EACH STATEMENT EXECUTE FUNCTION flag_eval._definitions_changed();

-- What the cache compiles for a team: its live flags as decide() sees them (stored order), its
-- group type mapping, its dynamic cohorts, the ids of its static cohorts and its property
-- matching version. NULL for no team.
CREATE FUNCTION flag_eval._team_document(team_id bigint)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT pg_catalog.jsonb_build_object(
    'flags', coalesce((
        SELECT pg_catalog.jsonb_agg(f.definition || pg_catalog.jsonb_build_object(
                   'id', f.id, 'key', f.key, 'version', f.version, 'active', f.active, 'deleted', false,
                   'bucketing', coalesce(f.definition ->> 'bucketing', t.bucketing)) ORDER BY f.id)
        FROM flag_eval.flags f
        WHERE f.team_id = t.id AND NOT f.deleted), '[]'::jsonb),
    'group_type_mapping', coalesce((
        SELECT pg_catalog.jsonb_object_agg(m.group_type_index::text, m.group_type)
        FROM flag_eval.group_type_mappings m
        WHERE m.team_id = t.id), '{}'::jsonb),
    'cohorts', coalesce((
        SELECT pg_catalog.jsonb_object_agg(c.id::text, c.filters)
        FROM flag_eval.cohorts c
        WHERE c.team_id = t.id AND NOT c.is_static), '{}'::jsonb),
    'static_cohort_ids', coalesce((
        SELECT pg_catalog.jsonb_agg(c.id ORDER BY c.id)
        FROM flag_eval.cohorts c
        WHERE c.team_id = t.id AND c.is_static), '[]'::jsonb),
    'property_matching_version', t.property_matching_version)
FROM flag_eval.teams t
WHERE t.id = _team_document.team_id
$function$;

COMMENT ON FUNCTION flag_eval._team_document(bigint) IS
'internal: {flags, group_type_mapping, cohorts, static_cohort_ids, property_matching_version} of a team, what decide() compiles and caches';

-- ---- decide() ----

-- In C (src/pg/decide_functions.cpp): the team by token, the person by distinct id (and by
-- anon_distinct_id), the request's groups, the person's static cohorts and the experience-
-- continuity hash keys (these two only for a team whose flags can use them), each read by an
-- index lookup with no query plan and with the caller's SELECT privileges checked; then the
-- team's cached flags are evaluated and the answer is written as JSON text, the text jsonb would
-- print (decide(...)::jsonb is the document as jsonb). The regression test decide_plan checks
-- that it reads every table through an index.
-- device_id buckets the flags with bucketing_identifier "device_id" (else the person property
-- $device_id does).
CREATE FUNCTION flag_eval.decide(token text, distinct_id text,
                                 person_properties jsonb DEFAULT '{}',
                                 groups jsonb DEFAULT '{}',
                                 group_properties jsonb DEFAULT '{}',
                                 anon_distinct_id text DEFAULT NULL,
                                 flag_keys text[] DEFAULT NULL,
                                 device_id text DEFAULT NULL,
                                 evaluation_runtime text DEFAULT NULL,
                                 evaluation_contexts text[] DEFAULT NULL)
RETURNS json
AS 'MODULE_PATHNAME', 'flag_eval_decide'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]) IS
'the /flags?v=2 body {flags: {key: {key, enabled, variant, reason, metadata{id, version, description, payload, has_experiment}, failed}}, errorsWhileComputingFlags} (json) of the token''s team''s active flags for one subject; stored person and group properties merged under the request''s; device_id buckets device-bucketed flags; evaluation_runtime (all, client, server, unknown; NULL: all) and evaluation_contexts narrow the flags answered as PostHog''s /flags does; unknown token: SQLSTATE 28000';

-- decide()'s evaluation for the decide service (src/pg/decide_functions.cpp): the same
-- arguments, the same stored rows and flags, but only what each flag's evaluation decided, one
-- line per flag (key, version, state, reason code, condition index, variant, description; the
-- format of src/core/outcome_lines.hpp), about a tenth of decide()'s JSON. The service holds the
-- rest of each answer (ids, payloads, descriptions) in its own definitions.
CREATE FUNCTION flag_eval.decide_outcomes(token text, distinct_id text,
                                          person_properties jsonb DEFAULT '{}',
                                          groups jsonb DEFAULT '{}',
                                          group_properties jsonb DEFAULT '{}',
                                          anon_distinct_id text DEFAULT NULL,
                                          flag_keys text[] DEFAULT NULL,
                                          device_id text DEFAULT NULL,
                                          evaluation_runtime text DEFAULT NULL,
                                          evaluation_contexts text[] DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'flag_eval_decide_outcomes'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION flag_eval.decide_outcomes(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]) IS
'decide()''s flags for the decide service as compact text: one line per flag, key TAB version TAB state (t enabled, f disabled, e failed) TAB reason code TAB condition index TAB variant (\N: none) TAB description, backslash escapes; unknown token: SQLSTATE 28000';

-- ---- experience continuity: the write (on the primary) ----

-- For each active continuity flag of the team (not a group flag) that neither the person of
-- distinct_id nor the person of anon_distinct_id has an override for, records
-- hash_key = anon_distinct_id for each of those persons that exists, as PostHog does. The first
-- write wins (concurrent writers included). Returns the number of rows written.
-- SECURITY DEFINER, and EXECUTE only where granted: the decide service's role can then add
-- continuity keys this way alone, with no INSERT on the table (deploy/service_role.sql).
CREATE FUNCTION flag_eval.record_hash_key_overrides(token text, distinct_id text, anon_distinct_id text)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    found_team bigint;
    written integer;
BEGIN
    SELECT t.id INTO found_team FROM flag_eval.teams t WHERE t.api_token = record_hash_key_overrides.token;
    IF found_team IS NULL THEN
        RAISE EXCEPTION 'invalid API token'
            USING ERRCODE = 'invalid_authorization_specification',
                  DETAIL = 'No team has this api_token.',
                  HINT = 'Pass the project''s public token (teams.api_token, phc_...).';
    END IF;
    IF record_hash_key_overrides.anon_distinct_id IS NULL THEN
        RETURN 0;
    END IF;

    WITH target AS (
        SELECT DISTINCT d.person_id
        FROM flag_eval.person_distinct_ids d
        WHERE d.team_id = found_team
          AND d.distinct_id IN (record_hash_key_overrides.distinct_id, record_hash_key_overrides.anon_distinct_id)
    ), to_override AS (
        SELECT f.key
        FROM flag_eval.flags f
        WHERE f.team_id = found_team AND NOT f.deleted AND f.active
          AND (f.definition -> 'ensure_experience_continuity') = 'true'::jsonb
          AND (f.definition -> 'filters' ->> 'aggregation_group_type_index') IS NULL
          AND NOT EXISTS (SELECT FROM flag_eval.hash_key_overrides h
                          WHERE h.team_id = found_team AND h.feature_flag_key = f.key
                            AND h.person_id IN (SELECT target.person_id FROM target))
    )
    INSERT INTO flag_eval.hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
    SELECT found_team, target.person_id, to_override.key, record_hash_key_overrides.anon_distinct_id
    FROM target, to_override
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$function$;

REVOKE EXECUTE ON FUNCTION flag_eval.record_hash_key_overrides(text, text, text) FROM PUBLIC;

COMMENT ON FUNCTION flag_eval.record_hash_key_overrides(text, text, text) IS
'experience continuity: records anon_distinct_id as the hash key of each continuity flag the person has none for (first write wins); returns the rows written; for the primary';

-- ---- the local-evaluation feed ----

CREATE FUNCTION flag_eval.definitions(token text)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $function$
DECLARE
    document jsonb;
BEGIN
    SELECT flag_eval._team_document(t.id) INTO document
    FROM flag_eval.teams t WHERE t.api_token = definitions.token;
    IF document IS NULL THEN
        RAISE EXCEPTION 'invalid API token'
            USING ERRCODE = 'invalid_authorization_specification',
                  DETAIL = 'No team has this api_token.',
                  HINT = 'Pass the project''s public token (teams.api_token, phc_...).';
    END IF;
    RETURN document - 'static_cohort_ids';
END
$function$;

COMMENT ON FUNCTION flag_eval.definitions(text) IS
'the local-evaluation feed {flags, group_type_mapping, cohorts} of the token''s team: live flags (inactive ones as active: false, each with its bucketing), dynamic cohorts';

-- ---- preview(): the blast radius of a flag before it is saved ----

-- The outcome of the previewed flag for one subject (src/pg/preview_functions.cpp): its variant,
-- 'true' or 'false', or NULL when it cannot be computed. definitions is _team_document()'s
-- shape with the previewed flag first; subject_key the distinct id that buckets a person or a group
-- flag's group key; properties the subject's stored properties; member_of the person's static
-- cohorts; hash_keys its recorded continuity keys as {flag key: hash key}.
CREATE FUNCTION flag_eval._preview_value(definitions jsonb, subject_key text, properties jsonb,
                                         member_of bigint[], hash_keys jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'flag_eval_preview_value'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Why the previewed flag cannot be computed for that subject; NULL when it can.
CREATE FUNCTION flag_eval._preview_failure(definitions jsonb, subject_key text, properties jsonb,
                                           member_of bigint[], hash_keys jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'flag_eval_preview_failure'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Which stored rows can change the answers of the previewed flag (the first of definitions):
-- 'static_cohorts' when it or a flag it depends on names a static cohort, directly or through
-- dynamic cohorts; 'continuity_keys' when one of them asks for experience continuity.
CREATE FUNCTION flag_eval._preview_stored_reads(definitions jsonb)
RETURNS text[]
AS 'MODULE_PATHNAME', 'flag_eval_preview_stored_reads'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- preview(token, flag): one row per outcome the flag can give (its variants in declared order,
-- any other variant seen, such as a holdout's, then 'true' for a flag without variants, then
-- 'false'), with how many subjects get it (count), out of how many (total), and the share
-- (percent, 2 decimals; NULL when total is 0). Every subject is evaluated; nothing is sampled or
-- estimated. Subjects: the team's persons that have a distinct id, each bucketed with the least of
-- its distinct ids in byte order (COLLATE "C"), or with its recorded experience-continuity key for
-- a continuity flag; for a group flag, the team's groups of its type. The flag is evaluated as
-- active, with the team's bucketing unless it names one, by the engine that evaluates decide():
-- with the team's cohorts, each person's static cohort memberships and continuity keys, and the
-- team's live flags in place for the flags it depends on (one stored with its key is replaced).
-- A definition the flags table would refuse, or one that cannot be computed (a cohort that is
-- not the team's), raises 22023.
CREATE FUNCTION flag_eval.preview(token text, flag jsonb)
RETURNS TABLE (value text, count bigint, total bigint, percent numeric)
LANGUAGE plpgsql STABLE
AS $function$
#variable_conflict use_column
DECLARE
    team flag_eval.teams;
    problems jsonb;
    flag_key text;
    candidate jsonb;
    document jsonb;
    group_index integer;
    stored_reads text[];
    has_static_cohorts boolean;
    has_continuity_flags boolean;
    counts jsonb;
    population bigint;
    failures bigint;
    first_failure text;
BEGIN
    SELECT * INTO team FROM flag_eval.teams t WHERE t.api_token = preview.token;
    IF team.id IS NULL THEN
        RAISE EXCEPTION 'invalid API token'
            USING ERRCODE = 'invalid_authorization_specification',
                  DETAIL = 'No team has this api_token.',
                  HINT = 'Pass the project''s public token (teams.api_token, phc_...).';
    END IF;
    IF preview.flag IS NULL THEN
        RAISE EXCEPTION 'flag must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The flag as it would be stored and then evaluated: active, with the team's bucketing when it
    -- names none. A definition the flags table would refuse is refused here, for the same reason.
    candidate := preview.flag || pg_catalog.jsonb_build_object(
        'active', true, 'deleted', false, 'bucketing', coalesce(preview.flag ->> 'bucketing', team.bucketing));
    problems := flag_eval.flag_validate(candidate);
    IF problems <> '[]'::jsonb THEN
        RAISE EXCEPTION 'invalid flag definition at %: %', problems -> 0 ->> 'path', problems -> 0 ->> 'message'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s (%s)', p ->> 'path', p ->> 'message',
                                                                           p ->> 'severity'), E'\n' ORDER BY n)
                            FROM pg_catalog.jsonb_array_elements(problems) WITH ORDINALITY AS e(p, n)),
                  HINT = 'The flags table refuses a definition with any problem, warnings included.';
    END IF;
    flag_key := candidate ->> 'key';

    -- The team's definitions with this flag first, in place of a stored flag with its key.
    document := flag_eval._team_document(team.id);
    document := document || pg_catalog.jsonb_build_object(
        'flags', pg_catalog.jsonb_build_array(candidate) || coalesce((
            SELECT pg_catalog.jsonb_agg(f.def ORDER BY f.n)
            FROM pg_catalog.jsonb_array_elements(document -> 'flags') WITH ORDINALITY AS f(def, n)
            WHERE f.def ->> 'key' IS DISTINCT FROM flag_key), '[]'::jsonb));
    -- Stored rows are read only when they can change an answer.
    stored_reads := flag_eval._preview_stored_reads(document);
    has_static_cohorts := 'static_cohorts' = ANY (stored_reads);
    has_continuity_flags := 'continuity_keys' = ANY (stored_reads);

    group_index := (candidate -> 'filters' ->> 'aggregation_group_type_index')::integer;
    IF group_index IS NOT NULL AND document -> 'group_type_mapping' ->> group_index::text IS NULL THEN
        RAISE EXCEPTION 'flag "%" aggregates by group type %, which the team has not mapped', flag_key, group_index
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Add the group type to flag_eval.group_type_mappings.';
    END IF;

    SELECT pg_catalog.jsonb_object_agg(o.value, o.n) FILTER (WHERE o.value IS NOT NULL), sum(o.n),
           sum(o.n) FILTER (WHERE o.value IS NULL), min(o.failure)
      INTO counts, population, failures, first_failure
    FROM (
        SELECT e.value, count(*) AS n,
               min(flag_eval._preview_failure(document, e.subject_key, e.properties, e.member_of, e.hash_keys))
                   FILTER (WHERE e.value IS NULL) AS failure
        FROM (
            SELECT s.*, flag_eval._preview_value(document, s.subject_key, s.properties, s.member_of, s.hash_keys) AS value
            FROM (
                -- Each person of the team that has a distinct id, bucketed with its first distinct
                -- id (the least in byte order) unless a continuity key says otherwise.
                SELECT ids.distinct_id AS subject_key, pe.properties,
                       CASE WHEN has_static_cohorts THEN
                           (SELECT pg_catalog.array_agg(cm.cohort_id) FROM flag_eval.cohort_members cm
                            WHERE cm.person_id = pe.id) END AS member_of,
                       CASE WHEN has_continuity_flags THEN
                           (SELECT pg_catalog.jsonb_object_agg(h.feature_flag_key, h.hash_key)
                            FROM flag_eval.hash_key_overrides h
                            WHERE h.team_id = team.id AND h.person_id = pe.id) END AS hash_keys
                FROM flag_eval.persons pe
                JOIN (SELECT di.person_id, min(di.distinct_id COLLATE "C") AS distinct_id
                      FROM flag_eval.person_distinct_ids di
                      WHERE di.team_id = team.id
                      GROUP BY di.person_id) ids ON ids.person_id = pe.id
                WHERE group_index IS NULL AND pe.team_id = team.id
                UNION ALL
                -- A group flag: each group of its type, bucketed with its key.
                SELECT gr.group_key, gr.properties, NULL, NULL
                FROM flag_eval.groups gr
                WHERE group_index IS NOT NULL AND gr.team_id = team.id AND gr.group_type_index = group_index
            ) s
            OFFSET 0  -- evaluate each subject once, not once per use of the result
        ) e
        GROUP BY e.value
    ) o;

    IF failures > 0 THEN
        RAISE EXCEPTION 'flag "%" cannot be computed for % of % %: %', flag_key, failures, population,
                        CASE WHEN group_index IS NULL THEN 'persons' ELSE 'groups' END, first_failure
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Every outcome the flag can give, also those no one gets: its variants in declared order,
    -- other variants seen (a holdout), then true (a flag without variants) and false.
    RETURN QUERY
    WITH outcomes(value, rank) AS (
        SELECT v.v ->> 'key', v.n
        FROM pg_catalog.jsonb_array_elements(coalesce(candidate -> 'filters' -> 'multivariate' -> 'variants', '[]'::jsonb))
             WITH ORDINALITY AS v(v, n)
        UNION ALL
        SELECT c.key, 1000000 FROM pg_catalog.jsonb_object_keys(coalesce(counts, '{}'::jsonb)) AS c(key)
        WHERE c.key NOT IN ('true', 'false')
        UNION ALL
        SELECT 'true', 2000000
        WHERE pg_catalog.jsonb_array_length(coalesce(candidate -> 'filters' -> 'multivariate' -> 'variants', '[]'::jsonb)) = 0
           OR counts ? 'true'
        UNION ALL
        SELECT 'false', 3000000
    )
    SELECT o.value,
           coalesce((counts ->> o.value)::bigint, 0),
           coalesce(population, 0),
           CASE WHEN population > 0 THEN round(100.0 * coalesce((counts ->> o.value)::bigint, 0) / population, 2) END
    FROM (SELECT DISTINCT ON (o.value) o.value, o.rank FROM outcomes o ORDER BY o.value, o.rank) o
    ORDER BY o.rank, o.value;
END
$function$;

COMMENT ON FUNCTION flag_eval.preview(text, jsonb) IS
'how many of the team''s persons (groups, for a group flag) the flag would enable, each evaluated: a row per outcome (each variant, true, false) with count, total and percent; a person is bucketed with its least distinct id (byte order); the flag is evaluated as active';

-- ==============================================================================================
-- The decide service's definitions cache (docs/reference.md, Resilience contract): a version the
-- service polls cheaply, and every team's tokens and definitions in one consistent read. Both are
-- plain queries on tables, so they work on hot standbys and through PgBouncer in transaction
-- pooling (no LISTEN, no session state, no named prepared statements).
-- ==============================================================================================

-- One row, bumped in the same transaction as each change of flags, cohorts, teams or group type
-- mappings, so that a reader never sees a new version without the data it stands for. A table
-- (not a sequence, which is not transactional) so that it replicates with the data.
--
-- The version is also at least the commit's clock in microseconds since 1970: a database that
-- was restored or recreated does not start again below the version a running service (or its
-- snapshot file) holds, which would otherwise ignore it as a lagging replica. For the same reason
-- pg_dump does not keep the row: CREATE EXTENSION writes a fresh one.
CREATE TABLE flag_eval.definitions_version_counter (
    only_row  boolean PRIMARY KEY DEFAULT true CONSTRAINT definitions_version_counter_one_row CHECK (only_row),
    version   bigint NOT NULL
);

INSERT INTO flag_eval.definitions_version_counter (only_row, version)
VALUES (true, (extract(epoch FROM pg_catalog.clock_timestamp()) * 1000000)::bigint);

COMMENT ON TABLE flag_eval.definitions_version_counter IS
'one row: the version of every team''s definitions, bumped by each statement that changes flags, cohorts, teams or group_type_mappings; read with definitions_version()';

-- SECURITY DEFINER: a role allowed to write flags need not be granted the counter too. It runs
-- one fixed statement with a fixed search_path.
CREATE FUNCTION flag_eval._bump_definitions_version()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    UPDATE flag_eval.definitions_version_counter
       SET version = greatest(version + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
    RETURN NULL;
END
$function$;

CREATE TRIGGER flags_definitions_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flag_eval.flags
    FOR EACH STATEMENT EXECUTE FUNCTION flag_eval._bump_definitions_version();
CREATE TRIGGER cohorts_definitions_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flag_eval.cohorts
    FOR EACH STATEMENT EXECUTE FUNCTION flag_eval._bump_definitions_version();
CREATE TRIGGER teams_definitions_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flag_eval.teams
    FOR EACH STATEMENT EXECUTE FUNCTION flag_eval._bump_definitions_version();
CREATE TRIGGER group_type_mappings_definitions_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flag_eval.group_type_mappings
    FOR EACH STATEMENT EXECUTE FUNCTION flag_eval._bump_definitions_version();

CREATE FUNCTION flag_eval.definitions_version()
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT c.version FROM flag_eval.definitions_version_counter c
$function$;

COMMENT ON FUNCTION flag_eval.definitions_version() IS
'the version of every team''s definitions: greater after each change of flags, cohorts, teams or group type mappings; what the decide service polls';

-- One statement, hence one snapshot (the functions it calls are STABLE): the version and the
-- teams always belong together. Carries the secret tokens: the caller needs SELECT on teams.
CREATE FUNCTION flag_eval.service_definitions()
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT pg_catalog.jsonb_build_object(
    'version', (SELECT c.version FROM flag_eval.definitions_version_counter c),
    'teams', coalesce((
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'id', t.id, 'api_token', t.api_token, 'secret_token', t.secret_token, 'bucketing', t.bucketing,
                   'definitions', flag_eval._team_document(t.id)) ORDER BY t.id)
        FROM flag_eval.teams t), '[]'::jsonb))
$function$;

COMMENT ON FUNCTION flag_eval.service_definitions() IS
'what the decide service caches: {version, teams: [{id, api_token, secret_token, bucketing, definitions}]}, definitions as _team_document() builds them, read in one snapshot';
