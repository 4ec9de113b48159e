-- flag_eval sample data: one team, 50 flags, N persons, groups and cohorts, for trying the decide
-- service and for its end-to-end tests (test/t/010_decide_service.pl).
--
--   psql -X -d app -f deploy/sample_data.sql [-v persons=100000] [-v token=phc_demo] [-v secret=phs_demo]
--
-- Needs CREATE EXTENSION flag_eval in the database. Idempotent: the team with this token (or this
-- secret) is deleted first, with everything it owns, then created again; other teams are not
-- touched. One transaction: a failure leaves the database as it was.
--
-- Persons: "user-<i>" for i in 1..N, properties generated from hashes of i (deterministic):
--   email      user<i>@ example.com | gmail.com | posthog.com | yahoo.co.uk | corp.example
--   plan       free 45 %, starter 20 %, pro 20 % (also "Pro", "PRO"), enterprise 10 %, team 5 %
--   country    US 30 % (a third spelt "us"), GB, DE, FR, IN, BR, CA, JP 10 % each
--   age        13..72, missing for 10 %
--   signed_up_at   ISO 8601 date at midnight UTC, 2020-01-01 .. 2025-12-29
--   last_seen_at   epoch seconds (a number), 2023-01-01 .. 2025-12-31
--   app_version    semver "1..3.0..19.0..9"
--   beta       boolean, missing for 30 %, true for 10 % of the others
--   tags       array of 0..3 strings;  name  "User <i>"
--   $feature_enrollment/early-access   true for i divisible by 20
-- Every fifth person also has the distinct id "device-<i>". Persons with i % 100 = 7 are the
-- members of the static cohort "beta testers".
-- Groups (type 0 organization: org-0 .. org-199; type 1 company: company-0 .. company-99), with
-- properties tier, seats, industry / employees, country, public.
--
-- Flags (bucketing xxh3, the team default, unless the flag says "sha1"):
--   pure rollouts (nothing stored is needed): rollout-50 (payload), rollout-100,
--     rollout-sha1-30 (sha1), mv-checkout (3 variants, payloads), exp-pricing (variants and a
--     holdout), org-rollout-30 (a group flag, organizations)
--   one per operator (docs/reference.md, Property operators) on person properties (exact ...
--     is_date_exact), a few of them with a rollout, two sha1 ones; several filters in one set;
--     several sets
--   multivariate with filters and payloads (one with a variant override, one sha1)
--   cohorts: in a dynamic cohort, not_in a dynamic cohort, in a nested cohort with negations,
--     in the static cohort
--   group flags on organizations and companies; flag dependencies (flag_evaluates_to true, a
--     variant, false); an experience-continuity flag; an early-access flag (super_groups);
--     one inactive flag
\set ON_ERROR_STOP 1
\if :{?persons}
\else
\set persons 100000
\endif
\if :{?token}
\else
\set token phc_demo
\endif
\if :{?secret}
\else
\set secret phs_demo
\endif

BEGIN;

-- Stops the script (ON_ERROR_STOP) with a message; the transaction is rolled back.
CREATE OR REPLACE FUNCTION pg_temp.fail(message text) RETURNS void
    LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION '%', message USING ERRCODE = 'invalid_parameter_value'; END $$;
SELECT count(pg_temp.fail('persons must be an integer >= 0, not ' || :'persons')) AS refused
WHERE :'persons' !~ '^[0-9]+$' \gset

-- ---- the team (its persons, groups, cohorts and flags go with it) ----
DELETE FROM flag_eval.teams WHERE api_token = :'token' OR secret_token = :'secret';
INSERT INTO flag_eval.teams (name, api_token, secret_token)
VALUES ('flag_eval demo', :'token', :'secret')
RETURNING id AS team \gset

-- A uniform integer in [0, n) for (i, seed).
CREATE OR REPLACE FUNCTION pg_temp.pick(i bigint, seed bigint, n int) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ((hashint8extended(i, seed) & 9223372036854775807) % n)::int $$;

