-- flag_variant_counts(flag, distinct_id, properties): a variant breakdown as one aggregate, the
-- same counts as GROUP BY flag_variant(...), planned in parallel (partial states in the workers,
-- serialised to the leader and combined), every declared outcome listed.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

CREATE TABLE vc_persons (distinct_id text, properties jsonb);
INSERT INTO vc_persons
SELECT 'person-' || i, jsonb_build_object('plan', (ARRAY['free', 'pro', 'enterprise'])[i % 3 + 1])
FROM generate_series(1, 20000) i;
ANALYZE vc_persons;

CREATE TEMP TABLE vc_flags (name text, flag jsonb);
INSERT INTO vc_flags VALUES
  ('three variants, paid plans', '{"key": "mv", "filters": {"groups": [{"properties": [{"key": "plan", "value": ["pro", "enterprise"], "type": "person"}]}],
     "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test-a", "rollout_percentage": 30}, {"key": "test-b", "rollout_percentage": 20}]}}}'),
  ('a variant nobody gets', '{"key": "mv0", "filters": {"groups": [{"properties": [], "variant": "b"}],
     "multivariate": {"variants": [{"key": "a", "rollout_percentage": 100}, {"key": "b", "rollout_percentage": 0}, {"key": "unused", "rollout_percentage": 0}]}}}'),
  ('boolean at 30 %', '{"key": "b30", "filters": {"groups": [{"properties": [], "rollout_percentage": 30}]}}'),
  ('with a holdout', '{"key": "ho", "filters": {"groups": [{"properties": []}], "holdout_groups": [{"properties": [], "rollout_percentage": 10, "variant": "holdout-7"}],
     "multivariate": {"variants": [{"key": "on", "rollout_percentage": 100}]}}}'),
  ('inactive', '{"key": "off", "active": false, "filters": {"groups": [{"properties": []}]}}');

-- GROUP BY flag_variant's counts as flag_variant_counts names them: a variant, 'true', 'false'.
CREATE FUNCTION pg_temp.grouped(flag jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_object_agg(outcome, n) FROM (
        SELECT CASE WHEN NOT flag_eval.flag_eval(flag, distinct_id, properties) THEN 'false'
                    ELSE coalesce(flag_eval.flag_variant(flag, distinct_id, properties), 'true') END AS outcome,
               count(*) AS n
        FROM vc_persons GROUP BY 1) g
$$;

-- Serial: the aggregate's counts, and whether each outcome seen by GROUP BY has the same count
-- (the aggregate also lists declared outcomes nobody got, at 0).
SET max_parallel_workers_per_gather = 0;
SELECT name, counts,
       (SELECT bool_and((counts ->> g.key)::bigint = g.value::bigint)
          FROM jsonb_each(pg_temp.grouped(flag)) g) AS same_as_group_by,
       (SELECT sum(value::bigint) FROM jsonb_each(counts)) AS total
FROM (SELECT name, flag, (SELECT flag_variant_counts(f.flag, p.distinct_id, p.properties) FROM vc_persons p) AS counts
      FROM vc_flags f) s
ORDER BY name;
CREATE TEMP TABLE vc_serial AS
SELECT name, (SELECT flag_variant_counts(f.flag, p.distinct_id, p.properties) FROM vc_persons p) AS counts
FROM vc_flags f;

-- Parallel: planned as a partial aggregate in workers (made cheap enough to be chosen on this
-- small table), the same counts.
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF)
SELECT flag_variant_counts('{"key": "b30", "filters": {"groups": [{"rollout_percentage": 30}]}}', distinct_id, properties)
FROM vc_persons;
CREATE FUNCTION pg_temp.parallel_counts(flag jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    counts jsonb;
BEGIN
    EXECUTE format('SELECT flag_eval.flag_variant_counts(%L::jsonb, distinct_id, properties) FROM vc_persons', flag)
       INTO counts;
    RETURN counts;
END $$;
SELECT f.name, pg_temp.parallel_counts(f.flag) = s.counts AS same_as_serial
FROM vc_flags f JOIN vc_serial s USING (name) ORDER BY f.name;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- Per group of another column, as any aggregate.
SELECT properties ->> 'plan' AS plan,
       flag_variant_counts((SELECT flag FROM vc_flags WHERE name = 'three variants, paid plans'), distinct_id, properties)
FROM vc_persons GROUP BY 1 ORDER BY 1;

-- A row with a NULL argument is not counted; no row counted: NULL.
SELECT flag_variant_counts('{"key": "b", "filters": {"groups": [{"properties": []}]}}', d, p)
FROM (VALUES ('a', '{}'::jsonb), (NULL, '{}'), ('c', NULL)) v(d, p);
SELECT flag_variant_counts('{"key": "b", "filters": {"groups": [{"properties": []}]}}', distinct_id, properties)
FROM vc_persons WHERE false;

-- Bad input: the errors of flag_variant.
SELECT flag_variant_counts('{"key": "bad", "filters": {"groups": "no"}}', distinct_id, properties) FROM vc_persons;
SELECT flag_variant_counts('{"key": "b", "filters": {"groups": [{"properties": []}]}}', 'u', '[1]');
SELECT flag_variant_counts('{"key": "c", "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 1}]}]}}', 'u', '{}');
-- Its parts cannot be called from SQL: no value of type internal can be written (they also check
-- that an aggregate calls them).
SELECT _variant_counts_step(NULL::internal, '{}', 'u', '{}');
SELECT _variant_counts_combine(NULL::internal, NULL::internal);

DROP TABLE vc_persons;
