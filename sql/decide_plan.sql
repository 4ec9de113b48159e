-- decide() costs the same whatever the number of persons: each lookup of its one statement is an
-- index scan. The statement is taken from decide()'s own source (between its "lookup" markers),
-- prepared with decide()'s parameters, and explained over tables large enough (10,000 persons,
-- analyzed) that the planner would scan them whole if an index were missing.
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

-- decide()'s statement, with its parameters as $1..$7.
DO $$
DECLARE
  source text := (SELECT prosrc FROM pg_proc WHERE oid = 'flag_eval.decide'::regproc);
  statement text;
BEGIN
  statement := substring(source FROM '-- lookup begin(.*)-- lookup end');
  statement := regexp_replace(statement, '\s+INTO\s+found_team,\s*body\s', ' ');
  statement := regexp_replace(statement, ';\s*$', '');
  statement := regexp_replace(statement, '\mdecide\.token\M', '$1', 'g');
  statement := regexp_replace(statement, '\mdecide\.distinct_id\M', '$2', 'g');
  statement := regexp_replace(statement, '\mdecide\.person_properties\M', '$3', 'g');
  statement := regexp_replace(statement, '\mdecide\.groups\M', '$4', 'g');
  statement := regexp_replace(statement, '\mdecide\.group_properties\M', '$5', 'g');
  statement := regexp_replace(statement, '\mdecide\.anon_distinct_id\M', '$6', 'g');
  statement := regexp_replace(statement, '\mdecide\.flag_keys\M', '$7', 'g');
  IF statement ~ '\mdecide\.' THEN
    RAISE EXCEPTION 'a parameter of decide() was not replaced: %', statement;
  END IF;
  EXECUTE 'PREPARE decide_lookup(text, text, jsonb, jsonb, jsonb, text, text[]) AS ' || statement;
END
$$;

-- The plan decide() settles on after a few calls (the generic plan) ... ($1..$7 are decide()'s
-- parameters, except that EXPLAIN also names the group type index found by InitPlan 1 "$2".)
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF)
EXECUTE decide_lookup('phc_plan_42', 'person-41', '{}', '{"organization": "org-41"}', '{}', 'anon-41', NULL);
-- ... and the plans of its first calls, for given values.
SET plan_cache_mode = force_custom_plan;
EXPLAIN (COSTS OFF)
EXECUTE decide_lookup('phc_plan_42', 'person-41', '{}', '{"organization": "org-41"}', '{}', 'anon-41', NULL);
EXPLAIN (COSTS OFF)
EXECUTE decide_lookup('phc_plan_42', 'person-41', '{}', '{}', '{}', NULL, ARRAY['sticky']);
RESET plan_cache_mode;

-- No sequential scan anywhere, in either plan.
CREATE FUNCTION pg_temp.plan_lines(generic boolean) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  EXECUTE format('SET LOCAL plan_cache_mode = %s', CASE WHEN generic THEN 'force_generic_plan' ELSE 'force_custom_plan' END);
  FOR line IN EXECUTE $q$EXPLAIN (COSTS OFF) EXECUTE decide_lookup('phc_plan_42', 'person-41', '{}',
                         '{"organization": "org-41"}', '{}', 'anon-41', NULL)$q$ LOOP
    RETURN NEXT line;
  END LOOP;
END
$$;
SELECT generic,
       count(*) FILTER (WHERE line ~ 'Index (Only )?Scan') AS index_scans,
       count(*) FILTER (WHERE line ~ 'Seq Scan|Bitmap Heap Scan') AS other_scans
FROM unnest(ARRAY[true, false]) AS generic, LATERAL pg_temp.plan_lines(generic) AS line
GROUP BY generic ORDER BY generic;

-- And the function answers from those rows.
SELECT decide('phc_plan_42', 'person-41', groups => '{"organization": "org-41"}') #> '{flags,sticky,enabled}' IS NOT NULL
       AS answered;

DEALLOCATE decide_lookup;
DELETE FROM teams WHERE id BETWEEN 5001 AND 6000;
