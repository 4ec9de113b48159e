-- Property operators (docs/reference.md, Property operators), one person filter at a time,
-- through flag_eval.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

-- A fully rolled-out flag whose only condition set holds one filter on the person property "p".
CREATE FUNCTION pg_temp.op_flag(op text, value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'key', 'operator-test', 'active', true,
    'filters', jsonb_build_object('groups', jsonb_build_array(jsonb_build_object(
      'properties', jsonb_build_array(
        jsonb_build_object('key', 'p', 'type', 'person', 'operator', op, 'value', value)),
      'rollout_percentage', 100))))
$$;

CREATE TEMP TABLE op_case (n serial, op text, value jsonb, props jsonb, expected boolean);

-- exact / is_not: case-insensitive on string forms, a list value means membership,
-- numbers and booleans compare by their string form; a missing key matches is_not only.
INSERT INTO op_case (op, value, props, expected) VALUES
  ('exact', '"enterprise"', '{"p": "enterprise"}', true),
  ('exact', '"Enterprise"', '{"p": "eNTERPRISE"}', true),
  ('exact', '"enterprise"', '{"p": "free"}', false),
  ('exact', '"enterprise"', '{"p": "enterprise "}', false),
  ('exact', '["free", "Pro"]', '{"p": "pro"}', true),
  ('exact', '["free", "pro"]', '{"p": "enterprise"}', false),
  ('exact', '"5"', '{"p": 5}', true),
  ('exact', '5', '{"p": "5"}', true),
  ('exact', '[1, 2, 3]', '{"p": "2"}', true),
  ('exact', '"true"', '{"p": true}', true),
  ('exact', 'true', '{"p": "TRUE"}', true),
  ('exact', 'false', '{"p": true}', false),
  ('exact', '"enterprise"', '{}', false),
  ('exact', '"enterprise"', '{"q": "enterprise"}', false),
  ('is_not', '"free"', '{"p": "enterprise"}', true),
  ('is_not', '"FREE"', '{"p": "free"}', false),
  ('is_not', '["free", "pro"]', '{"p": "PRO"}', false),
  ('is_not', '["free", "pro"]', '{"p": "enterprise"}', true),
  ('is_not', '"5"', '{"p": 5}', false),
  ('is_not', '"free"', '{}', true);

-- icontains family: case-insensitive substring of the string form; *_multi: any of a list.
INSERT INTO op_case (op, value, props, expected) VALUES
  ('icontains', '"PRISE"', '{"p": "Enterprise"}', true),
  ('icontains', '"x"', '{"p": "Enterprise"}', false),
  ('icontains', '"23"', '{"p": 1234}', true),
  ('icontains', '"prise"', '{}', false),
  ('not_icontains', '"PRISE"', '{"p": "Enterprise"}', false),
  ('not_icontains', '"x"', '{"p": "Enterprise"}', true),
  ('not_icontains', '"x"', '{}', true),
  ('icontains_multi', '["foo", "PRISE"]', '{"p": "Enterprise"}', true),
  ('icontains_multi', '["foo", "bar"]', '{"p": "Enterprise"}', false),
  ('icontains_multi', '["foo"]', '{}', false),
  ('not_icontains_multi', '["foo", "PRISE"]', '{"p": "Enterprise"}', false),
  ('not_icontains_multi', '["foo", "bar"]', '{"p": "Enterprise"}', true),
  ('not_icontains_multi', '["foo"]', '{}', true);

-- starts_with / ends_with and their negations.
INSERT INTO op_case (op, value, props, expected) VALUES
  ('starts_with', '"ent"', '{"p": "enterprise"}', true),
  ('starts_with', '"prise"', '{"p": "enterprise"}', false),
  ('starts_with', '"ent"', '{}', false),
  ('not_starts_with', '"ent"', '{"p": "enterprise"}', false),
  ('not_starts_with', '"free"', '{"p": "enterprise"}', true),
  ('not_starts_with', '"ent"', '{}', true),
  ('ends_with', '"prise"', '{"p": "enterprise"}', true),
  ('ends_with', '"ent"', '{"p": "enterprise"}', false),
  ('ends_with', '"prise"', '{}', false),
  ('not_ends_with', '"prise"', '{"p": "enterprise"}', false),
  ('not_ends_with', '"ent"', '{"p": "enterprise"}', true),
  ('not_ends_with', '"prise"', '{}', true);

