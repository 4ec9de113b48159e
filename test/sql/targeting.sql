-- PostHog's 2026 targeting rules in SQL (docs/reference.md, Evaluation and Bucketing): mixed user
-- and group targeting, device bucketing and the team's property matching version, through the
-- pure functions, decide() and definitions(). Ids are explicit (4000s) where they are shown.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

-- ---- mixed targeting: a condition set of its own aggregation ----
-- Set 0 targets gold organizations by organization, set 1 corp employees by person; 50 % each.
CREATE TEMP TABLE mixed AS SELECT '{"flags": [{"key": "mixed", "filters": {
    "aggregation_group_type_index": null,
    "groups": [
      {"aggregation_group_type_index": 0, "rollout_percentage": 50, "properties": [
        {"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}]},
      {"aggregation_group_type_index": null, "rollout_percentage": 50, "properties": [
        {"key": "email", "type": "person", "operator": "icontains", "value": "@corp.com"}]}]}}],
  "group_type_mapping": {"0": "organization"}}'::jsonb AS d;

-- A gold organization's members all get the organization's answer: bucketed by its key.
SELECT org, count(DISTINCT (flag_evaluate_all(d, jsonb_build_object(
           'distinct_id', 'user-' || u, 'groups', jsonb_build_object('organization', org),
           'group_properties', jsonb_build_object('organization', '{"tier": "gold"}'::jsonb)))
         #>> '{flags,mixed,enabled}')) AS answers_among_members,
       bool_and((flag_evaluate_all(d, jsonb_build_object(
           'distinct_id', 'user-' || u, 'groups', jsonb_build_object('organization', org),
           'group_properties', jsonb_build_object('organization', '{"tier": "gold"}'::jsonb)))
         #>> '{flags,mixed,enabled}')::boolean = (flag_bucket('mixed', org, '', 'xxh3') <= 0.5)) AS bucketed_by_org_key
FROM mixed, generate_series(1, 20) u, unnest(ARRAY['org-1', 'org-2', 'org-3', 'org-4']) org
GROUP BY org ORDER BY org;

-- Without the organization, the group set is skipped and the person set still decides.
SELECT flag_evaluate_all(d, '{"distinct_id": "user-1", "person_properties": {"email": "a@home.org"}}')
         -> 'flags' -> 'mixed' -> 'reason' AS reason_without_group,
       count(*) FILTER (WHERE (flag_evaluate_all(d, jsonb_build_object('distinct_id', 'user-' || u,
           'person_properties', '{"email": "a@corp.com"}'::jsonb)) #>> '{flags,mixed,enabled}')::boolean
           = (flag_bucket('mixed', 'user-' || u, '', 'xxh3') <= 0.5)) AS person_set_bucketed_by_distinct_id
FROM mixed, generate_series(1, 100) u GROUP BY d;

-- ---- device bucketing ----
CREATE TEMP TABLE device AS SELECT '{"key": "dev", "bucketing_identifier": "device_id",
  "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}}'::jsonb AS f;

-- The device id buckets, from the context's device_id, $device_id or the person property.
SELECT count(*) AS devices,
       count(*) FILTER (WHERE (flag_evaluate(f, jsonb_build_object('distinct_id', 'alice', 'device_id', 'dev-' || n)) ->> 'enabled')::boolean
                              = (flag_bucket('dev', 'dev-' || n, '', 'xxh3') <= 0.5)) AS bucketed_by_device_id,
       count(*) FILTER (WHERE flag_evaluate(f, jsonb_build_object('distinct_id', 'bob', '$device_id', 'dev-' || n))
                              = flag_evaluate(f, jsonb_build_object('distinct_id', 'alice', 'device_id', 'dev-' || n))) AS same_for_another_person,
       count(*) FILTER (WHERE flag_evaluate(f, jsonb_build_object('distinct_id', 'bob', 'person_properties', jsonb_build_object('$device_id', 'dev-' || n)))
                              = flag_evaluate(f, jsonb_build_object('distinct_id', 'alice', 'device_id', 'dev-' || n))) AS same_from_the_property
FROM device, generate_series(1, 100) n;

-- Without one, person sets do not match (no fallback to the distinct id), even at 100 %.
SELECT flag_evaluate('{"key": "dev", "bucketing_identifier": "device_id",
  "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}', '{"distinct_id": "alice"}');

-- A device id that is not a string is refused like any bad context.
SELECT flag_evaluate(f, '{"distinct_id": "alice", "device_id": 7}') FROM device;

-- ---- the tables: decide() with a device id, a team's property matching version ----
INSERT INTO teams (id, name, api_token, secret_token) VALUES
  (4001, 'targeting', 'phc_targeting', 'phs_targeting');
INSERT INTO group_type_mappings (team_id, group_type_index, group_type) VALUES (4001, 0, 'organization');
INSERT INTO groups (team_id, group_type_index, group_key, properties) VALUES
  (4001, 0, 'org-gold', '{"tier": "gold"}'), (4001, 0, 'org-silver', '{"tier": "silver"}');
WITH p AS (INSERT INTO persons (team_id, properties) VALUES (4001, '{"beta": "banana", "email": "x@corp.com"}') RETURNING id)
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id) SELECT 4001, 'user-1', id FROM p;
INSERT INTO flags (team_id, key, definition) VALUES
  (4001, 'dev', '{"bucketing_identifier": "device_id", "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}}'),
  (4001, 'beta-off', '{"filters": {"groups": [{"properties": [
      {"key": "beta", "type": "person", "operator": "exact", "value": false}]}]}}'),
  (4001, 'mixed', '{"filters": {"aggregation_group_type_index": null, "groups": [
      {"aggregation_group_type_index": 0, "properties": [
        {"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}]}]}}');

-- decide(): device_id buckets the device flag; the stored group properties decide the mixed one.
SELECT (decide('phc_targeting', 'user-1', device_id => 'dev-' || n) #>> '{flags,dev,enabled}')::boolean
         = (flag_bucket('dev', 'dev-' || n, '', 'xxh3') <= 0.5) AS device_bucketed, count(*)
FROM generate_series(1, 50) n GROUP BY 1;
SELECT decide('phc_targeting', 'user-1') -> 'flags' -> 'dev' -> 'reason' AS without_device_id;
SELECT org, decide('phc_targeting', 'user-1', groups => jsonb_build_object('organization', org))
              #>> '{flags,mixed,enabled}' AS mixed_enabled
FROM unnest(ARRAY['org-gold', 'org-silver']) org ORDER BY org;

-- Version 1 (the default): false matches the non-truthy "banana"; version 2 compares text.
SELECT property_matching_version, decide('phc_targeting', 'user-1') #>> '{flags,beta-off,enabled}' AS beta_off
FROM teams WHERE id = 4001;
UPDATE teams SET property_matching_version = 2 WHERE id = 4001;
SELECT property_matching_version, decide('phc_targeting', 'user-1') #>> '{flags,beta-off,enabled}' AS beta_off
FROM teams WHERE id = 4001;
-- The feed says it, and flag_evaluate_all over the feed honours it.
SELECT definitions('phc_targeting') -> 'property_matching_version' AS feed_version,
       flag_evaluate_all(definitions('phc_targeting'), '{"distinct_id": "u", "person_properties": {"beta": "banana"}}')
         #>> '{flags,beta-off,enabled}' AS beta_off_from_feed;
-- Only 1 and 2 exist.
\set VERBOSITY terse
UPDATE teams SET property_matching_version = 3 WHERE id = 4001;
\set VERBOSITY default

-- ---- answer metadata the SDKs read: a flag's description, and whether it has an experiment ----
INSERT INTO flags (team_id, key, definition) VALUES
  (4001, 'checkout-test', '{"description": "New checkout, A/B", "has_experiment": true,
                            "filters": {"groups": [{"properties": []}]}}');
SELECT key, answer -> 'metadata' -> 'description' AS description, answer -> 'metadata' -> 'has_experiment' AS has_experiment
FROM jsonb_each(decide('phc_targeting', 'user-1')::jsonb -> 'flags') AS f(key, answer)
WHERE key IN ('checkout-test', 'dev') ORDER BY key;
-- A description that is not a string is refused with the others.
INSERT INTO flags (team_id, key, definition) VALUES (4001, 'bad', '{"description": 5, "filters": {"groups": []}}');

-- ---- evaluation runtime and contexts: which flags a request is answered ----
INSERT INTO flags (team_id, key, definition) VALUES
  (4001, 'web-only', '{"evaluation_runtime": "client", "filters": {"groups": [{"properties": []}]}}'),
  (4001, 'backend-only', '{"evaluation_runtime": "server", "evaluation_contexts": ["billing"],
                           "filters": {"groups": [{"properties": []}]}}'),
  (4001, 'unless-web', '{"filters": {"groups": [{"properties": [
      {"key": "web-only", "type": "flag", "operator": "flag_evaluates_to", "value": false}]}]}}');
-- Without a runtime every flag is answered; a flag left out is absent and off for its dependents.
SELECT coalesce(runtime, 'NULL') AS runtime, coalesce(contexts::text, 'NULL') AS contexts,
       (SELECT string_agg(key || CASE WHEN (answer ->> 'enabled')::boolean THEN '' ELSE '(off)' END, ' ' ORDER BY key)
        FROM jsonb_each(decide('phc_targeting', 'user-1', evaluation_runtime => runtime, evaluation_contexts => contexts)::jsonb -> 'flags') AS f(key, answer)
        WHERE key IN ('web-only', 'backend-only', 'unless-web')) AS answered
FROM (VALUES (NULL, NULL), ('client', NULL), ('SERVER', NULL), ('unknown', NULL),
             ('server', ARRAY['billing']), ('server', ARRAY['checkout']), ('all', ARRAY['Billing'])) AS r(runtime, contexts);
-- The pure functions take the same fields in the context.
SELECT flag_evaluate_all(definitions('phc_targeting'),
         '{"distinct_id": "user-1", "evaluation_runtime": "server", "evaluation_contexts": ["billing"]}')
         -> 'flags' ?| ARRAY['web-only'] AS web_only_answered,
       flag_evaluate_all(definitions('phc_targeting'),
         '{"distinct_id": "user-1", "evaluation_runtime": "server", "evaluation_contexts": ["billing"]}')
         #>> '{flags,unless-web,enabled}' AS unless_web;
-- The feed carries the fields for SDKs to apply.
SELECT f -> 'key' AS key, f -> 'evaluation_runtime' AS runtime, f -> 'evaluation_contexts' AS contexts
FROM jsonb_array_elements(definitions('phc_targeting') -> 'flags') f
WHERE f ->> 'key' IN ('web-only', 'backend-only') ORDER BY 1;
-- Bad values are refused clearly.
\set VERBOSITY terse
SELECT decide('phc_targeting', 'user-1', evaluation_runtime => 'edge');
SELECT decide('phc_targeting', 'user-1', evaluation_contexts => ARRAY['web', NULL]);
SELECT flag_evaluate_all(definitions('phc_targeting'), '{"distinct_id": "u", "evaluation_contexts": [1]}');
INSERT INTO flags (team_id, key, definition) VALUES (4001, 'bad-contexts', '{"evaluation_contexts": "web", "filters": {"groups": []}}');
\set VERBOSITY default
