-- The GIN pre-filter (flag_eval_support, SupportRequestIndexCondition): where every way a
-- constant flag can be true needs some property key, a GIN index on properties (jsonb_ops) finds
-- the persons that have them and flag_eval() decides each of those. The rows must be exactly the
-- scan's, always: the flags below are built to fool a pre-filter (operators a missing key
-- satisfies, the distinct id standing in for its key, null values, nested and odd keys, sets
-- without filters, holdouts, early-access enrollment), each run once through the index and once
-- as a sequential scan, compared row by row.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;
SET max_parallel_workers_per_gather = 0;

CREATE TABLE gin_persons (id integer, distinct_id text, properties jsonb);
-- 20,000 persons; rare keys: beta (1 in 100, a tenth of them null), invite (1 in 250),
-- "odd key ""{x}"" ü" (1 in 400); some persons have beta only nested, one has distinct_id as a
-- property that differs from its distinct id.
INSERT INTO gin_persons
SELECT i, 'user-' || i,
       jsonb_build_object('plan', (ARRAY['free', 'pro', 'enterprise'])[i % 3 + 1], 'age', i % 90)
       || CASE WHEN i % 100 = 0 THEN jsonb_build_object('beta', CASE WHEN i % 1000 = 0 THEN NULL ELSE 'on' END)
               ELSE '{}' END
       || CASE WHEN i % 250 = 0 THEN jsonb_build_object('invite', 'code-' || i) ELSE '{}' END
       || CASE WHEN i % 400 = 0 THEN jsonb_build_object('odd key "{x}" ü', i) ELSE '{}' END
       || CASE WHEN i % 150 = 0 THEN '{"nested": {"beta": "on"}}'::jsonb ELSE '{}' END
       || CASE WHEN i = 7 THEN '{"distinct_id": "someone-else"}'::jsonb ELSE '{}' END
FROM generate_series(1, 20000) i;
CREATE INDEX gin_persons_properties ON gin_persons USING gin (properties);
ANALYZE gin_persons;

CREATE TABLE fooling_flags (name text PRIMARY KEY, flag jsonb);
INSERT INTO fooling_flags VALUES
  ('is_set, rare key',
   '{"key": "a", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "operator": "is_set", "value": "is_set"}]}]}}'),
  ('exact on a key that is sometimes null',
   '{"key": "b", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "value": "on"}]}]}}'),
  ('two keys in one set, 50 %',
   '{"key": "c", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "operator": "is_set", "value": "is_set"}, {"key": "invite", "type": "person", "operator": "icontains", "value": "code"}], "rollout_percentage": 50}]}}'),
  ('two sets, two rare keys',
   '{"key": "d", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "value": "on"}]}, {"properties": [{"key": "invite", "type": "person", "operator": "regex", "value": "^code-[0-9]+0$"}]}]}}'),
  ('an odd key',
   '{"key": "e", "filters": {"groups": [{"properties": [{"key": "odd key \"{x}\" ü", "type": "person", "operator": "gt", "value": 1000}]}]}}'),
  ('is_not: a missing key matches',
   '{"key": "f", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "operator": "is_not", "value": "on"}]}]}}'),
  ('is_not_set',
   '{"key": "g", "filters": {"groups": [{"properties": [{"key": "invite", "type": "person", "operator": "is_not_set", "value": "is_not_set"}]}]}}'),
  ('not_icontains and not_regex',
   '{"key": "h", "filters": {"groups": [{"properties": [{"key": "invite", "type": "person", "operator": "not_icontains", "value": "5"}, {"key": "beta", "type": "person", "operator": "not_regex", "value": "x"}]}]}}'),
  ('distinct_id stands in for its key',
   '{"key": "i", "filters": {"groups": [{"properties": [{"key": "distinct_id", "type": "person", "operator": "icontains", "value": "user-1"}]}]}}'),
  ('a rare key or a set without filters at 1 %',
   '{"key": "j", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "value": "on"}]}, {"properties": [], "rollout_percentage": 1}]}}'),
  ('a rare key with a holdout',
   '{"key": "k", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "value": "on"}]}], "holdout_groups": [{"properties": [], "rollout_percentage": 5, "variant": "holdout-1"}]}}'),
  ('early-access enrollment or a rare key',
   '{"key": "l", "filters": {"feature_enrollment": true, "groups": [{"properties": [{"key": "invite", "type": "person", "operator": "is_set", "value": "is_set"}]}]}}'),
  ('a nested key is not a top-level key',
   '{"key": "m", "filters": {"groups": [{"properties": [{"key": "nested", "type": "person", "operator": "icontains", "value": "beta"}]}]}}'),
  ('a common key',
   '{"key": "n", "filters": {"groups": [{"properties": [{"key": "plan", "type": "person", "value": "pro"}], "rollout_percentage": 30}]}}');
