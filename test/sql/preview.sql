-- flag_eval.preview(token, flag): how many of a team's persons a flag would enable, per outcome,
-- evaluated person by person. Each count is checked against a direct count over the same persons
-- with flag_eval() / flag_variant() / flag_bucket(). Ids are explicit (3000s) where they are shown.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

-- The team buckets with sha1 by default.
INSERT INTO teams (id, name, api_token, secret_token, bucketing) VALUES
  (3001, 'preview', 'phc_preview', 'phs_preview', 'sha1'),
  (3002, 'another team', 'phc_preview_other', 'phs_preview_other', 'sha1'),
  (3003, 'no persons', 'phc_preview_empty', 'phs_preview_empty', 'xxh3');

-- 1,000 persons: plan and country vary; every third person also has an anonymous distinct id
-- ('anon-…', which sorts before 'person-…' and so is the one preview buckets with). 20 more
-- persons have no distinct id at all: no request can reach them, and preview leaves them out.
CREATE TEMP TABLE numbered (n int PRIMARY KEY, person_id bigint);
WITH p AS (
  INSERT INTO persons (team_id, properties)
  SELECT 3001, jsonb_build_object('plan', (ARRAY['free', 'pro', 'enterprise'])[1 + i % 3],
                                  'country', (ARRAY['FR', 'DE', 'US', 'JP', 'BR'])[1 + i % 5],
                                  'n', i)
  FROM generate_series(1, 1000) i
  RETURNING id, (properties ->> 'n')::int AS n)
INSERT INTO numbered SELECT n, id FROM p;
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id)
SELECT 3001, 'person-' || n, person_id FROM numbered
UNION ALL
SELECT 3001, 'anon-' || md5(n::text), person_id FROM numbered WHERE n % 3 = 0;
INSERT INTO persons (team_id, properties) SELECT 3001, '{"plan": "pro"}' FROM generate_series(1, 20);
-- another team's persons do not count
WITH p AS (INSERT INTO persons (team_id, properties) VALUES (3002, '{"plan": "pro"}') RETURNING id)
INSERT INTO person_distinct_ids SELECT 3002, 'person-1', id FROM p;
ANALYZE persons, person_distinct_ids;

-- The population, as preview defines it: each person of the team with a distinct id, bucketed
-- with the least of its distinct ids (byte order).
CREATE TEMP VIEW population AS
SELECT p.id, p.properties, min(d.distinct_id COLLATE "C") AS distinct_id
FROM persons p JOIN person_distinct_ids d ON d.team_id = p.team_id AND d.person_id = p.id
WHERE p.team_id = 3001
GROUP BY p.id, p.properties;
SELECT count(*) AS persons, count(*) FILTER (WHERE distinct_id LIKE 'anon-%') AS bucketed_by_anonymous_id
FROM population;

-- preview's rows as {outcome: count}, without the outcomes no one gets.
CREATE FUNCTION pg_temp.preview_counts(token text, flag jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(jsonb_object_agg(value, count) FILTER (WHERE count > 0), '{}') FROM flag_eval.preview(token, flag)
$$;
-- the direct count: {outcome: count} of flag_variant(), else flag_eval() (true / false)
CREATE FUNCTION pg_temp.direct_counts(flag jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_object_agg(outcome, n)
  FROM (SELECT coalesce(flag_eval.flag_variant(flag, distinct_id, properties),
                        flag_eval.flag_eval(flag, distinct_id, properties)::text) AS outcome, count(*) AS n
        FROM population GROUP BY 1) s
$$;

-- ---- a rollout: 30 % of pro and enterprise persons ----
SELECT * FROM preview('phc_preview', '{"key": "new-checkout", "filters": {"groups": [
  {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]}],
   "rollout_percentage": 30}]}}');
-- The flag has no bucketing field: the team's (sha1) applies. The direct count says the same, and
-- differs from an xxh3 count.
SELECT pg_temp.preview_counts('phc_preview', f) = pg_temp.direct_counts(f || '{"bucketing": "sha1"}') AS same_as_direct,
       pg_temp.preview_counts('phc_preview', f) = pg_temp.direct_counts(f || '{"bucketing": "xxh3"}') AS same_as_xxh3
FROM (SELECT '{"key": "new-checkout", "filters": {"groups": [
  {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]}],
   "rollout_percentage": 30}]}}'::jsonb AS f) x;
