-- How many rows the planner expects `WHERE flag_eval(<constant flag>, ...)` to keep
-- (flag_eval_support): within 3x of the rows it keeps, for rollouts, property filters and
-- several condition sets, never PostgreSQL's flat third. 20,000 generated persons, each document
-- unique (the estimate reads the histogram's 101 sample documents, not most common values); ANALYZE
-- reads them all (fewer than its 30,000-row sample), so the statistics and the estimates are the
-- same on every run.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;
SET max_parallel_workers_per_gather = 0;  -- whole-scan estimates, not per worker

-- No autovacuum: the first estimates are those of a table never analysed.
CREATE TABLE est_persons (distinct_id text, properties jsonb) WITH (autovacuum_enabled = false);
INSERT INTO est_persons
SELECT 'person-' || i,
       jsonb_build_object('plan', (ARRAY['free', 'pro', 'enterprise', 'starter'])[i % 4 + 1],
                          'country', (ARRAY['US', 'GB', 'DE', 'FR', 'IN'])[i % 5 + 1],
                          'age', i % 80,
                          'app_version', '1.' || (i % 20) || '.0',
                          'email', 'person' || i || '@example.com')
FROM generate_series(1, 20000) i;

-- The planner's estimate of the rows a flag keeps from est_persons; `properties` is the SQL of
-- the third argument.
CREATE FUNCTION pg_temp.estimated(flag jsonb, properties text DEFAULT 'p.properties')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM est_persons p '
                   'WHERE flag_eval.flag_eval(%L::jsonb, p.distinct_id, %s)', flag, properties)
       INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END
$$;

CREATE TEMP TABLE est_flags (name text, flag jsonb);
INSERT INTO est_flags VALUES
  ('rollout 1 %', '{"key": "r1", "filters": {"groups": [{"properties": [], "rollout_percentage": 1}]}}'),
  ('rollout 30 %', '{"key": "r30", "filters": {"groups": [{"properties": [], "rollout_percentage": 30}]}}'),
  ('plan pro', '{"key": "pro", "filters": {"groups": [{"properties": [{"key": "plan", "value": ["pro"], "operator": "exact", "type": "person"}]}]}}'),
  ('plan pro at 20 %', '{"key": "pro20", "filters": {"groups": [{"properties": [{"key": "plan", "value": "pro", "type": "person"}], "rollout_percentage": 20}]}}'),
  ('18 <= age < 20', '{"key": "teen", "filters": {"groups": [{"properties": [{"key": "age", "value": 18, "operator": "gte", "type": "person"}, {"key": "age", "value": 20, "operator": "lt", "type": "person"}]}]}}'),
  ('app_version >= 1.15.0', '{"key": "new", "filters": {"groups": [{"properties": [{"key": "app_version", "value": "1.15.0", "operator": "semver_gte", "type": "person"}]}]}}'),
  ('US at 50 % or age >= 70', '{"key": "two", "filters": {"groups": [{"properties": [{"key": "country", "value": "US", "type": "person"}], "rollout_percentage": 50}, {"properties": [{"key": "age", "value": 70, "operator": "gte", "type": "person"}]}]}}'),
  ('inactive', '{"key": "off", "active": false, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}');

-- Before ANALYZE: rollouts exactly, property filters at a third (PostgreSQL's own default).
SELECT name, pg_temp.estimated(flag) AS estimated FROM est_flags
WHERE name IN ('rollout 1 %', 'plan pro', 'plan pro at 20 %') ORDER BY name;

ANALYZE est_persons;
SELECT name, estimated, actual,
       estimated BETWEEN actual / 3.0 AND greatest(actual * 3.0, 1) AS within_3x
FROM (SELECT name, pg_temp.estimated(flag) AS estimated,
             (SELECT count(*) FROM est_persons p
               WHERE flag_eval.flag_eval(f.flag, p.distinct_id, p.properties)) AS actual
      FROM est_flags f) s
ORDER BY name;

-- Constant properties: the flag's rollout for them. An invalid flag, or properties that are no
-- object: PostgreSQL's own estimate, and no error until the function runs.
SELECT pg_temp.estimated(flag, $$'{"plan": "pro"}'$$) AS pro,
       pg_temp.estimated(flag, $$'{"plan": "free"}'$$) AS free,
       pg_temp.estimated(flag, $$'[1]'$$) AS not_an_object
FROM est_flags WHERE name = 'plan pro at 20 %';
SELECT pg_temp.estimated('{"key": "bad", "filters": {"groups": "no"}}') AS invalid_flag;
-- A flag that is not a constant (one per row of a join) is left to PostgreSQL too.
EXPLAIN (COSTS OFF) SELECT 1 FROM est_persons p JOIN est_flags f ON true
WHERE flag_eval.flag_eval(f.flag, p.distinct_id, p.properties);

-- Variants: `flag_variant(...) = 'x'` and `GROUP BY flag_variant(...)` are an operator and a
-- grouping over the function's result, for which PostgreSQL 15 asks no support function: without
-- statistics on that expression it assumes 0.5 % of the rows per variant and as many groups as
-- distinct ids (hence a serial aggregate). CREATE STATISTICS on the expression (docs/reference.md) gives it the
-- variants' real shares after ANALYZE.
CREATE TEMP TABLE est_variant (flag jsonb);
INSERT INTO est_variant VALUES ('{"key": "mv", "filters": {"groups": [{"properties": [{"key": "plan", "value": ["pro", "enterprise"], "type": "person"}]}],
  "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test-a", "rollout_percentage": 30}, {"key": "test-b", "rollout_percentage": 20}]}}}');
CREATE FUNCTION pg_temp.variant_estimates()
RETURNS TABLE (variant text, estimated bigint, actual bigint, within_3x boolean) LANGUAGE plpgsql AS $$
DECLARE
    flag jsonb := (SELECT v.flag FROM est_variant v);
    plan json;
BEGIN
    FOR variant IN SELECT unnest(ARRAY['control', 'test-a', 'test-b']) LOOP
        EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM est_persons p '
                       'WHERE flag_eval.flag_variant(%L::jsonb, p.distinct_id, p.properties) = %L', flag, variant)
           INTO plan;
        estimated := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
        SELECT count(*) INTO actual FROM est_persons p
        WHERE flag_eval.flag_variant(flag, p.distinct_id, p.properties) = variant;
        within_3x := estimated BETWEEN actual / 3.0 AND actual * 3.0;
        RETURN NEXT;
    END LOOP;
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT flag_eval.flag_variant(%L::jsonb, p.distinct_id, p.properties), count(*) '
                   'FROM est_persons p GROUP BY 1', flag) INTO plan;
    variant := 'groups';
    estimated := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
    actual := 4;  -- the three variants and NULL (not enabled)
    within_3x := estimated BETWEEN actual / 3.0 AND actual * 3.0;
    RETURN NEXT;
END $$;
SELECT * FROM pg_temp.variant_estimates();
DO $$ BEGIN
    EXECUTE format('CREATE STATISTICS est_persons_mv ON (flag_eval.flag_variant(%L::jsonb, distinct_id, properties)) '
                   'FROM est_persons', (SELECT flag FROM est_variant));
END $$;
ANALYZE est_persons;
SELECT * FROM pg_temp.variant_estimates();

DROP TABLE est_persons;
