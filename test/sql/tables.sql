-- The tables of the decide path (docs/reference.md, SQL interface): their constraints, what
-- their triggers maintain, and that pg_dump keeps their rows. Ids are explicit (4000s) so that no
-- output depends on what other tests inserted.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;
\set SHOW_CONTEXT never

-- Every table, and every identity sequence, is dumped with its rows by pg_dump.
SELECT c::regclass AS dumped_with_rows
FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS x(c, n)
WHERE e.extname = 'flag_eval'
ORDER BY n;

-- ---- teams ----
INSERT INTO teams (id, name, api_token, secret_token) VALUES (4001, 'tables', 'phc_tables', 'phs_tables');
-- Tokens and bucketing have defaults: a public phc_ token, a longer secret phs_ token, xxh3.
INSERT INTO teams (id, name) VALUES (4002, 'defaults');
SELECT api_token ~ '^phc_[0-9a-f]{32}$' AS public_token, secret_token ~ '^phs_[0-9a-f]{64}$' AS secret_token, bucketing
FROM teams WHERE id = 4002;
-- Tokens are unique; bucketing is xxh3 or sha1. (Terse errors where the detail would show
-- generated ids or timestamps.)
INSERT INTO teams (id, name, api_token, secret_token) VALUES (4003, 'same token', 'phc_tables', 'phs_other');
\set VERBOSITY terse
INSERT INTO teams (id, name, api_token, secret_token, bucketing) VALUES (4003, 'md5', 'phc_md5', 'phs_md5', 'md5');
\set VERBOSITY default

