-- The decide() benchmark's data (bench/own/decide_bench.sh): one team (token 'phc_bench', id 1) in
-- the extension's own tables, with :n persons (psql variable) and 50 active flags.
--
-- Persons: the distributions of bench/inputs/sql/person_properties.sql (plan, country, age, email,
-- app_version, signed_up_at, is_beta, tags, from hashes of the id), in flag_eval.persons, each
-- with one distinct id 'user-<id>' in flag_eval.person_distinct_ids. Plus 1,000 organizations
-- (groups of type 0), two dynamic cohorts and one static cohort (1 % of the persons).
--
-- Flags (all active, generated here): 12 pure rollouts at 5..100 %, 27 property-filter flags
-- (exact, is_not, icontains, not_icontains, icontains_multi, starts_with, ends_with, regex,
-- not_regex, gt, gte, lt, semver_gte, semver_lt, semver_caret, semver_tilde, is_set, is_not_set,
-- is_date_before, is_date_after with an absolute and a relative date, several filters per set,
-- several condition sets), 6 multivariate flags with payloads, 2 flags on dynamic cohorts, 1 on
-- the static cohort, 1 group flag and 1 flag that depends on two others.
\set ON_ERROR_STOP 1

CREATE EXTENSION flag_eval;
CREATE EXTENSION pg_prewarm;

\i bench/inputs/sql/person_properties.sql

INSERT INTO flag_eval.teams (id, name, api_token, secret_token) VALUES (1, 'bench', 'phc_bench', 'phs_bench');

-- ---- persons and their distinct ids ----
-- The rows are consistent by construction, so the load skips the foreign-key triggers
-- (session_replication_role = replica); the CHECK constraints and unique indexes still apply.
SET session_replication_role = replica;
INSERT INTO flag_eval.persons (id, team_id, properties)
SELECT id, 1,
       pg_temp.person_properties(id)
FROM generate_series(1, :n) AS id;

INSERT INTO flag_eval.person_distinct_ids (team_id, distinct_id, person_id)
SELECT 1, 'user-' || id, id FROM generate_series(1, :n) AS id;
RESET session_replication_role;
SELECT setval(pg_get_serial_sequence('flag_eval.persons', 'id'), :n);

-- ---- groups: organizations org-0 .. org-999 ----
INSERT INTO flag_eval.group_type_mappings (team_id, group_type_index, group_type) VALUES (1, 0, 'organization');
INSERT INTO flag_eval.groups (team_id, group_type_index, group_key, properties)
SELECT 1, 0, 'org-' || g,
       jsonb_build_object('tier', (ARRAY['free', 'silver', 'gold'])[1 + pg_temp.pick(g, 21, 3)],
                          'seats', 1 + pg_temp.pick(g, 22, 500),
                          'industry', (ARRAY['software', 'retail', 'finance', 'health'])[1 + pg_temp.pick(g, 23, 4)])
FROM generate_series(0, 999) AS g;

-- ---- cohorts ----
INSERT INTO flag_eval.cohorts (id, team_id, name, filters) VALUES
  (1, 1, 'paying adults', '{"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise", "team"]},
      {"key": "age", "type": "person", "operator": "gte", "value": 25}]}]}'),
  (2, 1, 'europeans on a recent app', '{"type": "AND", "values": [
      {"type": "OR", "values": [{"key": "country", "type": "person", "operator": "exact", "value": ["GB", "DE", "FR"]}]},
      {"type": "OR", "values": [{"key": "app_version", "type": "person", "operator": "semver_gte", "value": "2.0.0"}]}]}');
INSERT INTO flag_eval.cohorts (id, team_id, name, is_static) VALUES (3, 1, 'beta testers', true);
SELECT setval(pg_get_serial_sequence('flag_eval.cohorts', 'id'), 3);
INSERT INTO flag_eval.cohort_members (cohort_id, person_id)
SELECT 3, id FROM generate_series(1, :n) AS id WHERE pg_temp.pick(id, 31, 100) = 0;

