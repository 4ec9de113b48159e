-- flag_eval.decide(): every active flag of a team for one subject, with the stored person, group,
-- cohort and experience-continuity data (docs/reference.md, SQL interface). Ids are explicit
-- (1000s) so that no output depends on what other tests inserted; rollouts are 0 % or 100 %
-- except where the bucket values are shown.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

INSERT INTO teams (id, name, api_token, secret_token) VALUES
  (1001, 'decide', 'phc_decide', 'phs_decide'),
  (1002, 'another team', 'phc_decide_other', 'phs_decide_other');
INSERT INTO group_type_mappings VALUES (1001, 0, 'organization'), (1001, 1, 'project');

-- user-1 (also known as user-1-alias) is a French pro; user-2 is on the free plan.
CREATE TEMP TABLE person_ids (label text PRIMARY KEY, id bigint);
WITH p AS (INSERT INTO persons (team_id, properties)
           VALUES (1001, '{"plan": "pro", "country": "FR", "seats": 3}') RETURNING id)
INSERT INTO person_ids SELECT 'user-1', id FROM p;
WITH p AS (INSERT INTO persons (team_id, properties) VALUES (1001, '{"plan": "free", "country": "DE"}') RETURNING id)
INSERT INTO person_ids SELECT 'user-2', id FROM p;
-- the other team has a user-1 too, with other properties
WITH p AS (INSERT INTO persons (team_id, properties) VALUES (1002, '{"plan": "enterprise"}') RETURNING id)
INSERT INTO person_ids SELECT 'other-user-1', id FROM p;
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id)
SELECT 1001, 'user-1', id FROM person_ids WHERE label = 'user-1' UNION ALL
SELECT 1001, 'user-1-alias', id FROM person_ids WHERE label = 'user-1' UNION ALL
SELECT 1001, 'user-2', id FROM person_ids WHERE label = 'user-2' UNION ALL
SELECT 1002, 'user-1', id FROM person_ids WHERE label = 'other-user-1';

INSERT INTO groups (team_id, group_type_index, group_key, properties) VALUES
  (1001, 0, 'org-1', '{"tier": "gold", "seats": 50}'),
  (1001, 0, '42', '{"tier": "silver", "seats": 5}');

-- 1101: pros (dynamic); 1102: beta testers (static: user-2); 1103: beta testers or French (a
-- dynamic cohort that refers to the static one).
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (1101, 1001, 'pros', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}]}]}');
INSERT INTO cohorts (id, team_id, name, is_static) VALUES (1102, 1001, 'beta testers', true);
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (1103, 1001, 'beta testers or French', '{"type": "OR", "values": [
      {"type": "AND", "values": [{"key": "id", "type": "cohort", "value": 1102}]},
      {"type": "AND", "values": [{"key": "country", "type": "person", "operator": "exact", "value": "FR"}]}]}');
INSERT INTO cohort_members (cohort_id, person_id) SELECT 1102, id FROM person_ids WHERE label = 'user-2';