-- ---- flags ----
-- A definition the engine cannot read is refused, with the JSON path of the problem.
INSERT INTO flags (id, team_id, key, definition)
VALUES (4101, 4001, 'beta', '{"filters": {"groups": [{"rollout_percentage": "half"}]}}');
-- So is one with warnings only (flag_validate must find nothing): variants summing to 90.
INSERT INTO flags (id, team_id, key, definition)
VALUES (4101, 4001, 'beta', '{"filters": {"groups": [{"rollout_percentage": 100}],
  "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 40}]}}}');
-- Every problem is listed in the detail; a definition that is not an object is refused too.
INSERT INTO flags (id, team_id, key, definition)
VALUES (4101, 4001, 'beta', '{"bucketing": "md5", "filters": {"groups": [{"rollout_percentage": 100, "variant": "x"}]}}');
-- The error is a check violation (23514) of the constraint flags_definition_valid.
DO $$
DECLARE
  state text; constraint_name text; table_name text;
BEGIN
  INSERT INTO flag_eval.flags (id, team_id, key, definition) VALUES (4101, 4001, 'beta', '{"filters": {"groups": [{"rollout_percentage": -1}]}}');
EXCEPTION WHEN check_violation THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, constraint_name = CONSTRAINT_NAME, table_name = TABLE_NAME;
  RAISE NOTICE 'SQLSTATE %, constraint %, table %', state, constraint_name, table_name;
END
$$;
INSERT INTO flags (id, team_id, key, definition) VALUES (4101, 4001, 'beta', '[1, 2]');
-- The CHECK constraint is the guarantee: it refuses the row even with the trigger disabled
-- (as when a replication apply worker writes the row).
ALTER TABLE flags DISABLE TRIGGER flags_before_write;
\set VERBOSITY terse
INSERT INTO flags (id, team_id, key, definition)
VALUES (4101, 4001, 'beta', '{"filters": {"groups": [{"rollout_percentage": "half"}]}}');
\set VERBOSITY default
ALTER TABLE flags ENABLE TRIGGER flags_before_write;
-- An update is checked as well.
INSERT INTO flags (id, team_id, key, definition)
VALUES (4101, 4001, 'beta', '{"filters": {"groups": [{"rollout_percentage": 20}]}}');
UPDATE flags SET definition = '{"filters": {"groups": [{"rollout_percentage": 120}]}}' WHERE id = 4101;

-- One live flag per key and team ...
INSERT INTO flags (id, team_id, key, definition)
VALUES (4102, 4001, 'beta', '{"filters": {"groups": [{"rollout_percentage": 30}]}}');
-- ... in another team the key is free ...
INSERT INTO flags (id, team_id, key, definition)
VALUES (4103, 4002, 'beta', '{"filters": {"groups": [{"rollout_percentage": 30}]}}');
-- ... and so is a deleted flag's key.
UPDATE flags SET deleted = true WHERE id = 4101;
INSERT INTO flags (id, team_id, key, definition)
VALUES (4102, 4001, 'beta', '{"filters": {"groups": [{"rollout_percentage": 30}]}}');
-- but not twice
INSERT INTO flags (id, team_id, key, definition)
VALUES (4104, 4001, 'beta', '{"filters": {"groups": [{"rollout_percentage": 40}]}}');
SELECT id, key, deleted FROM flags WHERE team_id = 4001 ORDER BY id;

-- version goes up by one when the key, definition or active changes, unless the update sets it;
-- updated_at follows every update.
INSERT INTO flags (id, team_id, key, definition, created_at, updated_at)
VALUES (4105, 4001, 'versioned', '{"filters": {"groups": [{"rollout_percentage": 10}]}}',
        '2020-01-01', '2020-01-01');
UPDATE flags SET definition = '{"filters": {"groups": [{"rollout_percentage": 20}]}}' WHERE id = 4105;
SELECT version, updated_at > '2020-01-01' AS updated FROM flags WHERE id = 4105;
UPDATE flags SET active = false WHERE id = 4105;
UPDATE flags SET definition = definition WHERE id = 4105;  -- no change
SELECT version FROM flags WHERE id = 4105;
UPDATE flags SET definition = '{"filters": {"groups": [{"rollout_percentage": 30}]}}', version = 10 WHERE id = 4105;
SELECT version, active FROM flags WHERE id = 4105;

-- A team's default bucketing applies to its flags that name none; when the default changes,
-- those flags keep the bucketing they had (docs/reference.md, Flag format), written into their
-- definition.
INSERT INTO flags (id, team_id, key, definition)
VALUES (4106, 4001, 'pinned-sha1', '{"bucketing": "sha1", "filters": {"groups": [{"rollout_percentage": 50}]}}');
UPDATE teams SET bucketing = 'sha1' WHERE id = 4001;
SELECT key, definition ->> 'bucketing' AS bucketing, deleted FROM flags WHERE team_id = 4001 ORDER BY id;
-- Flags created afterwards inherit the new default.
INSERT INTO flags (id, team_id, key, definition)
VALUES (4107, 4001, 'after', '{"filters": {"groups": [{"rollout_percentage": 50}]}}');
SELECT f ->> 'key' AS key, f ->> 'bucketing' AS bucketing
FROM jsonb_array_elements(_team_document(4001) -> 'flags') AS f;

-- ---- persons and their distinct ids ----
\set VERBOSITY terse
INSERT INTO persons (team_id, properties) VALUES (4001, '["not", "an", "object"]');
WITH p AS (INSERT INTO persons (team_id, properties) VALUES (4001, '{"plan": "pro"}') RETURNING id)
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id) SELECT 4001, 'tables-user', id FROM p;
-- A distinct id belongs to one person per team ...
WITH p AS (INSERT INTO persons (team_id) VALUES (4001) RETURNING id)
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id) SELECT 4001, 'tables-user', id FROM p;
-- ... the same distinct id may exist in another team ...
WITH p AS (INSERT INTO persons (team_id) VALUES (4002) RETURNING id)
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id) SELECT 4002, 'tables-user', id FROM p;
-- ... and a distinct id cannot lead to another team's person.
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id)
SELECT 4002, 'cross-team', person_id FROM person_distinct_ids WHERE team_id = 4001 AND distinct_id = 'tables-user';
INSERT INTO hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
SELECT 4002, person_id, 'beta', 'anon' FROM person_distinct_ids WHERE team_id = 4001 AND distinct_id = 'tables-user';
-- One override per person and flag.
INSERT INTO hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
SELECT 4001, person_id, 'beta', 'anon-1' FROM person_distinct_ids WHERE team_id = 4001 AND distinct_id = 'tables-user';
INSERT INTO hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
SELECT 4001, person_id, 'beta', 'anon-2' FROM person_distinct_ids WHERE team_id = 4001 AND distinct_id = 'tables-user';