-- Early-access enrollment answered by a few persons, one of them with no other key the flag reads.
UPDATE gin_persons SET properties = properties || '{"$feature_enrollment/l": true}' WHERE id IN (3, 500, 750);
ANALYZE gin_persons;

-- Each flag through the index (sequential scans off) and as a sequential scan (bitmap scans off):
-- the plan each got, the rows each kept, and whether they are the same persons.
CREATE FUNCTION pg_temp.both_ways(flag jsonb, OUT index_plan text, OUT kept bigint, OUT same boolean)
LANGUAGE plpgsql AS $$
DECLARE
    query text := format('SELECT id FROM gin_persons WHERE flag_eval.flag_eval(%L::jsonb, distinct_id, properties)', flag);
    through_index integer[];
    scanned integer[];
BEGIN
    SET LOCAL enable_seqscan = off;
    EXECUTE 'EXPLAIN (COSTS OFF) ' || query INTO index_plan;  -- the plan's first line
    EXECUTE format('SELECT array_agg(id ORDER BY id) FROM (%s) q', query) INTO through_index;
    SET LOCAL enable_seqscan = on;
    SET LOCAL enable_bitmapscan = off;
    SET LOCAL enable_indexscan = off;
    EXECUTE format('SELECT array_agg(id ORDER BY id) FROM (%s) q', query) INTO scanned;
    kept := coalesce(cardinality(scanned), 0);
    same := through_index IS NOT DISTINCT FROM scanned;
END $$;

SELECT name, index_plan, kept, same FROM fooling_flags, pg_temp.both_ways(flag) ORDER BY name;

-- The index condition the planner adds: all keys of a single set, one key per set otherwise.
EXPLAIN (COSTS OFF)
SELECT count(*) FROM gin_persons
WHERE flag_eval.flag_eval((SELECT flag FROM fooling_flags WHERE name = 'two keys in one set, 50 %'), distinct_id, properties);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM gin_persons
WHERE flag_eval.flag_eval('{"key": "c", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "operator": "is_set", "value": "is_set"}, {"key": "invite", "type": "person", "operator": "icontains", "value": "code"}], "rollout_percentage": 50}]}}', distinct_id, properties);
EXPLAIN (COSTS OFF)
SELECT count(*) FROM gin_persons
WHERE flag_eval.flag_eval('{"key": "d", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "value": "on"}]}, {"properties": [{"key": "invite", "type": "person", "operator": "regex", "value": "^code-[0-9]+0$"}]}]}}', distinct_id, properties);

-- With several sets, each is represented by its rarest key by the column's statistics: beta (1 in
-- 100) rather than plan (everyone) for the first set.
EXPLAIN (COSTS OFF)
SELECT count(*) FROM gin_persons
WHERE flag_eval.flag_eval('{"key": "r", "filters": {"groups": [{"properties": [{"key": "plan", "type": "person", "value": "pro"}, {"key": "beta", "type": "person", "value": "on"}]}, {"properties": [{"key": "invite", "type": "person", "operator": "is_set", "value": "is_set"}]}]}}', distinct_id, properties);

-- A jsonb_path_ops index answers no key-existence operator: no pre-filter, a scan.
DROP INDEX gin_persons_properties;
CREATE INDEX gin_persons_paths ON gin_persons USING gin (properties jsonb_path_ops);
EXPLAIN (COSTS OFF)
SELECT count(*) FROM gin_persons
WHERE flag_eval.flag_eval('{"key": "a", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "operator": "is_set", "value": "is_set"}]}]}}', distinct_id, properties);
RESET enable_seqscan;

-- A bad flag still fails when it runs, not at plan time, index or not.
CREATE INDEX gin_persons_properties ON gin_persons USING gin (properties);
SET enable_seqscan = off;
SELECT count(*) FROM gin_persons WHERE flag_eval.flag_eval('{"key": "bad", "filters": {"groups": [{"properties": [{"key": "beta", "type": "person", "operator": "no_such_operator", "value": 1}]}]}}', distinct_id, properties);
RESET enable_seqscan;

DROP TABLE gin_persons, fooling_flags;