INSERT INTO flags (id, team_id, key, definition, active, deleted) VALUES
  (1201, 1001, 'pro-plan', '{"filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 100}],
      "payloads": {"true": "{\"banner\": \"pro\"}"}}}', true, false),
  (1202, 1001, 'french', '{"filters": {"groups": [{"properties": [
      {"key": "country", "type": "person", "operator": "exact", "value": "FR"}], "rollout_percentage": 100}]}}', true, false),
  (1203, 1001, 'gold-orgs', '{"filters": {"aggregation_group_type_index": 0, "groups": [{"properties": [
      {"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}], "rollout_percentage": 100}]}}', true, false),
  (1204, 1001, 'big-orgs', '{"filters": {"aggregation_group_type_index": 0, "groups": [{"properties": [
      {"key": "seats", "type": "group", "group_type_index": 0, "operator": "gt", "value": 10}], "rollout_percentage": 100}]}}', true, false),
  (1205, 1001, 'in-pros', '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "value": 1101}], "rollout_percentage": 100}]}}', true, false),
  (1206, 1001, 'in-beta', '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "value": 1102}], "rollout_percentage": 100}]}}', true, false),
  (1207, 1001, 'not-in-beta', '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "operator": "not_in", "value": 1102}], "rollout_percentage": 100}]}}', true, false),
  (1208, 1001, 'beta-or-french', '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "value": 1103}], "rollout_percentage": 100}]}}', true, false),
  (1209, 1001, 'layout', '{"filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "compact", "rollout_percentage": 100}, {"key": "wide", "rollout_percentage": 0}]},
      "payloads": {"compact": "{\"columns\": 1}"}}}', true, false),
  (1210, 1001, 'pro-and-french', '{"filters": {"groups": [{"properties": [
      {"key": "pro-plan", "type": "flag", "operator": "flag_evaluates_to", "value": true},
      {"key": "french", "type": "flag", "operator": "flag_evaluates_to", "value": true}], "rollout_percentage": 100}]}}', true, false),
  (1211, 1001, 'continuity', '{"ensure_experience_continuity": true,
      "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}}', true, false),
  (1212, 1001, 'switched-off', '{"filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}', false, false),
  (1213, 1001, 'removed', '{"filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}', true, true),
  (1214, 1002, 'pro-plan', '{"filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "enterprise"}], "rollout_percentage": 100}]}}', true, false);

-- One row per flag of a decide() body.
CREATE FUNCTION pg_temp.flags_of(body json)
RETURNS TABLE (key text, enabled boolean, variant text, reason text, condition_index int, payload text, failed boolean)
LANGUAGE sql AS $$
  SELECT f.key, (f.value ->> 'enabled')::boolean, f.value ->> 'variant', f.value -> 'reason' ->> 'code',
         (f.value -> 'reason' ->> 'condition_index')::int, f.value -> 'metadata' ->> 'payload',
         (f.value ->> 'failed')::boolean
  FROM json_each(body -> 'flags') AS f
  ORDER BY f.key
$$;

-- The /flags?v=2 body: flags by key with reason and metadata{id, version, description, payload, has_experiment}, and
-- errorsWhileComputingFlags.
SELECT jsonb_pretty(decide('phc_decide', 'user-1', flag_keys => ARRAY['pro-plan', 'layout'])::jsonb);
-- It is json: the text as it is sent, in the key order and spacing jsonb prints, so that casting
-- it to jsonb and back gives the same text.
SELECT pg_typeof(decide('phc_decide', 'user-1')),
       decide('phc_decide', 'user-1')::text = decide('phc_decide', 'user-1')::jsonb::text AS as_jsonb_prints_it;

-- user-1 from the stored properties alone: pro, French, in the dynamic cohorts, not in the static
-- one. switched-off (inactive) and removed (deleted) are omitted; the group flags have no group.
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1'));
-- Any of the person's distinct ids finds the same person.
SELECT decide('phc_decide', 'user-1-alias')::text = decide('phc_decide', 'user-1')::text AS same_answer;

-- Stored properties are merged under the request's: the request's plan wins, the stored country
-- stays (pro-plan, in-pros and pro-and-french turn off; french stays on).
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1', person_properties => '{"plan": "free"}'))
WHERE key IN ('pro-plan', 'french', 'in-pros', 'pro-and-french');

-- user-2 is a member of the static cohort 1102, and so of the dynamic cohort 1103 through it.
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-2'))
WHERE key IN ('in-pros', 'in-beta', 'not-in-beta', 'beta-or-french');

-- A person who is not stored: the request's properties only, no static cohort.
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'nobody', person_properties => '{"plan": "pro"}'))
WHERE key IN ('pro-plan', 'french', 'in-pros', 'in-beta', 'not-in-beta', 'beta-or-french');

-- The same distinct id in another team is another person, with that team's flags.
SELECT * FROM pg_temp.flags_of(decide('phc_decide_other', 'user-1'));

