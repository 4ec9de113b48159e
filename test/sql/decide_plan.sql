-- decide() costs the same whatever the number of persons: it reads every row it needs by an
-- index lookup, never by a sequential scan. Counted with the statistics of the transaction
-- (pg_stat_xact_user_tables), over tables of 10,000 persons in 1,000 teams.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

INSERT INTO teams (id, name, api_token, secret_token)
SELECT 5000 + i, 'plan ' || i, 'phc_plan_' || i, 'phs_plan_' || i FROM generate_series(1, 1000) i;
INSERT INTO group_type_mappings SELECT 5000 + i, 0, 'organization' FROM generate_series(1, 1000) i;
INSERT INTO group_type_mappings SELECT 5000 + i, 1, 'project' FROM generate_series(1, 1000) i;
-- 10 persons per team, 10,000 in all, each with two distinct ids, a static cohort membership, a
-- hash key override, and an organization
CREATE TEMP TABLE plan_persons AS
WITH p AS (INSERT INTO persons (team_id, properties)
           SELECT 5001 + i % 1000, jsonb_build_object('n', i) FROM generate_series(0, 9999) i
           RETURNING id, team_id, (properties ->> 'n')::int AS n)
SELECT * FROM p;
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id)
SELECT team_id, 'person-' || n, id FROM plan_persons
UNION ALL
SELECT team_id, 'anon-' || n, id FROM plan_persons;
INSERT INTO cohorts (id, team_id, name, is_static)
SELECT 5000 + i, 5000 + i, 'static', true FROM generate_series(1, 1000) i;
INSERT INTO cohort_members (cohort_id, person_id) SELECT 5000 + (team_id - 5000), id FROM plan_persons;
INSERT INTO hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
SELECT team_id, id, 'sticky', 'anon-' || n FROM plan_persons;
INSERT INTO groups (team_id, group_type_index, group_key, properties)
SELECT team_id, 0, 'org-' || n, '{"tier": "gold"}' FROM plan_persons;
INSERT INTO flags (team_id, key, definition)
SELECT 5000 + i, k, '{"ensure_experience_continuity": true, "filters": {"groups": [{"rollout_percentage": 50}]}}'
FROM generate_series(1, 1000) i, unnest(ARRAY['sticky', 'other']) k;
ANALYZE teams, flags, persons, person_distinct_ids, group_type_mappings, groups, cohorts, cohort_members,
        hash_key_overrides;

-- Compile team 5042's flags first (the cache of compiled definitions is not what this test is
-- about), in a transaction of its own: the counts below are those of the next transaction.
SELECT decide('phc_plan_42', 'person-41') IS NOT NULL AS compiled;

-- One call with everything decide() looks up: the team by token, the person by distinct id and
-- the anonymous person by anon_distinct_id (another person of the team), their properties, the
-- organization, the static cohorts and both persons' hash key overrides. (The organization's
-- group type index comes from the compiled definitions, like the rest of the team's flags.)
-- (The counts of the transaction view are those not yet sent to the statistics system: send them
-- first, which happens once this statement is over.)
SELECT pg_stat_force_next_flush();
BEGIN;
-- (sticky is bucketed with person-41's own override, anon-41, not with anon-1041's)
SELECT decide('phc_plan_42', 'person-41', groups => '{"organization": "org-41"}', anon_distinct_id => 'anon-1041')
       #>> '{flags,sticky,enabled}' = (flag_bucket('sticky', 'anon-41') <= 0.5)::text AS answered;
-- What that call read in this transaction: no sequential scan anywhere; an index scan per lookup.
SELECT relname, seq_scan, idx_scan
FROM pg_stat_xact_user_tables
WHERE schemaname = 'flag_eval' AND (seq_scan > 0 OR idx_scan > 0)
ORDER BY relname;
COMMIT;

-- The same for a request that finds nothing (an unknown person, no group stored): still no
-- sequential scan. The token's team is not looked up again: the backend remembers it from the
-- call before (until a definitions table changes; test/sql/decide.sql rotates a token).
SELECT pg_stat_force_next_flush();
BEGIN;
SELECT decide('phc_plan_42', 'nobody', groups => '{"organization": "org-none"}', anon_distinct_id => 'nobody-either')
       #> '{flags,sticky,enabled}' IS NOT NULL AS answered;
SELECT relname, seq_scan, idx_scan
FROM pg_stat_xact_user_tables
WHERE schemaname = 'flag_eval' AND (seq_scan > 0 OR idx_scan > 0)
ORDER BY relname;
COMMIT;

DELETE FROM teams WHERE id BETWEEN 5001 AND 6000;