-- regex / not_regex: RE2, case-sensitive, unanchored; a pattern RE2 rejects makes both false.
INSERT INTO op_case (op, value, props, expected) VALUES
  ('regex', '"^ent"', '{"p": "enterprise"}', true),
  ('regex', '"^Ent"', '{"p": "enterprise"}', false),
  ('regex', '"rpri"', '{"p": "enterprise"}', true),
  ('regex', '"^[0-9]+$"', '{"p": 1234}', true),
  ('regex', '"^ent"', '{}', false),
  ('regex', '"(unclosed"', '{"p": "(unclosed"}', false),
  ('not_regex', '"^ent"', '{"p": "enterprise"}', false),
  ('not_regex', '"^ent"', '{"p": "free"}', true),
  ('not_regex', '"^ent"', '{}', true),
  ('not_regex', '"(unclosed"', '{"p": "anything"}', false);

-- gt / gte / lt / lte: numeric, numbers written as strings included.
INSERT INTO op_case (op, value, props, expected) VALUES
  ('gt', '5', '{"p": 6}', true),
  ('gt', '5', '{"p": 5}', false),
  ('gt', '5', '{"p": "10"}', true),
  ('gt', '"5"', '{"p": 10}', true),
  ('gt', '"5"', '{"p": "10"}', true),
  ('gt', '5', '{"p": -7.5}', false),
  ('gt', '5', '{}', false),
  ('gt', '5', '{"p": null}', false),
  ('gte', '5', '{"p": 5}', true),
  ('gte', '5', '{"p": 4.999}', false),
  ('lt', '5', '{"p": 4.5}', true),
  ('lt', '5', '{"p": 5}', false),
  ('lt', '5', '{}', false),
  ('lte', '5', '{"p": 5.0}', true),
  ('lte', '5', '{"p": "5.01"}', false),
  ('lte', '1e3', '{"p": 1000}', true);

-- semver_*: versions compare numerically, not as text.
INSERT INTO op_case (op, value, props, expected) VALUES
  ('semver_gt', '"1.2.3"', '{"p": "1.10.0"}', true),
  ('semver_gt', '"1.2.3"', '{"p": "1.2.3"}', false),
  ('semver_gte', '"1.2.3"', '{"p": "1.2.3"}', true),
  ('semver_lt', '"2.0.0"', '{"p": "1.99.99"}', true),
  ('semver_lt', '"1.2.3"', '{"p": "1.2.3-beta.1"}', true),
  ('semver_lte', '"1.2.3"', '{"p": "1.2.4"}', false),
  ('semver_eq', '"1.2.3"', '{"p": "1.2.3"}', true),
  ('semver_eq', '"1.2.3"', '{"p": "v1.2.3"}', true),
  ('semver_eq', '"1.2.3"', '{"p": "1.2.4"}', false),
  ('semver_neq', '"1.2.3"', '{"p": "1.2.4"}', true),
  ('semver_neq', '"1.2.3"', '{"p": "1.2.3"}', false),
  ('semver_tilde', '"1.2.3"', '{"p": "1.2.9"}', true),
  ('semver_tilde', '"1.2.3"', '{"p": "1.3.0"}', false),
  ('semver_caret', '"1.2.3"', '{"p": "1.9.0"}', true),
  ('semver_caret', '"1.2.3"', '{"p": "2.0.0"}', false),
  ('semver_caret', '"0.2.3"', '{"p": "0.3.0"}', false),
  ('semver_wildcard', '"1.2.*"', '{"p": "1.2.7"}', true),
  ('semver_wildcard', '"1.2.*"', '{"p": "1.3.0"}', false),
  ('semver_gt', '"1.2.3"', '{"p": "not a version"}', false),
  ('semver_gt', '"1.2.3"', '{}', false);

-- is_set / is_not_set: whether the key is present.
INSERT INTO op_case (op, value, props, expected) VALUES
  ('is_set', '"is_set"', '{"p": "x"}', true),
  ('is_set', '"is_set"', '{"p": false}', true),
  ('is_set', '"is_set"', '{}', false),
  ('is_not_set', '"is_not_set"', '{}', true),
  ('is_not_set', '"is_not_set"', '{"p": 0}', false);