-- ---- groups ----
-- Stored group properties: org-1 is gold with 50 seats.
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1', groups => '{"organization": "org-1"}'))
WHERE key IN ('gold-orgs', 'big-orgs');
-- merged under the request's group properties: the request's tier wins, the stored seats stay
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1', groups => '{"organization": "org-1"}',
                                      group_properties => '{"organization": {"tier": "silver"}}'))
WHERE key IN ('gold-orgs', 'big-orgs');
-- an integer group key finds the group stored under its decimal string (silver, 5 seats)
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1', groups => '{"organization": 42}'))
WHERE key IN ('gold-orgs', 'big-orgs');
-- a group that is not stored: the request's group properties only
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1', groups => '{"organization": "org-new"}',
                                      group_properties => '{"organization": {"tier": "gold", "seats": 11}}'))
WHERE key IN ('gold-orgs', 'big-orgs');
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1', groups => '{"organization": "org-new"}'))
WHERE key IN ('gold-orgs', 'big-orgs');
-- group properties for a group type the request does not name are not read
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1', group_properties => '{"organization": "gold"}'))
WHERE key IN ('gold-orgs', 'big-orgs');

-- ---- flag_keys ----
-- Only the flags asked for; an inactive, deleted or unknown key gives nothing.
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1',
                                      flag_keys => ARRAY['french', 'switched-off', 'removed', 'no-such-flag']));
SELECT decide('phc_decide', 'user-1', flag_keys => ARRAY[]::text[]);

-- ---- experience continuity ----
-- continuity rolls out to 50 %: user-1 and anon-1 are in, user-2 and anon-3 are out.
SELECT id, flag_bucket('continuity', id) <= 0.5 AS in_rollout
FROM unnest(ARRAY['user-1', 'user-2', 'anon-1', 'anon-3']) AS id;
-- A stored override decides: user-1 bucketed as anon-3 is out.
SELECT decide('phc_decide', 'user-1') #> '{flags,continuity,enabled}' AS before_override;
INSERT INTO hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
SELECT 1001, id, 'continuity', 'anon-3' FROM person_ids WHERE label = 'user-1';
SELECT decide('phc_decide', 'user-1') #> '{flags,continuity,enabled}' AS with_override;
-- Only a flag with ensure_experience_continuity reads it.
UPDATE flags SET definition = definition || '{"ensure_experience_continuity": false}' WHERE id = 1211;
SELECT decide('phc_decide', 'user-1') #> '{flags,continuity,enabled}' AS continuity_off;
UPDATE flags SET definition = definition || '{"ensure_experience_continuity": true}' WHERE id = 1211;

-- user-2 logs in after browsing as anon-1. Until an override is recorded, a request that carries
-- anon_distinct_id is bucketed with it, as it will be once recorded.
SELECT decide('phc_decide', 'user-2') #> '{flags,continuity,enabled}' AS own_id,
       decide('phc_decide', 'user-2', anon_distinct_id => 'anon-1') #> '{flags,continuity,enabled}' AS with_anon_id;
-- The write (on the primary) records anon-1 for each continuity flag user-2 has no override for.
SELECT record_hash_key_overrides('phc_decide', 'user-2', 'anon-1') AS written;
-- The first write wins: a later anonymous id records nothing and changes nothing.
SELECT record_hash_key_overrides('phc_decide', 'user-2', 'anon-3') AS written;
SELECT p.label, h.feature_flag_key, h.hash_key
FROM hash_key_overrides h JOIN person_ids p ON p.id = h.person_id
WHERE h.team_id = 1001 ORDER BY 1, 2;
SELECT decide('phc_decide', 'user-2') #> '{flags,continuity,enabled}' AS own_id,
       decide('phc_decide', 'user-2', anon_distinct_id => 'anon-3') #> '{flags,continuity,enabled}' AS with_other_anon_id;
