-- flag_eval 0.1.0 -> 0.2.0: ALTER EXTENSION flag_eval UPDATE.
\echo Use "ALTER EXTENSION flag_eval UPDATE TO '0.2.0'" to load this file. \quit

-- Every change to the SQL interface is made twice, in the new version's install script and in an
-- upgrade script like this one; test/t/040_extension_upgrade.pl checks that an updated database
-- has exactly the objects of a fresh install, every row, and the same answers.

-- 0.2.0 refuses what 0.1.0 let through in a stored flag: PostHog's second flag format
-- (filters.version other than 1), and evaluation_runtime, evaluation_contexts, description or
-- has_experiment of the wrong type. The installed library reads stored flags as 0.2.0 does, so
-- such a flag already fails its team's decide(): the update stops here and names each one.
DO $check_flags$
DECLARE
    refused text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('team %s, flag %s: %s', f.team_id, f.key, f.problems),
                                 E'\n' ORDER BY f.team_id, f.key)
      INTO refused
      FROM (SELECT team_id, key,
                   flag_eval.flag_validate(definition || pg_catalog.jsonb_build_object(
                       'id', id, 'key', key, 'version', version, 'active', active, 'deleted', false)) AS problems
              FROM flag_eval.flags WHERE NOT deleted) f
     WHERE f.problems <> '[]'::jsonb;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION 'flag_eval 0.2.0 refuses some stored flags'
            USING DETAIL = refused,
                  HINT = 'Correct or delete these flags, then update again (docs/deployment.md, Updating the extension).';
    END IF;
END
$check_flags$;

-- preview() evaluates each subject through the engine decide() uses (_preview_value) instead of
-- rewriting static cohort filters into person properties in plpgsql.
DROP FUNCTION flag_eval._inline_static_cohorts(jsonb, bigint[]);

-- Teams carry PostHog's property_matching_version, and their documents (what decide() compiles,
-- the service caches and definitions() sends) say it. Existing teams keep legacy matching (1).
ALTER TABLE flag_eval.teams ADD COLUMN property_matching_version smallint NOT NULL DEFAULT 1
    CONSTRAINT teams_property_matching_version_check CHECK (property_matching_version IN (1, 2));

COMMENT ON TABLE flag_eval.teams IS
'projects: api_token (public, phc_...) authenticates decide(), definitions() and preview(); bucketing is the default of flags that name none; property_matching_version is PostHog''s (1 legacy, 2 explicit exact matching)';

CREATE OR REPLACE FUNCTION flag_eval._team_document(team_id bigint)
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

-- decide() takes the request's device id, runtime and evaluation contexts: a new signature.
-- Whoever could execute the old one (explicit grants, or PUBLIC's default revoked) keeps exactly
-- that on the new one, and on decide_outcomes(), its form for the decide service.
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

DO $carry_privileges$
DECLARE
    old_acl aclitem[];
    grantee_name text;
BEGIN
    SELECT p.proacl INTO old_acl FROM pg_catalog.pg_proc p
     WHERE p.oid = 'flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[])'::pg_catalog.regprocedure;
    IF old_acl IS NULL THEN
        RETURN;  -- the default privileges, which the new function has too
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.aclexplode(old_acl) a WHERE a.grantee = 0) THEN
        REVOKE EXECUTE ON FUNCTION flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]) FROM PUBLIC;
        REVOKE EXECUTE ON FUNCTION flag_eval.decide_outcomes(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]) FROM PUBLIC;
    END IF;
    FOR grantee_name IN
        SELECT r.rolname FROM pg_catalog.aclexplode(old_acl) a JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
        WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> a.grantor
    LOOP
        EXECUTE pg_catalog.format(
            'GRANT EXECUTE ON FUNCTION flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]) TO %I',
            grantee_name);
        EXECUTE pg_catalog.format(
            'GRANT EXECUTE ON FUNCTION flag_eval.decide_outcomes(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]) TO %I',
            grantee_name);
    END LOOP;
END
$carry_privileges$;

DROP FUNCTION flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[]);

COMMENT ON FUNCTION flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]) IS
'the /flags?v=2 body {flags: {key: {key, enabled, variant, reason, metadata{id, version, description, payload, has_experiment}, failed}}, errorsWhileComputingFlags} (json) of the token''s team''s active flags for one subject; stored person and group properties merged under the request''s; device_id buckets device-bucketed flags; evaluation_runtime (all, client, server, unknown; NULL: all) and evaluation_contexts narrow the flags answered as PostHog''s /flags does; unknown token: SQLSTATE 28000';

COMMENT ON FUNCTION flag_eval.decide_outcomes(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]) IS
'decide()''s flags for the decide service as compact text: one line per flag, key TAB version TAB state (t enabled, f disabled, e failed) TAB reason code TAB condition index TAB variant (\N: none) TAB description, backslash escapes; unknown token: SQLSTATE 28000';

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
CREATE OR REPLACE FUNCTION flag_eval.preview(token text, flag jsonb)
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