-- ---- the 50 flags ----
-- cond(properties, rollout) is one condition set; flag(groups[, extra]) a definition.
CREATE FUNCTION pg_temp.cond(properties jsonb, rollout int DEFAULT 100) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT jsonb_build_object('properties', properties, 'rollout_percentage', rollout) $$;
CREATE FUNCTION pg_temp.prop(key text, operator text, value jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT jsonb_build_object('key', key, 'type', 'person', 'operator', operator, 'value', value) $$;
CREATE FUNCTION pg_temp.flag(groups jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT jsonb_build_object('filters', jsonb_build_object('groups', groups) || extra) $$;

CREATE TEMP TABLE bench_flags (n serial, key text, definition jsonb);

-- 12 pure rollouts, the 50 % one with a payload
INSERT INTO bench_flags (key, definition)
SELECT 'rollout-' || pct,
       pg_temp.flag(jsonb_build_array(pg_temp.cond('[]', pct)),
                    CASE WHEN pct = 50 THEN '{"payloads": {"true": "{\"banner\": \"half\"}"}}'::jsonb ELSE '{}' END)
FROM unnest(ARRAY[5, 10, 20, 25, 30, 40, 50, 60, 75, 90, 95, 100]) AS pct;

-- 27 property-filter flags
INSERT INTO bench_flags (key, definition) VALUES
  ('paid-plan', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('plan', 'exact', '["pro", "enterprise"]')))), '{"payloads": {"true": "{\"seats\": 10}"}}')),
  ('not-free', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('plan', 'is_not', '"free"')), 50)))),
  ('us-only', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('country', 'exact', '"US"')))))),
  ('eu-30', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('country', 'exact', '["GB", "DE", "FR"]')), 30)))),
  ('staff', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('email', 'icontains', '"@posthog.com"')))), '{"payloads": {"true": "{\"debug\": true}"}}')),
  ('gmail-7', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('email', 'regex', '"^user[0-9]*7@gmail\\.com$"')))))),
  ('no-example-domains', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('email', 'not_icontains', '"example"')), 80)))),
  ('webmail', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('email', 'icontains_multi', '["gmail", "yahoo"]')))))),
  ('user-1-prefix', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('email', 'starts_with', '"user1"')))))),
  ('uk-mail', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('email', 'ends_with', '".co.uk"')))))),
  ('not-corp', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('email', 'not_regex', '"corp\\.example$"')))))),
  ('adults', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('age', 'gte', '18')))))),
  ('over-40-half', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('age', 'gt', '40')), 50)))),
  ('under-25', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('age', 'lt', '25')))))),
  ('age-unknown', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('age', 'is_not_set', '"is_not_set"')))))),
  ('app-v2-plus', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('app_version', 'semver_gte', '"2.0.0"')))))),
  ('app-1x-caret', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('app_version', 'semver_caret', '"1.5.0"')))))),
  ('app-3-10-tilde', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('app_version', 'semver_tilde', '"3.10.0"')))))),
  ('beta-known', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('is_beta', 'is_set', '"is_set"')), 20)))),
  ('beta-users', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('is_beta', 'exact', '["true"]')))))),
  ('early-adopters', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('signed_up_at', 'is_date_before', '"2021-01-01"')))))),
  ('recent-signups', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('signed_up_at', 'is_date_after', '"-1500d"')))))),
  ('us-paid-adults-50', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('plan', 'exact', '["pro", "enterprise"]'),
      pg_temp.prop('country', 'exact', '"US"'),
      pg_temp.prop('age', 'gte', '21')), 50)))),
  ('old-app-new-user', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('app_version', 'semver_lt', '"2.0.0"'),
      pg_temp.prop('signed_up_at', 'is_date_after', '"2022-06-01T00:00:00Z"')))))),
  ('us-or-enterprise', pg_temp.flag(jsonb_build_array(
      pg_temp.cond(jsonb_build_array(pg_temp.prop('country', 'exact', '"US"'))),
      pg_temp.cond(jsonb_build_array(pg_temp.prop('plan', 'exact', '"enterprise"')), 50)))),
  ('three-sets', pg_temp.flag(jsonb_build_array(
      pg_temp.cond(jsonb_build_array(pg_temp.prop('is_beta', 'exact', '["true"]'))),
      pg_temp.cond(jsonb_build_array(pg_temp.prop('email', 'icontains', '"posthog"'),
                                     pg_temp.prop('age', 'gte', '30'))),
      pg_temp.cond(jsonb_build_array(pg_temp.prop('country', 'exact', '["JP", "IN"]')), 10)))),
  ('starter-teens', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('plan', 'exact', '"starter"'),
      pg_temp.prop('age', 'lt', '20'))))));