-- When the anonymous id is a stored person, its overrides count too (distinct_id's win) ...
WITH p AS (INSERT INTO persons (team_id) VALUES (1001) RETURNING id)
INSERT INTO person_distinct_ids (team_id, distinct_id, person_id) SELECT 1001, 'anon-6', id FROM p;
INSERT INTO person_ids SELECT 'anon-6', person_id FROM person_distinct_ids WHERE team_id = 1001 AND distinct_id = 'anon-6';
INSERT INTO hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
SELECT 1001, id, 'continuity', 'anon-3' FROM person_ids WHERE label = 'anon-6';
SELECT decide('phc_decide', 'nobody', anon_distinct_id => 'anon-6') #> '{flags,continuity,enabled}' AS anon_persons_override,
       decide('phc_decide', 'user-2', anon_distinct_id => 'anon-6') #> '{flags,continuity,enabled}' AS own_override_wins;
-- ... and the write goes to both persons, for the continuity flags neither has an override for
-- (not for group flags, which bucket by group key, nor for inactive flags).
INSERT INTO flags (id, team_id, key, definition, active) VALUES
  (1217, 1001, 'continuity-2', '{"ensure_experience_continuity": true, "filters": {"groups": [{"rollout_percentage": 50}]}}', true),
  (1218, 1001, 'continuity-org', '{"ensure_experience_continuity": true, "filters": {"aggregation_group_type_index": 0,
      "groups": [{"rollout_percentage": 50}]}}', true),
  (1219, 1001, 'continuity-off', '{"ensure_experience_continuity": true, "filters": {"groups": [{"rollout_percentage": 50}]}}', false);
SELECT record_hash_key_overrides('phc_decide', 'user-2', 'anon-6') AS written;
SELECT p.label, h.feature_flag_key, h.hash_key
FROM hash_key_overrides h JOIN person_ids p ON p.id = h.person_id
WHERE h.team_id = 1001 ORDER BY 1, 2;
-- A person that is not stored gets no override: nothing is written and its own id buckets it.
SELECT record_hash_key_overrides('phc_decide', 'nobody', 'anon-3') AS written;
SELECT decide('phc_decide', 'nobody', anon_distinct_id => 'anon-3') #> '{flags,continuity,enabled}' AS nobody;
-- No anonymous id, nothing to record.
SELECT record_hash_key_overrides('phc_decide', 'user-1', NULL) AS written;

-- ---- the cache follows the tables, in the same session ----
UPDATE flags SET definition = jsonb_set(definition, '{filters,groups,0,rollout_percentage}', '0') WHERE id = 1202;
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1')) WHERE key IN ('french', 'pro-and-french');
UPDATE flags SET deleted = true WHERE id = 1202;
-- a dependency that no longer exists
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1')) WHERE key IN ('french', 'pro-and-french');
UPDATE cohorts SET filters = '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "free"}]}]}' WHERE id = 1101;
SELECT decide('phc_decide', 'user-1') #> '{flags,in-pros,enabled}' AS in_pros;
UPDATE group_type_mappings SET group_type = 'company' WHERE team_id = 1001 AND group_type_index = 0;
SELECT decide('phc_decide', 'user-1', groups => '{"company": "org-1"}') #> '{flags,gold-orgs,enabled}' AS gold_company;
INSERT INTO flags (id, team_id, key, definition) VALUES
  (1215, 1001, 'brand-new', '{"filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}');
SELECT decide('phc_decide', 'user-1') #> '{flags,brand-new,enabled}' AS brand_new;

-- A change rolled back is forgotten: the session's next call sees the stored flag again.
BEGIN;
UPDATE flags SET active = false WHERE id = 1215;
SELECT decide('phc_decide', 'user-1')::jsonb -> 'flags' ? 'brand-new' AS in_the_transaction;
ROLLBACK;
SELECT decide('phc_decide', 'user-1')::jsonb -> 'flags' ? 'brand-new' AS after_rollback;

-- A stored flag that cannot be computed (a cohort of another team) is failed, and said so.
INSERT INTO cohorts (id, team_id, name, filters) VALUES
  (1104, 1002, 'the other team''s cohort', '{"type": "OR", "values": []}');
