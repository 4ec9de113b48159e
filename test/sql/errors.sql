-- Bad input raises SQLSTATE 22023 with a message naming the JSON path (docs/reference.md, SQL
-- interface); flag_validate reports problems instead of raising; nothing crashes the backend.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Definitions that cannot be compiled.
SELECT flag_eval('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": "fifty"}]}}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 150}]}}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "filters": {"groups": [{"properties": [{"key": "p", "type": "person", "operator": "resembles", "value": "x"}]}]}}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "filters": {"groups": {"properties": []}}}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"filters": {"groups": []}}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('[1, 2]', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('"a flag"', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "bucketing": "md5", "filters": {"groups": []}}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_variant('{"key": "f", "filters": {"groups": [{"properties": [{"key": "p", "type": "person", "operator": "gt", "value": {"n": 1}}]}]}}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f", "filters": {"multivariate": {"variants": [{"key": 5, "rollout_percentage": 100}]}}}', '{"distinct_id": "u"}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate_all('[{"key": "ok", "filters": {"groups": []}}, {"key": "bad", "filters": {"groups": [{"rollout_percentage": true}]}}]', '{"distinct_id": "u"}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate_all('{"flags": {"key": "f"}}', '{"distinct_id": "u"}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate_all('{"flags": [], "group_type_mapping": {"9": "organization"}}', '{"distinct_id": "u"}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate_all('42', '{"distinct_id": "u"}');
\echo :LAST_ERROR_SQLSTATE

-- Contexts and properties of the wrong shape.
SELECT flag_evaluate('{"key": "f", "filters": {"groups": []}}', '{"distinct_id": "u", "person_properties": ["plan"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f", "filters": {"groups": []}}', '{"distinct_id": 17}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f", "filters": {"groups": []}}', '{"distinct_id": "u", "groups": {"organization": {"id": 1}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f", "filters": {"groups": []}}', '{"distinct_id": "u", "groups": {"organization": 4.5}}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f", "filters": {"groups": []}}', '{"distinct_id": "u", "groups": {"organization": "o"}, "group_properties": {"organization": "gold"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f", "filters": {"groups": []}}', '{"distinct_id": "u", "group_type_mapping": {"first": "organization"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate_all('[]', '{"distinct_id": "u", "group_type_mapping": {"0": 7}}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f", "filters": {"groups": []}}', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "filters": {"groups": []}}', 'u', '["plan", "pro"]');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "filters": {"groups": []}}', 'u', '"pro"');
\echo :LAST_ERROR_SQLSTATE

-- An unknown bucketing name.
SELECT flag_bucket('f', 'u', '', 'md5');
\echo :LAST_ERROR_SQLSTATE

-- A valid flag still works after the errors above.
SELECT flag_eval('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}', 'u') AS still_works;

-- STRICT: a NULL argument gives NULL.
SELECT flag_eval(NULL, 'u') IS NULL AS null_flag,
       flag_eval('{"key": "f"}', NULL) IS NULL AS null_id,
       flag_eval('{"key": "f"}', 'u', NULL) IS NULL AS null_properties,
       flag_evaluate(NULL, '{}') IS NULL AS null_evaluate,
       flag_bucket('f', NULL) IS NULL AS null_bucket,
       flag_validate(NULL) IS NULL AS null_validate;

-- flag_validate: structural problems (severity "invalid") and semantic ones ("warning"),
-- each located by JSON path; [] when the flag is valid.
SELECT flag_validate('{"key": "ok", "filters": {"groups": [{"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "pro"}], "rollout_percentage": 50}],
                       "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}}') AS valid;
SELECT jsonb_pretty(flag_validate('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": "fifty"}]}}'));
SELECT jsonb_pretty(flag_validate('{"key": "f", "filters": {"groups": [{"properties": [{"key": "p", "type": "person", "operator": "resembles", "value": "x"}]}]}}'));
SELECT jsonb_pretty(flag_validate('{"key": "f", "filters": {"groups": {"properties": []}}}'));
SELECT jsonb_pretty(flag_validate('{"filters": {}}'));
SELECT jsonb_pretty(flag_validate('[]'));
SELECT jsonb_pretty(flag_validate('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
                      "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 30}]}}}'));
SELECT jsonb_pretty(flag_validate('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 100, "variant": "c"}],
                      "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}}'));
SELECT jsonb_pretty(flag_validate('{"key": "f", "filters": {"groups": [{"properties": [{"key": "email", "type": "person", "operator": "regex", "value": "(unclosed"}]}]}}'));

-- A dependency cycle fails the flags on it only (flag_evaluate_all), not the others, and sets
-- errorsWhileComputingFlags.
SELECT jsonb_pretty(flag_evaluate_all('[
  {"key": "a", "filters": {"groups": [{"properties": [{"key": "b", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}},
  {"key": "b", "filters": {"groups": [{"properties": [{"key": "a", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}},
  {"key": "c", "filters": {"groups": [{"properties": [{"key": "a", "type": "flag", "operator": "flag_evaluates_to", "value": false}]}]}},
  {"key": "independent", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}
]', '{"distinct_id": "u"}'));

-- A cohort the definitions do not carry cannot be evaluated by a pure function: flag_evaluate
-- marks the result failed, flag_eval raises rather than answering false.
SELECT flag_evaluate('{"key": "cohort-flag", "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 99}]}]}}',
                     '{"distinct_id": "u"}');
SELECT flag_eval('{"key": "cohort-flag", "filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": 99}]}]}}', 'u');
\echo :LAST_ERROR_SQLSTATE