CREATE OR REPLACE FUNCTION pg_temp.person_properties(i bigint) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT jsonb_strip_nulls(jsonb_build_object(
           'email', 'user' || i || '@' || (ARRAY['example.com', 'gmail.com', 'posthog.com', 'yahoo.co.uk',
                                                 'corp.example'])[1 + pg_temp.pick(i, 1, 5)],
           'name', 'User ' || i,
           'plan', (ARRAY['free', 'free', 'free', 'free', 'free', 'free', 'free', 'free', 'free',
                          'starter', 'starter', 'starter', 'starter',
                          'pro', 'pro', 'Pro', 'PRO', 'enterprise', 'Enterprise', 'team'])[1 + pg_temp.pick(i, 2, 20)],
           'country', (ARRAY['US', 'US', 'us', 'GB', 'DE', 'FR', 'IN', 'BR', 'CA', 'JP'])[1 + pg_temp.pick(i, 3, 10)],
           'age', CASE WHEN pg_temp.pick(i, 4, 10) = 0 THEN NULL ELSE 13 + pg_temp.pick(i, 5, 60) END,
           'signed_up_at', to_char(date '2020-01-01' + pg_temp.pick(i, 6, 2190), 'YYYY-MM-DD"T"00:00:00"Z"'),
           'last_seen_at', 1672531200 + pg_temp.pick(i, 7, 3 * 365 * 86400),
           'app_version', format('%s.%s.%s', 1 + pg_temp.pick(i, 8, 3), pg_temp.pick(i, 9, 20), pg_temp.pick(i, 10, 10)),
           'beta', CASE WHEN pg_temp.pick(i, 11, 10) < 3 THEN NULL ELSE pg_temp.pick(i, 12, 10) = 0 END,
           'tags', (ARRAY['[]', '["mobile"]', '["web"]', '["mobile", "web"]', '["newsletter", "web"]',
                          '["api", "mobile", "web"]']::jsonb[])[1 + pg_temp.pick(i, 13, 6)],
           '$feature_enrollment/early-access', CASE WHEN i % 20 = 0 THEN true END)) $$;

-- ---- persons: ids drawn from the persons sequence, then one insert per table ----
CREATE TEMP TABLE sample_persons ON COMMIT DROP AS
SELECT i, nextval(pg_get_serial_sequence('flag_eval.persons', 'id')) AS id
FROM generate_series(1, :persons) AS i;

INSERT INTO flag_eval.persons (id, team_id, properties)
SELECT id, :team, pg_temp.person_properties(i) FROM sample_persons;

INSERT INTO flag_eval.person_distinct_ids (team_id, distinct_id, person_id)
SELECT :team, 'user-' || i, id FROM sample_persons
UNION ALL
SELECT :team, 'device-' || i, id FROM sample_persons WHERE i % 5 = 0;

-- ---- groups ----
INSERT INTO flag_eval.group_type_mappings (team_id, group_type_index, group_type)
VALUES (:team, 0, 'organization'), (:team, 1, 'company');
INSERT INTO flag_eval.groups (team_id, group_type_index, group_key, properties)
SELECT :team, 0, 'org-' || g,
       jsonb_build_object('name', 'Organization ' || g,
                          'tier', (ARRAY['free', 'silver', 'gold'])[1 + pg_temp.pick(g, 21, 3)],
                          'seats', 1 + pg_temp.pick(g, 22, 500),
                          'industry', (ARRAY['software', 'retail', 'finance', 'health'])[1 + pg_temp.pick(g, 23, 4)])
FROM generate_series(0, 199) AS g
UNION ALL
SELECT :team, 1, 'company-' || g,
       jsonb_build_object('name', 'Company ' || g,
                          'employees', 5 * (1 + pg_temp.pick(g, 24, 400)),
                          'country', (ARRAY['US', 'GB', 'DE', 'JP'])[1 + pg_temp.pick(g, 25, 4)],
                          'public', pg_temp.pick(g, 26, 4) = 0)
FROM generate_series(0, 99) AS g;

-- ---- cohorts ----
INSERT INTO flag_eval.cohorts (team_id, name, filters) VALUES
  (:team, 'paying adults', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]},
      {"key": "age", "type": "person", "operator": "gte", "value": 25}]}]}')
RETURNING id AS cohort_paying \gset
INSERT INTO flag_eval.cohorts (team_id, name, filters) VALUES
  (:team, 'europeans', '{"type": "OR", "values": [{"type": "OR", "values": [
      {"key": "country", "type": "person", "operator": "exact", "value": ["GB", "DE", "FR"]}]}]}')
RETURNING id AS cohort_europe \gset
INSERT INTO flag_eval.cohorts (team_id, name, is_static) VALUES (:team, 'beta testers', true)
RETURNING id AS cohort_static \gset
-- nested, with negations: (paying adults or on the team plan) and not European and not in beta
INSERT INTO flag_eval.cohorts (team_id, name, filters) VALUES
  (:team, 'paying non-European non-beta', jsonb_build_object('type', 'AND', 'values', jsonb_build_array(
      jsonb_build_object('type', 'OR', 'values', jsonb_build_array(
          jsonb_build_object('key', 'id', 'type', 'cohort', 'value', :cohort_paying),
          '{"key": "plan", "type": "person", "operator": "exact", "value": "team"}'::jsonb)),
      jsonb_build_object('type', 'AND', 'values', jsonb_build_array(
          jsonb_build_object('key', 'id', 'type', 'cohort', 'value', :cohort_europe, 'negation', true),
          '{"key": "beta", "type": "person", "operator": "exact", "value": ["true"], "negation": true}'::jsonb)))))
