-- flag_bucket: hash01 of key || '.' || identifier || salt (docs/reference.md, Bucketing),
-- golden values for both algorithms, and the distribution of a rollout.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

-- sha1: PostHog's vectors (conformance/posthog/hash_sha1_60_v1.json), bit for bit.
SELECT id, flag_bucket(key, identifier, salt, 'sha1') AS hash01,
       flag_bucket(key, identifier, salt, 'sha1') = expected AS ok
FROM (VALUES
  ('hash.rollout.ascii_division_edge', 'beta-search', 'user-17', '', 0.009101217133290002::float8),
  ('hash.rollout.ascii_excluded', 'beta-search-rollout', 'user-105', '', 0.2851295399293007),
  ('hash.variant.ascii', 'checkout-layout', 'user-61', 'variant', 0.5698252224547713),
  ('hash.concatenation.no_separator_escaping', 'release.v2', 'a.b', 'variant', 0.7631886118730806),
  ('hash.identifier.empty', 'beta-search', '', '', 0.6211969413249854),
  ('hash.identifier.unicode_utf8', 'beta-search', 'ünïcødé-😀', '', 0.7415212578007152),
  ('hash.identifier.integer_group_key', 'org-dashboard', '42', '', 0.5997466051660167)
) v(id, key, identifier, salt, expected);

-- xxh3 (the default): XXH3_64bits(input, seed 0) >> 4, computed independently with libxxhash.
SELECT key, identifier, salt, flag_bucket(key, identifier, salt) AS hash01,
       flag_bucket(key, identifier, salt) = expected AS ok
FROM (VALUES
  ('beta-search', 'user-17', '', 0.6976980562154835::float8),
  ('checkout-layout', 'user-61', 'variant', 0.5076501691915364),
  ('release.v2', 'a.b', 'variant', 0.07951913870512288),
  ('beta-search', '', '', 0.23167960256183281),
  ('beta-search', 'ünïcødé-😀', '', 0.5877540457723298),
  ('org-dashboard', '42', '', 0.20572779071080938)
) v(key, identifier, salt, expected);

-- Defaults: salt '' and bucketing xxh3; the two algorithms differ.
SELECT flag_bucket('beta-search', 'user-17') = flag_bucket('beta-search', 'user-17', '', 'xxh3') AS default_is_xxh3,
       flag_bucket('beta-search', 'user-17', '', 'sha1') <> flag_bucket('beta-search', 'user-17') AS algorithms_differ;

-- The identifier is cut to its first 200 Unicode scalar values, whatever their byte length.
SELECT b AS bucketing,
       flag_bucket('k', repeat('a', 200), '', b) = flag_bucket('k', repeat('a', 200) || 'tail', '', b) AS ascii_cut,
       flag_bucket('k', repeat('é', 200), '', b) = flag_bucket('k', repeat('é', 200) || '😀', '', b) AS multibyte_cut,
       flag_bucket('k', repeat('a', 199), '', b) <> flag_bucket('k', repeat('a', 199) || 'b', '', b) AS not_cut_before_200,
       flag_bucket('k', repeat('a', 200), 'salt', b) <> flag_bucket('k', repeat('a', 200), '', b) AS salt_after_the_cut
FROM (VALUES ('xxh3'), ('sha1')) v(b);

-- The input is prefix + identifier + salt with no separator: only the concatenation counts.
SELECT flag_bucket('a', 'b.c', '', 'sha1') = flag_bucket('a.b', 'c', '', 'sha1') AS concatenation_only;

-- Distribution: of 10,000 ids, a 30 % rollout includes 30 % +- 1.5 % (2,850 to 3,150), with
-- either algorithm; and flag_eval's rollout is exactly hash01 <= 0.30.
SELECT b AS bucketing,
       count(*) FILTER (WHERE flag_bucket('distribution-check', 'user-' || i, '', b) <= 0.30)
         BETWEEN 2850 AND 3150 AS within_tolerance,
       count(*) FILTER (WHERE flag_bucket('distribution-check', 'user-' || i, '', b) NOT BETWEEN 0 AND 1) AS out_of_range,
       count(*) FILTER (WHERE flag_eval(jsonb_build_object('key', 'distribution-check', 'bucketing', b,
                                          'filters', '{"groups": [{"properties": [], "rollout_percentage": 30}]}'::jsonb),
                                        'user-' || i)
                        <> (flag_bucket('distribution-check', 'user-' || i, '', b) <= 0.30)) AS flag_eval_disagrees
FROM generate_series(0, 9999) i, (VALUES ('xxh3'), ('sha1')) v(b)
GROUP BY b ORDER BY b;

-- Variants: 50/30/20 over 10,000 ids, each share within 1.5 points, and flag_variant is
-- exactly the first variant whose cumulative share exceeds hash01(key, id, 'variant').
WITH ids AS (
  SELECT 'user-' || i AS id, b FROM generate_series(0, 9999) i, (VALUES ('xxh3'), ('sha1')) v(b)
), picks AS (
  SELECT b, id,
         flag_variant(jsonb_build_object('key', 'split', 'bucketing', b, 'filters',
           '{"groups": [{"properties": [], "rollout_percentage": 100}],
             "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50},
                                           {"key": "test", "rollout_percentage": 30},
                                           {"key": "other", "rollout_percentage": 20}]}}'::jsonb), id) AS variant,
         flag_bucket('split', id, 'variant', b) AS h
  FROM ids
)
SELECT b AS bucketing, variant,
       abs(count(*) / 100.0 - CASE variant WHEN 'control' THEN 50 WHEN 'test' THEN 30 ELSE 20 END) <= 1.5 AS share_within_tolerance,
       count(*) FILTER (WHERE variant IS DISTINCT FROM
         CASE WHEN h < 50 / 100::float8 THEN 'control'
              WHEN h < 50 / 100::float8 + 30 / 100::float8 THEN 'test'
              WHEN h < 50 / 100::float8 + 30 / 100::float8 + 20 / 100::float8 THEN 'other' END) AS disagrees
FROM picks GROUP BY b, variant ORDER BY b, variant;

-- An empty identifier is hashed as is by flag_bucket (the raw hash); only rollouts and variants
-- treat it as 0.0.
SELECT flag_bucket('beta-search', '', '', 'sha1') AS raw_empty_identifier,
       flag_eval('{"key": "beta-search", "filters": {"groups": [{"properties": [], "rollout_percentage": 0.1}]}}', '') AS empty_id_included;