\set VERBOSITY default

-- ---- groups ----
INSERT INTO group_type_mappings VALUES (4001, 0, 'organization'), (4001, 1, 'project');
INSERT INTO group_type_mappings VALUES (4001, 5, 'sixth');
INSERT INTO group_type_mappings VALUES (4001, 2, 'organization');
INSERT INTO groups (team_id, group_type_index, group_key, properties) VALUES (4001, 0, 'org-1', '{"tier": "gold"}');
-- a group needs a mapped type, and object properties
INSERT INTO groups (team_id, group_type_index, group_key) VALUES (4001, 3, 'org-1');
\set VERBOSITY terse
INSERT INTO groups (team_id, group_type_index, group_key, properties) VALUES (4001, 1, 'p-1', '"gold"');

-- ---- cohorts ----
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (4201, 4001, 'pros', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}]}]}');
INSERT INTO cohorts (id, team_id, name, is_static) VALUES (4202, 4001, 'uploaded', true);
-- dynamic cohorts have filters, static cohorts have members instead
INSERT INTO cohorts (id, team_id, name) VALUES (4203, 4001, 'no filters');
INSERT INTO cohorts (id, team_id, name, is_static, filters) VALUES (4203, 4001, 'static with filters', true, '{"type": "OR", "values": []}');
\set VERBOSITY default
-- filters that do not compile are refused, with the path of the problem
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (4203, 4001, 'bad', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "age", "type": "person", "operator": "gt", "value": "old"}]}]}');
-- Without the trigger, the CHECK expression itself raises the engine's error.
ALTER TABLE cohorts DISABLE TRIGGER cohorts_before_write;
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (4203, 4001, 'bad', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "age", "type": "person", "operator": "gt", "value": "old"}]}]}');
ALTER TABLE cohorts ENABLE TRIGGER cohorts_before_write;
INSERT INTO cohort_members (cohort_id, person_id)
SELECT 4202, person_id FROM person_distinct_ids WHERE team_id = 4001 AND distinct_id = 'tables-user';

-- The definitions tables tell every backend's cache when they change (statement triggers).
SELECT tgrelid::regclass AS table_name, tgname
FROM pg_trigger
WHERE tgfoid = 'flag_eval._definitions_changed'::regproc
ORDER BY tgrelid::regclass::text;

-- ---- deleting a team deletes everything it owns ----
SELECT (SELECT count(*) FROM flags WHERE team_id = 4001) AS flags,
       (SELECT count(*) FROM persons WHERE team_id = 4001) AS persons,
       (SELECT count(*) FROM groups WHERE team_id = 4001) AS groups,
       (SELECT count(*) FROM cohorts WHERE team_id = 4001) AS cohorts,
       (SELECT count(*) FROM cohort_members WHERE cohort_id = 4202) AS members,
       (SELECT count(*) FROM hash_key_overrides WHERE team_id = 4001) AS overrides;
DELETE FROM teams WHERE id IN (4001, 4002);
SELECT (SELECT count(*) FROM flags WHERE team_id IN (4001, 4002)) AS flags,
       (SELECT count(*) FROM persons WHERE team_id IN (4001, 4002)) AS persons,
       (SELECT count(*) FROM person_distinct_ids WHERE team_id IN (4001, 4002)) AS distinct_ids,
       (SELECT count(*) FROM group_type_mappings WHERE team_id IN (4001, 4002)) AS group_types,
       (SELECT count(*) FROM groups WHERE team_id IN (4001, 4002)) AS groups,
       (SELECT count(*) FROM cohorts WHERE team_id IN (4001, 4002)) AS cohorts,
       (SELECT count(*) FROM cohort_members WHERE cohort_id = 4202) AS members,
       (SELECT count(*) FROM hash_key_overrides WHERE team_id IN (4001, 4002)) AS overrides;
