-- flag_eval over a table of users: who is in a rollout, how the variants split, and that the
-- answers are stable (same query, same answer; cached or not; serial or parallel).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = public, flag_eval;

CREATE TABLE users AS
SELECT i AS id,
       'user-' || i AS distinct_id,
       jsonb_build_object('plan', (ARRAY['free', 'pro', 'enterprise'])[1 + i % 3],
                          'country', (ARRAY['FR', 'DE', 'US', 'JP'])[1 + i % 4],
                          'signup_version', '1.' || (i % 12) || '.0') AS properties
FROM generate_series(1, 6000) i;

CREATE TABLE flags (key text PRIMARY KEY, definition jsonb NOT NULL);
INSERT INTO flags VALUES
  ('new-checkout', '{"key": "new-checkout", "filters": {"groups": [
      {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]}],
       "rollout_percentage": 25}]}}'),
  ('pricing-test', '{"key": "pricing-test", "filters": {"groups": [
      {"properties": [{"key": "country", "type": "person", "operator": "exact", "value": ["FR", "DE"]}],
       "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50},
                                    {"key": "cheaper", "rollout_percentage": 25},
                                    {"key": "bundle", "rollout_percentage": 25}]}}}'),
  ('modern-ui', '{"key": "modern-ui", "filters": {"groups": [
      {"properties": [{"key": "signup_version", "type": "person", "operator": "semver_gte", "value": "1.10.0"}],
       "rollout_percentage": 100}]}}');

-- Population of the rollout: 2/3 of users are pro or enterprise, a quarter of them get it.
SELECT count(*) AS users,
       count(*) FILTER (WHERE properties ->> 'plan' IN ('pro', 'enterprise')) AS targeted,
       count(*) FILTER (WHERE flag_eval(f.definition, u.distinct_id, u.properties)) AS enabled,
       -- the same thing from the bucketing rule: targeted and hash01 <= 25 %
       count(*) FILTER (WHERE properties ->> 'plan' IN ('pro', 'enterprise')
                          AND flag_bucket('new-checkout', distinct_id) <= 0.25) AS by_hand
FROM users u, flags f WHERE f.key = 'new-checkout';

-- Share of the targeted users that is enabled, per plan (about 25 % each).
SELECT properties ->> 'plan' AS plan, count(*) AS users,
       round(100.0 * count(*) FILTER (WHERE flag_eval(f.definition, distinct_id, properties)) / count(*)) AS pct_enabled
FROM users, flags f WHERE f.key = 'new-checkout'
GROUP BY 1 ORDER BY 1;

-- Variant breakdown: FR and DE users split 50/25/25; everyone else gets no variant.
SELECT variant, users,
       CASE WHEN variant IS NOT NULL
            THEN round(100.0 * users / sum(users) FILTER (WHERE variant IS NOT NULL) OVER ()) END AS pct_of_targeted
FROM (SELECT flag_variant(f.definition, distinct_id, properties) AS variant, count(*) AS users
      FROM users, flags f WHERE f.key = 'pricing-test'
      GROUP BY 1) s
ORDER BY 1 NULLS LAST;

SELECT properties ->> 'country' AS country,
       count(*) FILTER (WHERE flag_variant(f.definition, distinct_id, properties) IS NOT NULL) AS with_variant
FROM users, flags f WHERE f.key = 'pricing-test'
GROUP BY 1 ORDER BY 1;

-- semver: signup versions 1.10.0 and 1.11.0 qualify (2 of every 12 users), not 1.9.0.
SELECT count(*) FILTER (WHERE flag_eval(f.definition, distinct_id, properties)) AS modern_ui
FROM users, flags f WHERE f.key = 'modern-ui';

-- Usable in WHERE, with the flag from a subquery or as a constant.
SELECT count(*) AS in_rollout
FROM users WHERE flag_eval((SELECT definition FROM flags WHERE key = 'new-checkout'), distinct_id, properties);

-- Stable: the assignments do not change from one run to the next.
CREATE TEMP TABLE assignment AS
SELECT u.id, f.key, flag_evaluate(f.definition,
         jsonb_build_object('distinct_id', u.distinct_id, 'person_properties', u.properties)) AS detail
FROM users u, flags f;

SELECT count(*) AS changed
FROM assignment a JOIN users u USING (id) JOIN flags f USING (key)
WHERE a.detail IS DISTINCT FROM flag_evaluate(f.definition,
        jsonb_build_object('distinct_id', u.distinct_id, 'person_properties', u.properties));

-- flag_eval, flag_variant and flag_evaluate agree, with the flag argument changing between rows
-- (the per-call cache compiles a flag again whenever its bytes change).
SELECT count(*) AS disagreements
FROM assignment a JOIN users u USING (id) JOIN flags f USING (key)
WHERE flag_eval(f.definition, u.distinct_id, u.properties) IS DISTINCT FROM (a.detail -> 'enabled')::boolean
   OR flag_variant(f.definition, u.distinct_id, u.properties) IS DISTINCT FROM a.detail ->> 'variant';

-- Widening a rollout keeps everyone who was in: 25 % -> 50 % only adds users.
SELECT count(*) FILTER (WHERE at25 AND NOT at50) AS dropped,
       count(*) FILTER (WHERE at50 AND NOT at25) > 0 AS added_some
FROM (SELECT flag_eval(jsonb_set(definition, '{filters,groups,0,rollout_percentage}', '25'), distinct_id, properties) AS at25,
             flag_eval(jsonb_set(definition, '{filters,groups,0,rollout_percentage}', '50'), distinct_id, properties) AS at50
      FROM users, flags WHERE key = 'new-checkout') s;

-- The same answers from parallel workers (the functions are PARALLEL SAFE).
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
\set new_checkout '{"key": "new-checkout", "filters": {"groups": [{"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]}], "rollout_percentage": 25}]}}'
EXPLAIN (COSTS OFF)
SELECT count(*) FROM users WHERE flag_eval(:'new_checkout', distinct_id, properties);
SELECT count(*) AS enabled_in_parallel FROM users WHERE flag_eval(:'new_checkout', distinct_id, properties);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- The functions are IMMUTABLE PARALLEL SAFE, and STRICT.
SELECT p.proname, p.provolatile, p.proparallel, p.proisstrict
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'flag_eval' AND p.proname LIKE 'flag\_%' AND p.prokind = 'f' ORDER BY p.proname;

DROP TABLE users, flags;