INSERT INTO flags (id, team_id, key, definition) VALUES
  (1216, 1001, 'foreign-cohort', '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "value": 1104}], "rollout_percentage": 100}]}}');
SELECT * FROM pg_temp.flags_of(decide('phc_decide', 'user-1', flag_keys => ARRAY['foreign-cohort', 'brand-new']));
SELECT decide('phc_decide', 'user-1', flag_keys => ARRAY['foreign-cohort']) -> 'errorsWhileComputingFlags' AS errors,
       decide('phc_decide', 'user-1', flag_keys => ARRAY['brand-new']) -> 'errorsWhileComputingFlags' AS errors_without_it;
SELECT decide('phc_decide', 'user-1') #> '{flags,foreign-cohort,reason,description}' AS why;

-- ---- errors ----
-- SQLSTATE and message of a statement's error.
CREATE FUNCTION pg_temp.error_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- An unknown token is SQLSTATE 28000 (invalid_authorization_specification): a service answers
-- 401. The message does not repeat the token (it may be a secret pasted by mistake).
\set SHOW_CONTEXT never
SELECT decide('phc_no_such_team', 'user-1');
\set SHOW_CONTEXT errors
SELECT pg_temp.error_of($$SELECT flag_eval.decide('phc_no_such_team', 'user-1')$$) AS unknown_token,
       pg_temp.error_of($$SELECT flag_eval.decide('phs_decide', 'user-1')$$) AS secret_token,
       pg_temp.error_of($$SELECT flag_eval.decide(NULL, 'user-1')$$) AS null_token,
       pg_temp.error_of($$SELECT flag_eval.record_hash_key_overrides('phc_no_such_team', 'user-1', 'anon-1')$$) AS record;
-- Bad subject input is SQLSTATE 22023.
SELECT s AS statement, pg_temp.error_of(s) AS error
FROM unnest(ARRAY[
  $$SELECT flag_eval.decide('phc_decide', NULL)$$,
  $$SELECT flag_eval.decide('phc_decide', 'user-1', person_properties => '["plan"]')$$,
  $$SELECT flag_eval.decide('phc_decide', 'user-1', groups => '"org-1"')$$,
  $$SELECT flag_eval.decide('phc_decide', 'user-1', group_properties => '[]')$$,
  $$SELECT flag_eval.decide('phc_decide', 'user-1', groups => '{"company": ["org-1"]}')$$,
  $$SELECT flag_eval.decide('phc_decide', 'user-1', groups => '{"company": "org-1"}', group_properties => '{"company": "gold"}')$$
]) AS s;
-- NULL for a JSON argument means none.
SELECT decide('phc_decide', 'user-1', NULL, NULL, NULL, NULL, ARRAY['brand-new'])::jsonb -> 'flags' ? 'brand-new' AS answered;

-- Strings are escaped as jsonb prints them: quotes, backslashes, control characters; UTF-8 as it is.
INSERT INTO teams (id, name, api_token, secret_token) VALUES (1003, 'escapes', 'phc_decide_escapes', 'phs_decide_escapes');
INSERT INTO flags (id, team_id, key, definition) VALUES
  (1220, 1003, 'a "quoted" key\with a backslash, é', '{"filters": {"groups": [{"rollout_percentage": 100}],
      "payloads": {"true": "{\"text\": \"tab\\t\"} \\ \u0001\u001f\b\f\r\t\n é 😀"}}}');
SELECT decide('phc_decide_escapes', 'user-1');
SELECT decide('phc_decide_escapes', 'user-1')::text = decide('phc_decide_escapes', 'user-1')::jsonb::text AS as_jsonb_prints_it,
       decide('phc_decide_escapes', 'user-1') -> 'flags' -> 'a "quoted" key\with a backslash, é' -> 'metadata' ->> 'payload'
         = E'{"text": "tab\\t"} \\ \u0001\u001f\b\f\r\t\n é 😀' AS payload_round_trips;