RETURNING id AS cohort_nested \gset

INSERT INTO flag_eval.cohort_members (cohort_id, person_id)
SELECT :cohort_static, id FROM sample_persons WHERE i % 100 = 7;

-- ---- the 50 flags ----
-- Definitions as text; __PAYING__, __EUROPE__, __NESTED__ and __STATIC__ stand for the cohort ids.
CREATE TEMP TABLE sample_flags (n serial, key text, active boolean, definition text) ON COMMIT DROP;
INSERT INTO sample_flags (key, active, definition) VALUES
-- pure rollouts: no filters, so the service answers them without the database
  ('rollout-50', true, '{"filters": {"groups": [{"properties": [], "rollout_percentage": 50}],
      "payloads": {"true": "{\"banner\": \"half\"}"}}}'),
  ('rollout-100', true, '{"filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}'),
  ('rollout-sha1-30', true, '{"bucketing": "sha1", "filters": {"groups": [{"properties": [], "rollout_percentage": 30}]}}'),
  ('mv-checkout', true, '{"filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "control", "rollout_percentage": 34},
                                    {"key": "test-a", "rollout_percentage": 33},
                                    {"key": "test-b", "rollout_percentage": 33}]},
      "payloads": {"control": "{\"steps\": 3}", "test-a": "{\"steps\": 2}", "test-b": "{\"steps\": 1}"}}}'),
  ('exp-pricing', true, '{"filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50},
                                    {"key": "discount", "rollout_percentage": 50}]},
      "holdout": {"id": 7, "exclusion_percentage": 10},
      "payloads": {"discount": "{\"percent\": 20}"}}}'),
  ('org-rollout-30', true, '{"filters": {"aggregation_group_type_index": 0,
      "groups": [{"properties": [], "rollout_percentage": 30}]}}'),