-- is_date_*: ISO 8601 (naive means UTC), a numeric property is epoch seconds; relative values
-- (-7d, 6h, 2w, 3m, 1y ago) are checked against dates far enough away to keep this stable.
INSERT INTO op_case (op, value, props, expected) VALUES
  ('is_date_before', '"2024-01-01"', '{"p": "2023-12-31"}', true),
  ('is_date_before', '"2024-01-01"', '{"p": "2024-01-02"}', false),
  ('is_date_before', '"2024-01-01T10:00:00"', '{"p": "2024-01-01T09:59:59Z"}', true),
  ('is_date_before', '"2024-01-01T10:00:00"', '{"p": "2024-01-01T10:00:01Z"}', false),
  ('is_date_before', '"2001-01-01"', '{"p": 946684800}', true),
  ('is_date_before', '"-7d"', '{"p": "2000-01-01"}', true),
  ('is_date_before', '"6h"', '{"p": "2000-01-01T00:00:00Z"}', true),
  ('is_date_before', '"2w"', '{"p": "2999-01-01"}', false),
  ('is_date_before', '"2024-01-01"', '{"p": "not a date"}', false),
  ('is_date_before', '"2024-01-01"', '{}', false),
  ('is_date_after', '"2024-01-01"', '{"p": "2024-01-01T00:00:01Z"}', true),
  ('is_date_after', '"2024-01-01T12:00:00+02:00"', '{"p": "2024-01-01T11:00:00Z"}', true),
  ('is_date_after', '"2024-01-01T12:00:00+02:00"', '{"p": "2024-01-01T09:00:00Z"}', false),
  ('is_date_after', '"2001-01-01"', '{"p": 946684800}', false),
  ('is_date_after', '"-1y"', '{"p": "2999-01-01"}', true),
  ('is_date_after', '"3m"', '{"p": "2000-01-01"}', false),
  ('is_date_exact', '"2024-01-01T00:00:00Z"', '{"p": "2024-01-01T00:00:00Z"}', true),
  ('is_date_exact', '"2024-01-01T00:00:00Z"', '{"p": "2024-01-01T00:00:01Z"}', false),
  ('is_date_exact', '"2024-01-01T00:00:00Z"', '{}', false);

SELECT n, op, value, props,
       flag_eval(pg_temp.op_flag(op, value), 'user-1', props) AS got,
       expected
FROM op_case ORDER BY n;

-- Every row above agrees with the expected column.
SELECT count(*) AS cases,
       count(*) FILTER (WHERE flag_eval(pg_temp.op_flag(op, value), 'user-1', props) IS DISTINCT FROM expected) AS wrong
FROM op_case;

-- A filter list inside one condition set is ANDed; condition sets are ORed.
SELECT flag_eval('{"key": "and-or", "filters": {"groups": [
          {"properties": [{"key": "plan", "operator": "exact", "value": "pro", "type": "person"},
                          {"key": "country", "operator": "exact", "value": "FR", "type": "person"}]},
          {"properties": [{"key": "beta", "operator": "exact", "value": true, "type": "person"}]}]}}',
        'user-1', props) AS enabled, props
FROM (VALUES ('{"plan": "pro", "country": "FR"}'::jsonb),
             ('{"plan": "pro", "country": "DE"}'),
             ('{"plan": "free", "beta": true}'),
             ('{}')) v(props);

-- Property values of every jsonb type are read in place: strings, numbers, booleans, null,
-- arrays and objects (as their JSON text).
SELECT flag_eval(pg_temp.op_flag('icontains', '"\"b\""'), 'u', '{"p": ["a", "b"]}') AS array_as_json_text,
       flag_eval(pg_temp.op_flag('icontains', '"\"k\": 1"'), 'u', '{"p": {"k": 1}}') AS object_as_json_text,
       flag_eval(pg_temp.op_flag('exact', '"null"'), 'u', '{"p": null}') AS null_as_text,
       flag_eval(pg_temp.op_flag('gt', '1e300'), 'u', '{"p": 1e400}') AS huge_number_compares,
       flag_eval(pg_temp.op_flag('lt', '0'), 'u', '{"p": -1e400}') AS huge_negative_compares;

-- A number's string form is the reference's (serde_json): an integer keeps its digits, any other
-- number is a double printed in shortest form.
SELECT props, value, flag_eval(pg_temp.op_flag('exact', value), 'u', props) AS exact
FROM (VALUES ('{"p": 1.50}'::jsonb, '"1.5"'::jsonb), ('{"p": 1.50}', '"1.50"'), ('{"p": 1.0}', '"1.0"'),
             ('{"p": 1e3}', '"1000"'), ('{"p": -42}', '"-42"'), ('{"p": 18446744073709551615}', '"18446744073709551615"'),
             ('{"p": 123456789012345678901234}', '"1.2345678901234569e23"'), ('{"p": 0.00001}', '"0.00001"'), ('{"p": 0.0000001}', '"1e-7"')) v(props, value);
