-- Every reason code, with its condition_index, through flag_evaluate (docs/reference.md, Flag format).
-- Rollouts are 0 % or 100 % here so that no result depends on a hash value.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

CREATE TEMP TABLE scenario (n serial, label text, flag jsonb, context jsonb);

INSERT INTO scenario (label, flag, context) VALUES
  ('condition_match, first set',
   '{"key": "two-sets", "filters": {"groups": [
      {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 100},
      {"properties": [], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1", "person_properties": {"plan": "pro"}}'),
  ('condition_match, second set',
   '{"key": "two-sets", "filters": {"groups": [
      {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 100},
      {"properties": [], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1", "person_properties": {"plan": "free"}}'),
  ('condition_match, null rollout is 100',
   '{"key": "null-rollout", "filters": {"groups": [{"properties": [], "rollout_percentage": null}]}}',
   '{"distinct_id": "user-1"}'),
  ('no_condition_match',
   '{"key": "pro-only", "filters": {"groups": [
      {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1", "person_properties": {"plan": "free"}}'),
  ('no_condition_match, no condition sets',
   '{"key": "no-sets", "filters": {"groups": []}}',
   '{"distinct_id": "user-1"}'),
  ('out_of_rollout_bound',
   '{"key": "pro-zero", "filters": {"groups": [
      {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 0}]}}',
   '{"distinct_id": "user-1", "person_properties": {"plan": "pro"}}'),
  ('out_of_rollout_bound, later set',
   '{"key": "staged", "filters": {"groups": [
      {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "enterprise"}], "rollout_percentage": 100},
      {"properties": [], "rollout_percentage": 0}]}}',
   '{"distinct_id": "user-1", "person_properties": {"plan": "free"}}'),
  ('rollout miss continues to the next set',
   '{"key": "continue", "filters": {"groups": [
      {"properties": [], "rollout_percentage": 0}, {"properties": [], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1"}'),
  ('rollout miss with early_exit stops',
   '{"key": "early-exit", "filters": {"early_exit": true, "groups": [
      {"properties": [], "rollout_percentage": 0}, {"properties": [], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1"}'),
  ('no_group_type',
   '{"key": "org-flag", "filters": {"aggregation_group_type_index": 0, "groups": [{"properties": [], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1", "group_type_mapping": {"0": "organization"}}'),
  ('group flag, group present',
   '{"key": "org-flag", "filters": {"aggregation_group_type_index": 0, "groups": [
      {"properties": [{"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1", "groups": {"organization": "org-1"}, "group_properties": {"organization": {"tier": "gold"}},
     "group_type_mapping": {"0": "organization"}}'),
  ('group flag, integer group key, property differs',
   '{"key": "org-flag", "filters": {"aggregation_group_type_index": 0, "groups": [
      {"properties": [{"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1", "groups": {"organization": 42}, "group_properties": {"organization": {"tier": "silver"}},
     "group_type_mapping": {"0": "organization"}}'),
  ('super_condition_value, enrolled',
   '{"key": "early-access", "filters": {
      "super_groups": [{"properties": [{"key": "$feature_enrollment/early-access", "type": "person", "operator": "exact", "value": ["true"]}], "rollout_percentage": 100}],
      "groups": [{"properties": [], "rollout_percentage": 0}]}}',
   '{"distinct_id": "user-1", "person_properties": {"$feature_enrollment/early-access": true}}'),
  ('super_condition_value, opted out',
   '{"key": "early-access", "filters": {
      "super_groups": [{"properties": [{"key": "$feature_enrollment/early-access", "type": "person", "operator": "exact", "value": ["true"]}], "rollout_percentage": 100}],
      "groups": [{"properties": [], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1", "person_properties": {"$feature_enrollment/early-access": false}}'),
  ('super condition not answered: condition sets decide',
   '{"key": "early-access", "filters": {
      "super_groups": [{"properties": [{"key": "$feature_enrollment/early-access", "type": "person", "operator": "exact", "value": ["true"]}], "rollout_percentage": 100}],
      "groups": [{"properties": [], "rollout_percentage": 0}]}}',
   '{"distinct_id": "user-1", "person_properties": {}}'),
  ('holdout_condition_value',
   '{"key": "experiment", "filters": {"holdout": {"id": 7, "exclusion_percentage": 100},
      "groups": [{"properties": [], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]}}}',
   '{"distinct_id": "user-1"}'),
  ('holdout of 0 %: nobody held out',
   '{"key": "experiment", "filters": {"holdout": {"id": 7, "exclusion_percentage": 0},
      "groups": [{"properties": [], "rollout_percentage": 100, "variant": "test"}],
      "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]}}}',
   '{"distinct_id": "user-1"}'),
  ('missing_dependency',
   '{"key": "dependent", "filters": {"groups": [
      {"properties": [{"key": "other-flag", "type": "flag", "operator": "flag_evaluates_to", "value": true}], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1"}'),
  ('flag_disabled, inactive',
   '{"key": "off", "active": false, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1"}'),
  ('flag_disabled, deleted',
   '{"key": "gone", "active": true, "deleted": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}',
   '{"distinct_id": "user-1"}'),
  ('variant override with its payload',
   '{"key": "layout", "filters": {"groups": [{"properties": [], "rollout_percentage": 100, "variant": "wide"}],
      "multivariate": {"variants": [{"key": "narrow", "rollout_percentage": 50}, {"key": "wide", "rollout_percentage": 50}]},
      "payloads": {"wide": "{\"columns\": 3}", "narrow": "{\"columns\": 1}"}}}',
   '{"distinct_id": "user-1"}'),
  ('boolean payload',
   '{"key": "banner", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
      "payloads": {"true": "\"hello\""}}}',
   '{"distinct_id": "user-1"}');

SELECT n, label,
       r -> 'reason' ->> 'code' AS code,
       r -> 'reason' -> 'condition_index' AS condition_index,
       r -> 'enabled' AS enabled,
       r -> 'variant' AS variant,
       r -> 'value' AS value,
       r -> 'payload' AS payload
FROM scenario, LATERAL flag_evaluate(flag, context) AS r
ORDER BY n;

-- The whole detail, with the reason's description.
SELECT jsonb_pretty(flag_evaluate(flag, context)) FROM scenario WHERE label IN ('variant override with its payload', 'missing_dependency');

-- A variant override that names no declared variant is ignored: the hash picks the variant,
-- the same one as without the override.
SELECT flag_evaluate(jsonb_set(f, '{filters,groups,0,variant}', '"nope"'), c) -> 'variant'
         = flag_evaluate(f, c) -> 'variant' AS override_ignored,
       flag_evaluate(f, c) -> 'variant' IN ('"a"', '"b"') AS declared_variant
FROM (VALUES ('{"key": "mv", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
                "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}}'::jsonb,
              '{"distinct_id": "user-1"}'::jsonb)) v(f, c);

-- flag_eval and flag_variant agree with flag_evaluate.
SELECT label,
       flag_eval(flag, context ->> 'distinct_id', coalesce(context -> 'person_properties', '{}')) AS flag_eval,
       flag_variant(flag, context ->> 'distinct_id', coalesce(context -> 'person_properties', '{}')) AS flag_variant
FROM scenario
WHERE context -> 'groups' IS NULL
ORDER BY n;

-- Dependencies resolve across flags in flag_evaluate_all (stored order is not evaluation order).
SELECT jsonb_pretty(flag_evaluate_all('[
  {"key": "child", "filters": {"groups": [{"properties": [{"key": "parent", "type": "flag", "operator": "flag_evaluates_to", "value": true}], "rollout_percentage": 100}]}},
  {"key": "variant-child", "filters": {"groups": [{"properties": [{"key": "mv-parent", "type": "flag", "operator": "flag_evaluates_to", "value": "b"}], "rollout_percentage": 100}]}},
  {"key": "parent", "filters": {"groups": [{"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 100}]}},
  {"key": "mv-parent", "filters": {"groups": [{"properties": [], "rollout_percentage": 100, "variant": "b"}],
     "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}},
  {"key": "retired", "active": false, "filters": {"groups": []}}
]', '{"distinct_id": "user-1", "person_properties": {"plan": "pro"}}'));

-- A feed document: its group_type_mapping is used, the context's fills the gaps. Index 0 is
-- "organization" (the definitions win over the context's "company"), index 1 "team" comes from
-- the context, index 2 is mapped by neither.
SELECT key, detail -> 'enabled' AS enabled, detail #>> '{reason,code}' AS code
FROM jsonb_each(flag_evaluate_all(
  '{"flags": [
     {"key": "org-flag", "filters": {"aggregation_group_type_index": 0, "groups": [
        {"properties": [{"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}], "rollout_percentage": 100}]}},
     {"key": "team-flag", "filters": {"aggregation_group_type_index": 1, "groups": [{"properties": [], "rollout_percentage": 100}]}},
     {"key": "project-flag", "filters": {"aggregation_group_type_index": 2, "groups": [{"properties": [], "rollout_percentage": 100}]}}],
    "group_type_mapping": {"0": "organization"}}',
  '{"distinct_id": "user-1", "groups": {"organization": "o1", "team": "t1", "company": "c1", "project": "p1"},
    "group_properties": {"organization": {"tier": "gold"}, "company": {"tier": "silver"}},
    "group_type_mapping": {"0": "company", "1": "team"}}') -> 'flags') AS f(key, detail)
ORDER BY key;

-- Cohorts from the feed document, evaluated in memory.
SELECT p AS person_properties,
       flag_evaluate_all(
  '{"flags": [{"key": "cohort-flag", "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 5}], "rollout_percentage": 100}]}}],
    "cohorts": {"5": {"type": "OR", "values": [{"type": "AND", "values": [
       {"key": "country", "type": "person", "operator": "exact", "value": ["FR", "DE"]},
       {"key": "plan", "type": "person", "operator": "is_not", "value": "free"}]}]}}}',
  jsonb_build_object('distinct_id', 'user-1', 'person_properties', p)) #> '{flags,cohort-flag,enabled}' AS enabled
FROM (VALUES ('{"country": "FR", "plan": "pro"}'::jsonb), ('{"country": "FR", "plan": "free"}'), ('{"country": "US"}')) v(p);