-- A flag that names its bucketing keeps it.
SELECT pg_temp.preview_counts('phc_preview', f) = pg_temp.direct_counts(f) AS same_as_direct
FROM (SELECT '{"key": "half", "bucketing": "xxh3", "filters": {"groups": [{"rollout_percentage": 50}]}}'::jsonb AS f) x;

-- ---- variants: 80 % of everyone, split 50 / 30 / 20; every outcome is listed ----
SELECT * FROM preview('phc_preview', '{"key": "pricing", "filters": {"groups": [{"rollout_percentage": 80}],
  "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50},
                                {"key": "cheaper", "rollout_percentage": 30},
                                {"key": "bundle", "rollout_percentage": 20}]}}}');
SELECT pg_temp.preview_counts('phc_preview', f) = pg_temp.direct_counts(f || '{"bucketing": "sha1"}') AS same_as_direct
FROM (SELECT '{"key": "pricing", "filters": {"groups": [{"rollout_percentage": 80}],
  "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50},
                                {"key": "cheaper", "rollout_percentage": 30},
                                {"key": "bundle", "rollout_percentage": 20}]}}}'::jsonb AS f) x;
-- a variant no one gets, a flag no one gets, and everyone
SELECT * FROM preview('phc_preview', '{"key": "v", "filters": {"groups": [{"rollout_percentage": 100}],
  "multivariate": {"variants": [{"key": "all", "rollout_percentage": 100}, {"key": "none", "rollout_percentage": 0}]}}}');
SELECT * FROM preview('phc_preview', '{"key": "off", "filters": {"groups": [{"rollout_percentage": 0}]}}');
SELECT * FROM preview('phc_preview', '{"key": "on", "filters": {"groups": [{"rollout_percentage": 100}]}}');
-- a team without persons
SELECT * FROM preview('phc_preview_empty', '{"key": "on", "filters": {"groups": [{"rollout_percentage": 100}]}}');

-- ---- cohorts ----
-- 3101: dynamic, the French (n % 5 = 0); 3102: static, every tenth person from n = 1 (all German).
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (3101, 3001, 'French', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "country", "type": "person", "operator": "exact", "value": "FR"}]}]}');
INSERT INTO cohorts (id, team_id, name, is_static) VALUES (3102, 3001, 'every tenth', true);
INSERT INTO cohort_members (cohort_id, person_id) SELECT 3102, person_id FROM numbered WHERE n % 10 = 1;
-- In the French cohort, 40 %: the same as the cohort's filter written into the flag.
SELECT * FROM preview('phc_preview', '{"key": "french-beta", "filters": {"groups": [
  {"properties": [{"key": "id", "type": "cohort", "value": 3101}], "rollout_percentage": 40}]}}');
SELECT pg_temp.preview_counts('phc_preview', '{"key": "french-beta", "filters": {"groups": [
         {"properties": [{"key": "id", "type": "cohort", "value": 3101}], "rollout_percentage": 40}]}}')
     = pg_temp.direct_counts('{"key": "french-beta", "bucketing": "sha1", "filters": {"groups": [
         {"properties": [{"key": "country", "type": "person", "operator": "exact", "value": "FR"}], "rollout_percentage": 40}]}}')
       AS same_as_direct;
-- In the static cohort (50 %), and not in it (100 %), counted from the membership rows (the
-- cohort id written as a string, as PostHog also does).
SELECT * FROM preview('phc_preview', '{"key": "tenth", "filters": {"groups": [
  {"properties": [{"key": "id", "type": "cohort", "value": "3102"}], "rollout_percentage": 50}]}}');
SELECT count(*) FILTER (WHERE m.person_id IS NOT NULL AND flag_bucket('tenth', p.distinct_id, '', 'sha1') <= 0.5) AS direct_true,
       count(*) AS direct_total
FROM population p LEFT JOIN cohort_members m ON m.cohort_id = 3102 AND m.person_id = p.id;
SELECT * FROM preview('phc_preview', '{"key": "not-tenth", "filters": {"groups": [
  {"properties": [{"key": "id", "type": "cohort", "value": 3102, "operator": "not_in"}], "rollout_percentage": 100}]}}');
SELECT count(*) FILTER (WHERE m.person_id IS NULL) AS direct_true
FROM population p LEFT JOIN cohort_members m ON m.cohort_id = 3102 AND m.person_id = p.id;
-- A static cohort inside a dynamic one: French or every tenth.
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (3103, 3001, 'French or every tenth', '{"type": "OR", "values": [
      {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 3101}]},
      {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 3102}]}]}');
SELECT * FROM preview('phc_preview', '{"key": "either", "filters": {"groups": [
  {"properties": [{"key": "id", "type": "cohort", "value": 3103}], "rollout_percentage": 100}]}}');
