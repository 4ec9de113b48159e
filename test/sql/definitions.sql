-- flag_eval.definitions(token): the local-evaluation feed {flags, group_type_mapping, cohorts} of a
-- team, and flag_eval._team_document(team_id), what decide()'s cache compiles. Ids are explicit
-- (2000s) so that no output depends on what other tests inserted.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

INSERT INTO teams (id, name, api_token, secret_token) VALUES
  (2001, 'definitions', 'phc_definitions', 'phs_definitions'),
  (2002, 'empty', 'phc_definitions_empty', 'phs_definitions_empty');
INSERT INTO group_type_mappings VALUES (2001, 1, 'project'), (2001, 0, 'organization');
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (2101, 2001, 'pros', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}]}]}');
INSERT INTO cohorts (id, team_id, name, is_static) VALUES (2102, 2001, 'uploaded', true);
-- The columns id, key, version and active win over the same fields of a definition.
INSERT INTO flags (id, team_id, key, definition, version, active, deleted) VALUES
  (2203, 2001, 'pro-users', '{"id": 1, "key": "stale-key", "version": 99, "active": false,
      "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 2101}], "rollout_percentage": 100}]}}',
   4, true, false),
  (2201, 2001, 'sha1-rollout', '{"bucketing": "sha1", "filters": {"groups": [{"rollout_percentage": 30}]}}', 1, true, false),
  (2202, 2001, 'paused', '{"filters": {"groups": [{"rollout_percentage": 100}]}}', 2, false, false),
  (2204, 2001, 'gone', '{"filters": {"groups": [{"rollout_percentage": 100}]}}', 1, true, true),
  (2205, 2001, 'experiment', '{"ensure_experience_continuity": true, "filters": {
      "groups": [{"properties": [{"key": "id", "type": "cohort", "value": 2102, "operator": "not_in"}], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]},
      "payloads": {"test": "{\"color\": \"blue\"}"}}}', 1, true, false);

-- Live flags in stored order (by id), each with its bucketing (the team's default when it names
-- none); the paused flag as active: false; the deleted flag left out; dynamic cohorts only.
SELECT jsonb_pretty(definitions('phc_definitions'));

-- What decide()'s cache loads is the same, plus the ids of the static cohorts.
SELECT _team_document(2001) - 'static_cohort_ids' = definitions('phc_definitions') AS feed_is_the_document,
       _team_document(2001) -> 'static_cohort_ids' AS static_cohort_ids;

-- A team without flags, cohorts or groups.
SELECT definitions('phc_definitions_empty');
SELECT _team_document(2002);
-- No team, no document.
SELECT _team_document(-1);

-- An SDK evaluating the feed locally answers as decide() does, for a person decide() knows only
-- from the request (experiment needs the static cohort, which the feed does not carry: the SDK
-- must ask the server for it).
SELECT u.distinct_id, u.props ->> 'plan' AS plan, f.key,
       (f.value ->> 'enabled')::boolean AS local_enabled, f.value ->> 'variant' AS local_variant,
       (d.value ->> 'enabled')::boolean AS decide_enabled, d.value ->> 'variant' AS decide_variant,
       f.value ->> 'failed' AS local_failed
FROM (SELECT 'user-' || i AS distinct_id, jsonb_build_object('plan', (ARRAY['pro', 'free'])[1 + i % 2]) AS props
      FROM generate_series(1, 4) i) u
CROSS JOIN LATERAL jsonb_each(flag_evaluate_all(definitions('phc_definitions'),
                                                jsonb_build_object('distinct_id', u.distinct_id,
                                                                   'person_properties', u.props)) -> 'flags') f
LEFT JOIN LATERAL json_each(decide('phc_definitions', u.distinct_id, u.props) -> 'flags') d ON d.key = f.key
WHERE u.distinct_id IN ('user-1', 'user-2')
ORDER BY u.distinct_id, f.key;
SELECT count(*) AS persons,
       count(*) FILTER (WHERE local = remote) AS same_answer
FROM (SELECT 'user-' || i AS distinct_id, jsonb_build_object('plan', (ARRAY['pro', 'free'])[1 + i % 2]) AS props
      FROM generate_series(1, 200) i) u
CROSS JOIN LATERAL (
  SELECT (SELECT jsonb_object_agg(key, value -> 'enabled') FILTER (WHERE key <> 'experiment')
          FROM jsonb_each(flag_evaluate_all(definitions('phc_definitions'),
                                            jsonb_build_object('distinct_id', u.distinct_id, 'person_properties', u.props)) -> 'flags')) AS local,
         (SELECT jsonb_object_agg(key, value -> 'enabled') FILTER (WHERE key <> 'experiment')
          FROM json_each(decide('phc_definitions', u.distinct_id, u.props) -> 'flags')) AS remote) x;

-- An unknown token is SQLSTATE 28000.
DO $$
BEGIN
  PERFORM flag_eval.definitions('phc_no_such_team');
EXCEPTION WHEN invalid_authorization_specification THEN
  RAISE NOTICE 'definitions(''phc_no_such_team''): SQLSTATE % (%)', SQLSTATE, SQLERRM;
END
$$;

DELETE FROM teams WHERE id IN (2001, 2002);
