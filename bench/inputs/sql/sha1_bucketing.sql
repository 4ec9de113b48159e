-- PostHog's sha1 bucketing written in plain SQL (pgcrypto): baseline (b) of the population scan,
-- what a team writes without flag_eval. docs/reference.md, Bucketing, `sha1`:
--
--   n      = the first 15 hex digits of SHA-1(flag_key || '.' || distinct_id || salt), the top 60 bits
--   hash01 = double(n) / double(0xFFFFFFFFFFFFFFF)
--
-- salt '' for the rollout, 'variant' for the variant lookup. The two edge rules (identifiers cut
-- to 200 characters, an empty identifier hashes as 0) are left out: the benchmark's distinct ids
-- are 36-character uuids, so neither changes a result, and leaving them out keeps this baseline
-- as cheap as the SQL can be. A one-expression LANGUAGE sql function, not STRICT, so the planner
-- inlines it into the query (no function call per row beyond pgcrypto's digest()).
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE OR REPLACE FUNCTION public.posthog_hash01(flag_key text, distinct_id text, salt text DEFAULT '')
    RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT ('x' || left(encode(public.digest(flag_key || '.' || distinct_id || salt, 'sha1'), 'hex'), 15))::bit(60)::bigint::float8
           / 1152921504606846975::float8
    $$;
