-- The benchmark persons' properties, shared by load_persons.sql and load_decide.sql: ~8 jsonb
-- properties of mixed types, generated deterministically from hashes of the id (no files).
-- bench/own/core_bench.cpp draws its persons from the same distributions.
--
--   plan     free 45 %, starter 20 %, pro 20 %, enterprise 10 %, team 5 % (pro/enterprise in
--            mixed case: "Pro", "PRO", "Enterprise"; flag filters compare case-insensitively)
--   country  US 30 % (one third of it spelt "us"), GB, DE, FR, IN, BR, CA, JP 10 % each
--   age      a number 13..72; missing for 10 %
--   email, app_version (semver text), signed_up_at (ISO 8601), is_beta (bool, 10 % true),
--   tags     an array of 0..3 strings

-- A uniform integer in [0, n) for (id, seed).
CREATE OR REPLACE FUNCTION pg_temp.pick(id bigint, seed bigint, n int) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ((hashint8extended(id, seed) & 9223372036854775807) % n)::int $$;

-- One person's properties.
CREATE OR REPLACE FUNCTION pg_temp.person_properties(id bigint) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT
       jsonb_strip_nulls(jsonb_build_object(
           'plan', (ARRAY['free', 'free', 'free', 'free', 'free', 'free', 'free', 'free', 'free',
                          'starter', 'starter', 'starter', 'starter',
                          'pro', 'pro', 'Pro', 'PRO', 'enterprise', 'Enterprise', 'team'])[1 + pg_temp.pick(id, 1, 20)],
           'country', (ARRAY['US', 'US', 'us', 'GB', 'DE', 'FR', 'IN', 'BR', 'CA', 'JP'])[1 + pg_temp.pick(id, 2, 10)],
           'age', CASE WHEN pg_temp.pick(id, 3, 10) = 0 THEN NULL ELSE 13 + pg_temp.pick(id, 4, 60) END,
           'email', 'user' || id || '@' || (ARRAY['example.com', 'gmail.com', 'posthog.com', 'yahoo.co.uk',
                                                  'corp.example'])[1 + pg_temp.pick(id, 5, 5)],
           'app_version', format('%s.%s.%s', 1 + pg_temp.pick(id, 6, 3), pg_temp.pick(id, 7, 20), pg_temp.pick(id, 8, 10)),
           'signed_up_at', to_char(timestamp '2020-01-01' + pg_temp.pick(id, 9, 4 * 365 * 86400) * interval '1 second',
                                   'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           'is_beta', pg_temp.pick(id, 10, 10) = 0,
           'tags', (ARRAY['[]', '["mobile"]', '["web"]', '["mobile", "web"]', '["newsletter", "web"]',
                          '["api", "mobile", "web"]']::jsonb[])[1 + pg_temp.pick(id, 11, 6)]
       ))
    $$;