-- one flag per person-property operator
  ('paid-plan', true, '{"filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]}], "rollout_percentage": 100}],
      "payloads": {"true": "{\"seats\": 10}"}}}'),
  ('not-free', true, '{"filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "is_not", "value": "free"}], "rollout_percentage": 50}]}}'),
  ('beta-users', true, '{"filters": {"groups": [{"properties": [
      {"key": "beta", "type": "person", "operator": "exact", "value": ["true"]}], "rollout_percentage": 100}]}}'),
  ('staff', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "icontains", "value": "@posthog.com"}], "rollout_percentage": 100}],
      "payloads": {"true": "{\"debug\": true}"}}}'),
  ('no-example', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "not_icontains", "value": "EXAMPLE"}], "rollout_percentage": 80}]}}'),
  ('webmail', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "icontains_multi", "value": ["gmail", "yahoo"]}], "rollout_percentage": 100}]}}'),
  ('no-webmail', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "not_icontains_multi", "value": ["gmail", "yahoo"]}], "rollout_percentage": 100}]}}'),
  ('user1-prefix', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "starts_with", "value": "user1"}], "rollout_percentage": 100}]}}'),
  ('not-user1-not-uk', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "not_starts_with", "value": "user1"},
      {"key": "email", "type": "person", "operator": "not_ends_with", "value": ".co.uk"}], "rollout_percentage": 100}]}}'),
  ('uk-mail', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "ends_with", "value": ".co.uk"}], "rollout_percentage": 100}]}}'),
  ('gmail-7', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "regex", "value": "^user[0-9]*7@gmail\\.com$"}], "rollout_percentage": 100}]}}'),
  ('not-corp', true, '{"filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "not_regex", "value": "corp\\.example$"}], "rollout_percentage": 100}]}}'),
  ('age-extremes', true, '{"filters": {"groups": [
      {"properties": [{"key": "age", "type": "person", "operator": "gt", "value": 60}], "rollout_percentage": 100},
      {"properties": [{"key": "age", "type": "person", "operator": "lte", "value": 19}], "rollout_percentage": 50}]}}'),
  ('adults', true, '{"filters": {"groups": [{"properties": [
      {"key": "age", "type": "person", "operator": "gte", "value": "18"}], "rollout_percentage": 100}]}}'),
  ('under-25', true, '{"filters": {"groups": [{"properties": [
      {"key": "age", "type": "person", "operator": "lt", "value": 25}], "rollout_percentage": 100}]}}'),
  ('app-after-2-5', true, '{"filters": {"groups": [{"properties": [
      {"key": "app_version", "type": "person", "operator": "semver_gt", "value": "2.5.0"}], "rollout_percentage": 100}]}}'),
  ('app-v2-plus', true, '{"bucketing": "sha1", "filters": {"groups": [{"properties": [
      {"key": "app_version", "type": "person", "operator": "semver_gte", "value": "2.0.0"}], "rollout_percentage": 60}]}}'),
  ('app-before-1-5', true, '{"filters": {"groups": [{"properties": [
      {"key": "app_version", "type": "person", "operator": "semver_lt", "value": "1.5.0"}], "rollout_percentage": 100}]}}'),
  ('app-pinned', true, '{"filters": {"groups": [
      {"properties": [{"key": "app_version", "type": "person", "operator": "semver_eq", "value": "2.0.0"}], "rollout_percentage": 100},
      {"properties": [{"key": "app_version", "type": "person", "operator": "semver_neq", "value": "1.0.0"},
                      {"key": "app_version", "type": "person", "operator": "semver_lte", "value": "1.10.0"}], "rollout_percentage": 100}]}}'),
  ('app-3-10-tilde', true, '{"filters": {"groups": [{"properties": [
      {"key": "app_version", "type": "person", "operator": "semver_tilde", "value": "3.10.0"}], "rollout_percentage": 100}]}}'),
  ('app-1x-caret', true, '{"filters": {"groups": [{"properties": [
      {"key": "app_version", "type": "person", "operator": "semver_caret", "value": "1.5.0"}], "rollout_percentage": 100}]}}'),
  ('app-2-1-wildcard', true, '{"filters": {"groups": [{"properties": [
      {"key": "app_version", "type": "person", "operator": "semver_wildcard", "value": "2.1.*"}], "rollout_percentage": 100}]}}'),
  ('beta-known', true, '{"filters": {"groups": [{"properties": [
      {"key": "beta", "type": "person", "operator": "is_set", "value": "is_set"}], "rollout_percentage": 20}]}}'),
  ('age-unknown', true, '{"filters": {"groups": [{"properties": [
      {"key": "age", "type": "person", "operator": "is_not_set", "value": "is_not_set"}], "rollout_percentage": 100}]}}'),
  ('early-adopters', true, '{"filters": {"groups": [
      {"properties": [{"key": "signed_up_at", "type": "person", "operator": "is_date_before", "value": "2021-01-01"}], "rollout_percentage": 100},
      {"properties": [{"key": "last_seen_at", "type": "person", "operator": "is_date_before", "value": "2023-03-01T00:00:00Z"}], "rollout_percentage": 100}]}}'),
  ('recent-signups', true, '{"filters": {"groups": [{"properties": [
      {"key": "signed_up_at", "type": "person", "operator": "is_date_after", "value": "-365d"}], "rollout_percentage": 100}]}}'),
  ('launch-day', true, '{"filters": {"groups": [{"properties": [
      {"key": "signed_up_at", "type": "person", "operator": "is_date_exact", "value": "2020-06-01T00:00:00Z"}], "rollout_percentage": 100}]}}'),
-- several filters in one set; several sets; a sha1 one with a rollout
  ('us-paid-adults-50', true, '{"filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]},
      {"key": "country", "type": "person", "operator": "exact", "value": "US"},
      {"key": "age", "type": "person", "operator": "gte", "value": 21}], "rollout_percentage": 50}]}}'),
  ('us-or-enterprise', true, '{"filters": {"groups": [
      {"properties": [{"key": "country", "type": "person", "operator": "exact", "value": "US"}], "rollout_percentage": 100},
      {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": "enterprise"}], "rollout_percentage": 50}]}}'),
  ('sha1-webmail-50', true, '{"bucketing": "sha1", "filters": {"groups": [{"properties": [
      {"key": "email", "type": "person", "operator": "regex", "value": "@(gmail|yahoo)\\."}], "rollout_percentage": 50}]}}'),
