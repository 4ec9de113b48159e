-- flag_eval.definitions_version() and flag_eval.service_definitions(): what the decide service
-- polls and what it caches. Ids are explicit (7000s) so that no output depends on what other tests
-- inserted; versions are compared, never shown (they follow the clock).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

-- The version is at least the clock in microseconds since 1970 (here: later than 2020), so that
-- a recreated database does not start below what a running service holds.
SELECT definitions_version() > 1577836800000000 AS follows_the_clock;

-- After each step, the version it left.
CREATE TEMP TABLE seen (n serial, step text, version bigint);
INSERT INTO seen (step, version) SELECT 'start', definitions_version();

INSERT INTO teams (id, name, api_token, secret_token) VALUES
  (7001, 'service', 'phc_service', 'phs_service');
INSERT INTO seen (step, version) SELECT 'insert team', definitions_version();
INSERT INTO teams (id, name, api_token, secret_token, bucketing) VALUES
  (7002, 'service sha1', 'phc_service_sha1', 'phs_service_sha1', 'sha1');
INSERT INTO seen (step, version) SELECT 'insert another team', definitions_version();
UPDATE teams SET name = 'service renamed' WHERE id = 7001;
INSERT INTO seen (step, version) SELECT 'update team', definitions_version();

INSERT INTO group_type_mappings VALUES (7001, 0, 'organization');
INSERT INTO seen (step, version) SELECT 'insert group type mapping', definitions_version();
UPDATE group_type_mappings SET group_type = 'company' WHERE team_id = 7001 AND group_type_index = 0;
INSERT INTO seen (step, version) SELECT 'update group type mapping', definitions_version();

INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (7101, 7001, 'pros', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}]}]}');
INSERT INTO seen (step, version) SELECT 'insert cohort', definitions_version();
INSERT INTO cohorts (id, team_id, name, is_static) VALUES (7102, 7001, 'uploaded', true);
INSERT INTO seen (step, version) SELECT 'insert static cohort', definitions_version();
UPDATE cohorts SET name = 'pro plan' WHERE id = 7101;
INSERT INTO seen (step, version) SELECT 'update cohort', definitions_version();

INSERT INTO flags (id, team_id, key, definition) VALUES
  (7201, 7001, 'rollout', '{"filters": {"groups": [{"rollout_percentage": 30}]}}'),
  (7202, 7001, 'pros-only', '{"filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 7101}]}]}}'),
  (7203, 7002, 'sha1-rollout', '{"filters": {"groups": [{"rollout_percentage": 50}]}}');
INSERT INTO seen (step, version) SELECT 'insert flags', definitions_version();
UPDATE flags SET active = false WHERE id = 7201;
INSERT INTO seen (step, version) SELECT 'update flag', definitions_version();
INSERT INTO flags (id, team_id, key, definition) VALUES
  (7204, 7001, 'short-lived', '{"filters": {"groups": [{"rollout_percentage": 100}]}}');
INSERT INTO seen (step, version) SELECT 'insert flag', definitions_version();
DELETE FROM flags WHERE id = 7204;
INSERT INTO seen (step, version) SELECT 'delete flag', definitions_version();

-- Persons, their distinct ids, groups and static cohort members are not definitions.
INSERT INTO persons (id, team_id, properties) VALUES (7301, 7001, '{"plan": "pro"}');
INSERT INTO person_distinct_ids VALUES (7001, 'service-user', 7301);
UPDATE persons SET properties = '{"plan": "free"}' WHERE id = 7301;
INSERT INTO groups (team_id, group_type_index, group_key) VALUES (7001, 0, 'acme');
INSERT INTO cohort_members VALUES (7102, 7301);
INSERT INTO seen (step, version) SELECT 'person, group and member changes', definitions_version();

-- A change that is rolled back leaves the version as it was (the counter is transactional).
BEGIN;
UPDATE flags SET active = true WHERE id = 7201;
ROLLBACK;
INSERT INTO seen (step, version) SELECT 'rolled back flag change', definitions_version();

-- Each statement of a transaction counts.
BEGIN;
UPDATE flags SET definition = '{"filters": {"groups": [{"rollout_percentage": 40}]}}' WHERE id = 7201;
UPDATE flags SET definition = '{"filters": {"groups": [{"rollout_percentage": 20}]}}' WHERE id = 7201;
COMMIT;
INSERT INTO seen (step, version) SELECT 'transaction of two flag updates', definitions_version();

SELECT step,
       CASE WHEN version > lag(version) OVER (ORDER BY n) THEN 'went up'
            WHEN version = lag(version) OVER (ORDER BY n) THEN 'unchanged'
            WHEN n > 1 THEN 'WENT DOWN' END AS version
FROM seen ORDER BY n;

-- ---- service_definitions() ----

-- Every team in id order, with its tokens, its bucketing and its document; the version is the
-- current one.
SELECT (s ->> 'version')::bigint = definitions_version() AS current_version,
       jsonb_array_length(s -> 'teams') = (SELECT count(*) FROM teams) AS every_team,
       (SELECT array_agg((t ->> 'id')::bigint ORDER BY n) = array_agg((t ->> 'id')::bigint ORDER BY (t ->> 'id')::bigint)
        FROM jsonb_array_elements(s -> 'teams') WITH ORDINALITY AS e(t, n)) AS in_id_order,
       (SELECT bool_and(t -> 'definitions' = _team_document((t ->> 'id')::bigint))
        FROM jsonb_array_elements(s -> 'teams') AS e(t)) AS definitions_are_team_documents
FROM service_definitions() AS s;

-- The two teams of this test.
SELECT jsonb_pretty(t)
FROM jsonb_array_elements(service_definitions() -> 'teams') AS e(t)
WHERE (t ->> 'id')::bigint BETWEEN 7000 AND 7999
ORDER BY (t ->> 'id')::bigint;

-- What the service runs (it reads text, through PgBouncer too): a plain query, no parameters.
SELECT length(service_definitions()::text) > 0 AS text_form, pg_typeof(definitions_version()) AS version_type;

-- Volatility: both read tables, STABLE.
SELECT p.proname, p.provolatile, p.proparallel
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'flag_eval' AND p.proname IN ('definitions_version', 'service_definitions')
ORDER BY p.proname;

DELETE FROM teams WHERE id IN (7001, 7002);
