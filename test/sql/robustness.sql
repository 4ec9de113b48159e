-- Huge, deep and wrong-typed input: every call returns or raises an error, none crashes the
-- backend (the postmaster start time is unchanged at the end, so no crash-restart happened).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;
\set SHOW_CONTEXT never

CREATE TEMP TABLE server_start AS SELECT pg_postmaster_start_time() AS started;

CREATE FUNCTION pg_temp.one_filter(op text, value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('key', 'robust', 'filters', jsonb_build_object('groups', jsonb_build_array(
    jsonb_build_object('properties', jsonb_build_array(
      jsonb_build_object('key', 'p', 'type', 'person', 'operator', op, 'value', value)))))) $$;

-- Nested objects {"a": {"a": ... 1}}.
CREATE FUNCTION pg_temp.deep(levels int) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$ SELECT (repeat('{"a": ', levels) || '1' || repeat('}', levels))::jsonb $$;

-- 10 MB strings: as a property (regex and substring over it), as a distinct id, as a key.
SELECT flag_eval(pg_temp.one_filter('regex', '"^x+needle$"'), 'u', jsonb_build_object('p', repeat('x', 10000000) || 'needle')) AS regex_10mb,
       flag_eval(pg_temp.one_filter('icontains', '"NEEDLE"'), 'u', jsonb_build_object('p', repeat('x', 10000000) || 'needle')) AS icontains_10mb,
       flag_eval(pg_temp.one_filter('exact', to_jsonb(repeat('y', 10000000))), 'u', jsonb_build_object('p', repeat('Y', 10000000))) AS exact_10mb,
       flag_eval('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}}', repeat('u', 10000000))
         = (flag_bucket('f', repeat('u', 200)) <= 0.5) AS distinct_id_10mb_cut_to_200,
       flag_bucket(repeat('k', 10000000), 'u') BETWEEN 0 AND 1 AS key_10mb;

-- Person properties 10,000 levels deep: read in place, serialised only when a filter reads them.
CREATE TEMP TABLE deep_value AS SELECT pg_temp.deep(10000) AS v;
SELECT flag_eval(pg_temp.one_filter('exact', '"x"'), 'u', jsonb_build_object('q', v, 'p', 'x')) AS deep_sibling_untouched,
       flag_eval(pg_temp.one_filter('icontains', '"{\"a\": 1}"'), 'u', jsonb_build_object('p', v)) AS deep_value_as_text,
       flag_eval(pg_temp.one_filter('is_set', '"is_set"'), 'u', jsonb_build_object('p', v)) AS deep_value_is_set
FROM deep_value;
-- ... and in a context, under a group's properties.
SELECT flag_evaluate(pg_temp.one_filter('is_set', '"is_set"'),
                     jsonb_build_object('distinct_id', 'u', 'person_properties', jsonb_build_object('p', v),
                                        'groups', jsonb_build_object('org', 'o'),
                                        'group_properties', jsonb_build_object('org', v))) -> 'enabled' AS deep_context
FROM deep_value;

-- A definition nested deeper than the engine takes is refused with 22023; flag_validate says so.
SELECT flag_eval(pg_temp.one_filter('exact', v), 'u') FROM deep_value;
\echo :LAST_ERROR_SQLSTATE
SELECT flag_validate(pg_temp.one_filter('exact', v)) FROM deep_value;
SELECT flag_evaluate_all(jsonb_build_array(pg_temp.one_filter('exact', v)), '{"distinct_id": "u"}') FROM deep_value;
\echo :LAST_ERROR_SQLSTATE

-- Numbers beyond double precision: numeric holds 1e400, a double does not.
SELECT flag_eval(pg_temp.one_filter('gt', '1e300'), 'u', '{"p": 1e400}') AS huge_gt,
       flag_eval(pg_temp.one_filter('lt', '1e-300'), 'u', '{"p": 1e-400}') AS tiny_lt,
       flag_eval(pg_temp.one_filter('exact', '"1e400"'), 'u', '{"p": 1e400}') AS huge_exact_text,
       flag_eval(pg_temp.one_filter('gt', '0'), 'u', jsonb_build_object('p', ('1' || repeat('0', 100000))::numeric)) AS long_numeric;
SELECT flag_eval('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 1e400}]}}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 1e-400}]}}', 'u') AS tiny_rollout;
SELECT flag_evaluate('{"key": "f", "filters": {"aggregation_group_type_index": 0, "groups": [{"properties": []}]}}',
                     '{"distinct_id": "u", "group_type_mapping": {"0": "org"}, "groups": {"org": 1e400}}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f", "filters": {"aggregation_group_type_index": 0, "groups": [{"properties": []}]}}',
                     '{"distinct_id": "u", "group_type_mapping": {"0": "org"}, "groups": {"org": 42.0}}') -> 'enabled' AS integral_group_key;

-- Wrong types everywhere.
SELECT flag_evaluate('{"key": "f"}', 'null');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f"}', '{"distinct_id": ["u"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_evaluate('{"key": "f"}', '{"distinct_id": "u", "group_properties": []}');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": 17}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "active": "yes"}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "filters": []}', 'u');
\echo :LAST_ERROR_SQLSTATE
SELECT flag_eval('{"key": "f", "filters": {"groups": [{"properties": [{"key": "p", "operator": "exact"}]}]}}', 'u', '{"p": null}') AS missing_value;
\echo :LAST_ERROR_SQLSTATE
SELECT flag_validate('null'), flag_validate('[[[]]]'), flag_validate('{"key": ""}');

-- Many flags and many filters in one call.
SELECT jsonb_array_length(flag_validate(jsonb_build_object('key', 'wide', 'filters', jsonb_build_object('groups', jsonb_build_array(
         jsonb_build_object('properties', (SELECT jsonb_agg(jsonb_build_object('key', 'p' || i, 'type', 'person', 'operator', 'exact', 'value', i))
                                           FROM generate_series(1, 20000) i))))))) AS problems_in_20000_filters,
       (SELECT count(*) FROM jsonb_object_keys(flag_evaluate_all(
          (SELECT jsonb_agg(jsonb_build_object('key', 'f' || i, 'filters', '{"groups": [{"properties": [], "rollout_percentage": 50}]}'::jsonb))
           FROM generate_series(1, 5000) i), '{"distinct_id": "u"}') -> 'flags')) AS flags_evaluated;

-- The backend never restarted.
SELECT pg_postmaster_start_time() = started AS no_crash FROM server_start;

-- A plpgsql simple expression keeps its call site (and the compiled flag cached there) across
-- evaluations with other values of its variables: each flag must still be its own.
DO $$
DECLARE
    f jsonb;
    answers text := '';
BEGIN
    FOREACH f IN ARRAY ARRAY['{"key": "on", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}'::jsonb,
                             '{"key": "off", "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]}}'::jsonb,
                             '{"key": "on-again", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}'::jsonb] LOOP
        answers := answers || (f ->> 'key') || '=' || flag_eval.flag_eval(f, 'user-1', '{}')
                   || '/' || (flag_eval.flag_evaluate_all(jsonb_build_array(f), '{"distinct_id": "user-1"}')
                              #>> ARRAY['flags', f ->> 'key', 'enabled']) || ' ';
    END LOOP;
    RAISE NOTICE 'each flag its own answer: %', answers;
END
$$;