-- multivariate with filters
  ('mv-pricing', true, '{"filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "free"}], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "monthly", "rollout_percentage": 50}, {"key": "annual", "rollout_percentage": 50}]},
      "payloads": {"monthly": "{\"price\": 10}", "annual": "{\"price\": 100}"}}}'),
  ('mv-homepage', true, '{"filters": {"groups": [
      {"properties": [{"key": "country", "type": "person", "operator": "exact", "value": "US"}], "rollout_percentage": 100, "variant": "hero-b"},
      {"properties": [], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "hero-a", "rollout_percentage": 50}, {"key": "hero-b", "rollout_percentage": 50}]},
      "payloads": {"hero-a": "{\"image\": \"a.png\"}", "hero-b": "{\"image\": \"b.png\"}"}}}'),
  ('mv-theme-sha1', true, '{"bucketing": "sha1", "filters": {"groups": [{"properties": [
      {"key": "country", "type": "person", "operator": "exact", "value": ["GB", "DE", "FR", "US"]}], "rollout_percentage": 100}],
      "multivariate": {"variants": [{"key": "light", "rollout_percentage": 10}, {"key": "dark", "rollout_percentage": 30},
                                    {"key": "system", "rollout_percentage": 60}]},
      "payloads": {"light": "{\"bg\": \"#fff\"}", "dark": "{\"bg\": \"#000\"}"}}}'),
-- cohorts
  ('cohort-paying-adults', true, '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "operator": "in", "value": __PAYING__}], "rollout_percentage": 100}]}}'),
  ('cohort-outside-europe', true, '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "operator": "not_in", "value": __EUROPE__}], "rollout_percentage": 100}]}}'),
  ('cohort-nested', true, '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "value": __NESTED__}], "rollout_percentage": 100}]}}'),
  ('cohort-beta-testers', true, '{"filters": {"groups": [{"properties": [
      {"key": "id", "type": "cohort", "operator": "in", "value": __STATIC__}], "rollout_percentage": 100}],
      "payloads": {"true": "{\"welcome\": \"beta\"}"}}}'),
-- group flags
  ('org-gold', true, '{"filters": {"aggregation_group_type_index": 0, "groups": [
      {"properties": [{"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}], "rollout_percentage": 100},
      {"properties": [{"key": "seats", "type": "group", "group_type_index": 0, "operator": "gt", "value": 300}], "rollout_percentage": 50}]}}'),
  ('company-large', true, '{"filters": {"aggregation_group_type_index": 1, "groups": [
      {"properties": [{"key": "employees", "type": "group", "group_type_index": 1, "operator": "gte", "value": 1000}], "rollout_percentage": 100}],
      "payloads": {"true": "{\"support\": \"dedicated\"}"}}}'),
-- dependencies: on true, on a variant, on false
  ('paid-checkout-a', true, '{"filters": {"groups": [{"properties": [
      {"key": "paid-plan", "type": "flag", "operator": "flag_evaluates_to", "value": true},
      {"key": "mv-checkout", "type": "flag", "operator": "flag_evaluates_to", "value": "test-a"}], "rollout_percentage": 100}]}}'),
  ('customers-only', true, '{"filters": {"groups": [{"properties": [
      {"key": "staff", "type": "flag", "operator": "flag_evaluates_to", "value": false}], "rollout_percentage": 100}]}}'),
-- experience continuity, early access (super_groups), and a flag that is switched off
  ('continuity-onboarding', true, '{"ensure_experience_continuity": true,
      "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}}'),
  ('early-access', true, '{"filters": {"groups": [{"properties": [
      {"key": "plan", "type": "person", "operator": "exact", "value": "enterprise"}], "rollout_percentage": 100}],
      "super_groups": [{"properties": [
      {"key": "$feature_enrollment/early-access", "type": "person", "operator": "exact", "value": ["true"]}], "rollout_percentage": 100}]}}'),
  ('retired-banner', false, '{"filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}');

INSERT INTO flag_eval.flags (team_id, key, active, definition)
SELECT :team, key, active,
       replace(replace(replace(replace(definition,
           '__PAYING__', :'cohort_paying'), '__EUROPE__', :'cohort_europe'),
           '__NESTED__', :'cohort_nested'), '__STATIC__', :'cohort_static')::jsonb
FROM sample_flags ORDER BY n;

SELECT count(pg_temp.fail('sample_data.sql: expected 50 flags, made ' || n)) AS refused
FROM (SELECT count(*) AS n FROM flag_eval.flags WHERE team_id = :team) c WHERE n <> 50 \gset

COMMIT;

ANALYZE flag_eval.persons, flag_eval.person_distinct_ids, flag_eval.groups, flag_eval.cohort_members,
        flag_eval.flags, flag_eval.cohorts;

\echo sample data loaded: token :token, secret :secret, :persons persons, 50 flags