-- A role without SELECT on the tables is refused, as a query over them would be.
CREATE ROLE flag_eval_decide_reader;
GRANT USAGE ON SCHEMA flag_eval TO flag_eval_decide_reader;
SET ROLE flag_eval_decide_reader;
SELECT pg_temp.error_of($$SELECT flag_eval.decide('phc_decide', 'user-1')$$) AS without_select;
RESET ROLE;
GRANT SELECT ON ALL TABLES IN SCHEMA flag_eval TO flag_eval_decide_reader;
SET ROLE flag_eval_decide_reader;
SELECT decide('phc_decide', 'user-1') #> '{flags,brand-new,enabled}' AS with_select;
RESET ROLE;
DROP OWNED BY flag_eval_decide_reader;
DROP ROLE flag_eval_decide_reader;

-- decide_outcomes(): decide()'s evaluation for the decide service, one line per flag: key, version,
-- state, reason code, condition index, variant (\N: none), description; the same outcome as
-- decide() for every flag and subject.
CREATE FUNCTION pg_temp.outcome_fields(token text, distinct_id text, groups jsonb DEFAULT '{}')
RETURNS TABLE (key text, version text, state text, reason text, condition_index text, variant text, description text)
LANGUAGE sql AS $$
  SELECT f[1], f[2], f[3], f[4], f[5], f[6], f[7]
    FROM unnest(string_to_array(rtrim(flag_eval.decide_outcomes(token, distinct_id, groups => groups), E'\n'), E'\n')) AS l,
         LATERAL string_to_array(l, E'\t') AS f
$$;
SELECT * FROM pg_temp.outcome_fields('phc_decide', 'user-1');
SELECT s.distinct_id, count(*) AS flags,
       count(*) FILTER (WHERE o.key IS NULL OR d.key IS NULL
         OR o.state <> CASE WHEN (d.answer ->> 'failed')::boolean THEN 'e'
                            WHEN (d.answer ->> 'enabled')::boolean THEN 't' ELSE 'f' END
         OR o.version <> d.answer #>> '{metadata,version}'
         OR o.reason <> d.answer #>> '{reason,code}'
         OR o.condition_index <> coalesce(d.answer #>> '{reason,condition_index}', '')
         OR o.variant <> coalesce(d.answer ->> 'variant', '\N')) AS differing
FROM unnest(ARRAY['user-1', 'user-2', 'user-3', 'nobody']) AS s(distinct_id),
     LATERAL (SELECT k AS key, a AS answer
                FROM jsonb_each(decide('phc_decide', s.distinct_id, groups => '{"company": "org-1"}')::jsonb -> 'flags') AS e(k, a)) AS d
     FULL JOIN LATERAL pg_temp.outcome_fields('phc_decide', s.distinct_id, '{"company": "org-1"}') AS o USING (key)
GROUP BY s.distinct_id ORDER BY s.distinct_id;
-- Tabs, newlines and backslashes in keys and variants are escaped; errors are decide()'s.
SELECT decide_outcomes('phc_decide_escapes', 'user-1');
SELECT pg_temp.error_of($$SELECT flag_eval.decide_outcomes('phc_no_such_team', 'user-1')$$) AS unknown_token,
       pg_temp.error_of($$SELECT flag_eval.decide_outcomes('phc_decide', NULL)$$) AS null_subject;

-- A rotated token: the backend remembers the team of each token it saw and forgets it when the
-- teams table changes, so the old token is refused at once and the new one answers.
SELECT decide('phc_decide_escapes', 'user-1') IS NOT NULL AS before_rotation;
UPDATE teams SET api_token = 'phc_decide_rotated' WHERE id = 1003;
SELECT pg_temp.error_of($$SELECT flag_eval.decide('phc_decide_escapes', 'user-1')$$) AS old_token,
       pg_temp.error_of($$SELECT flag_eval.decide_outcomes('phc_decide_escapes', 'user-1')$$) AS old_token_outcomes,
       decide('phc_decide_rotated', 'user-1') IS NOT NULL AS new_token;

DELETE FROM teams WHERE id IN (1001, 1002, 1003);