SELECT count(*) FILTER (WHERE p.properties ->> 'country' = 'FR' OR m.person_id IS NOT NULL) AS direct_true
FROM population p LEFT JOIN cohort_members m ON m.cohort_id = 3102 AND m.person_id = p.id;

-- ---- a flag that depends on a stored flag ----
INSERT INTO flags (id, team_id, key, definition) VALUES
  (3201, 3001, 'pro-rollout', '{"filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 50}]}}');
SELECT * FROM preview('phc_preview', '{"key": "follows-pro-rollout", "filters": {"groups": [
  {"properties": [{"key": "pro-rollout", "type": "flag", "operator": "flag_evaluates_to", "value": true}], "rollout_percentage": 100}]}}');
SELECT count(*) FILTER (WHERE flag_eval(f.definition || '{"key": "pro-rollout", "bucketing": "sha1"}', p.distinct_id, p.properties))
       AS direct_true
FROM population p, flags f WHERE f.id = 3201;
-- Previewing a stored flag's key previews the new definition, not the stored one.
SELECT * FROM preview('phc_preview', '{"key": "pro-rollout", "filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 100}]}}');

-- ---- experience continuity: a person with a recorded hash key is bucketed with it ----
INSERT INTO hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
SELECT 3001, person_id, 'sticky', 'recorded-' || n FROM numbered WHERE n % 4 = 0;
SELECT pg_temp.preview_counts('phc_preview', f) AS preview,
       (SELECT jsonb_object_agg(outcome, n) FROM (
          SELECT flag_eval(f || '{"bucketing": "sha1"}', coalesce(h.hash_key, p.distinct_id), p.properties)::text AS outcome,
                 count(*) AS n
          FROM population p
          LEFT JOIN hash_key_overrides h ON h.team_id = 3001 AND h.person_id = p.id AND h.feature_flag_key = 'sticky'
          GROUP BY 1) s) AS direct,
       pg_temp.preview_counts('phc_preview', f - 'ensure_experience_continuity') AS without_continuity
FROM (SELECT '{"key": "sticky", "ensure_experience_continuity": true,
               "filters": {"groups": [{"rollout_percentage": 50}]}}'::jsonb AS f) x;

-- ---- a group flag counts the groups of its type ----
INSERT INTO group_type_mappings VALUES (3001, 0, 'organization');
INSERT INTO groups (team_id, group_type_index, group_key, properties)
SELECT 3001, 0, 'org-' || i, jsonb_build_object('seats', i) FROM generate_series(1, 200) i;
SELECT * FROM preview('phc_preview', '{"key": "big-orgs", "filters": {"aggregation_group_type_index": 0, "groups": [
  {"properties": [{"key": "seats", "type": "group", "group_type_index": 0, "operator": "gt", "value": 100}],
   "rollout_percentage": 50}]}}');
SELECT count(*) FILTER (WHERE (properties ->> 'seats')::int > 100 AND flag_bucket('big-orgs', group_key, '', 'sha1') <= 0.5)
       AS direct_true, count(*) AS direct_total
FROM groups WHERE team_id = 3001 AND group_type_index = 0;

-- ---- errors ----
CREATE FUNCTION pg_temp.error_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT s AS statement, pg_temp.error_of(s) AS error
FROM unnest(ARRAY[
  $$SELECT * FROM flag_eval.preview('phc_no_such_team', '{"key": "on"}')$$,
  $$SELECT * FROM flag_eval.preview('phc_preview', NULL)$$,
  $$SELECT * FROM flag_eval.preview('phc_preview', '{"filters": {"groups": []}}')$$,
  $$SELECT * FROM flag_eval.preview('phc_preview', '{"key": "x", "filters": {"groups": [{"rollout_percentage": 101}]}}')$$,
  $$SELECT * FROM flag_eval.preview('phc_preview', '{"key": "x", "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 999}]}]}}')$$,
  $$SELECT * FROM flag_eval.preview('phc_preview', '{"key": "x", "filters": {"aggregation_group_type_index": 3, "groups": []}}')$$
]) AS s;
-- The problems of an invalid definition are all listed, as when the flags table refuses it.
\set SHOW_CONTEXT never
SELECT * FROM preview('phc_preview', '{"key": "x", "filters": {"groups": [{"rollout_percentage": "all", "variant": "v"}]}}');
\set SHOW_CONTEXT errors

DELETE FROM teams WHERE id IN (3001, 3002, 3003);