-- 6 multivariate flags with payloads
INSERT INTO bench_flags (key, definition) VALUES
  ('mv-checkout', pg_temp.flag(jsonb_build_array(pg_temp.cond('[]')), '{
      "multivariate": {"variants": [{"key": "control", "rollout_percentage": 34},
                                    {"key": "test-a", "rollout_percentage": 33},
                                    {"key": "test-b", "rollout_percentage": 33}]},
      "payloads": {"control": "{\"steps\": 3}", "test-a": "{\"steps\": 2}", "test-b": "{\"steps\": 1}"}}')),
  ('mv-pricing', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('plan', 'exact', '"free"')))), '{
      "multivariate": {"variants": [{"key": "monthly", "rollout_percentage": 50},
                                    {"key": "annual", "rollout_percentage": 50}]},
      "payloads": {"monthly": "{\"price\": 10}", "annual": "{\"price\": 100}"}}')),
  ('mv-onboarding', pg_temp.flag(jsonb_build_array(pg_temp.cond('[]', 50)), '{
      "multivariate": {"variants": [{"key": "tour", "rollout_percentage": 25},
                                    {"key": "checklist", "rollout_percentage": 25},
                                    {"key": "video", "rollout_percentage": 25},
                                    {"key": "none", "rollout_percentage": 25}]},
      "payloads": {"tour": "{\"stops\": 5}", "checklist": "{\"items\": [\"invite\", \"install\"]}",
                   "video": "\"https://example.com/intro.mp4\""}}')),
  ('mv-homepage', pg_temp.flag(jsonb_build_array(
      pg_temp.cond(jsonb_build_array(pg_temp.prop('country', 'exact', '"US"'))) || '{"variant": "hero-b"}',
      pg_temp.cond('[]')), '{
      "multivariate": {"variants": [{"key": "hero-a", "rollout_percentage": 50},
                                    {"key": "hero-b", "rollout_percentage": 50}]},
      "payloads": {"hero-a": "{\"image\": \"a.png\"}", "hero-b": "{\"image\": \"b.png\"}"}}')),
  ('mv-theme', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('country', 'exact', '["GB", "DE", "FR", "US"]')))), '{
      "multivariate": {"variants": [{"key": "light", "rollout_percentage": 10},
                                    {"key": "dark", "rollout_percentage": 30},
                                    {"key": "system", "rollout_percentage": 60}]},
      "payloads": {"light": "{\"bg\": \"#fff\"}", "dark": "{\"bg\": \"#000\"}", "system": "{\"bg\": null}"}}')),
  ('mv-search', pg_temp.flag(jsonb_build_array(pg_temp.cond(jsonb_build_array(
      pg_temp.prop('app_version', 'semver_gte', '"1.10.0"')))), '{
      "multivariate": {"variants": [{"key": "classic", "rollout_percentage": 90},
                                    {"key": "vector", "rollout_percentage": 10}]},
      "payloads": {"classic": "{\"k\": 10}", "vector": "{\"k\": 50}"}}'));

-- 2 flags on the dynamic cohorts, 1 on the static cohort
INSERT INTO bench_flags (key, definition) VALUES
  ('cohort-paying-adults', pg_temp.flag(jsonb_build_array(pg_temp.cond(
      '[{"key": "id", "type": "cohort", "value": 1}]')))),
  ('cohort-europeans-50', pg_temp.flag(jsonb_build_array(pg_temp.cond(
      '[{"key": "id", "type": "cohort", "value": 2}]', 50)))),
  ('cohort-beta-testers', pg_temp.flag(jsonb_build_array(pg_temp.cond(
      '[{"key": "id", "type": "cohort", "value": 3}]'))));

-- 1 group flag: gold organizations, and half of those with more than 300 seats
INSERT INTO bench_flags (key, definition) VALUES
  ('org-gold', pg_temp.flag(jsonb_build_array(
      pg_temp.cond('[{"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": "gold"}]'),
      pg_temp.cond('[{"key": "seats", "type": "group", "group_type_index": 0, "operator": "gt", "value": 300}]', 50)),
      '{"aggregation_group_type_index": 0}'));

-- 1 flag that depends on two others
INSERT INTO bench_flags (key, definition) VALUES
  ('paid-checkout-a', pg_temp.flag(jsonb_build_array(pg_temp.cond(
      '[{"key": "paid-plan", "type": "flag", "operator": "flag_evaluates_to", "value": true},
        {"key": "mv-checkout", "type": "flag", "operator": "flag_evaluates_to", "value": "test-a"}]'))));

INSERT INTO flag_eval.flags (id, team_id, key, definition)
SELECT n, 1, key, definition FROM bench_flags ORDER BY n;
SELECT setval(pg_get_serial_sequence('flag_eval.flags', 'id'), (SELECT max(n) FROM bench_flags));

-- ---- statistics, and everything in shared buffers ----
VACUUM (FREEZE, ANALYZE) flag_eval.persons, flag_eval.person_distinct_ids, flag_eval.groups,
                         flag_eval.cohort_members, flag_eval.flags, flag_eval.cohorts, flag_eval.teams,
                         flag_eval.group_type_mappings, flag_eval.hash_key_overrides;
SELECT pg_prewarm(c.oid)
FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
WHERE s.nspname = 'flag_eval' AND c.relkind IN ('r', 'i');
