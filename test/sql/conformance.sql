-- PostHog's conformance corpus (test/conformance/posthog, rules contract 1.2.0) through SQL.
-- Every corpus flag buckets with sha1, so each flag gets "bucketing": "sha1".
-- pg_regress runs psql from the repository root (make installcheck).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS flag_eval;
RESET client_min_messages;
SET search_path = flag_eval, public;

\set corpus `cat test/conformance/posthog/v1_evaluation.json`
\set hashes `cat test/conformance/posthog/hash_sha1_60_v1.json`

CREATE TEMP TABLE corpus_case AS
SELECT ord, c ->> 'id' AS id, c -> 'definitions' AS definitions, c -> 'context' AS context, c -> 'expected' AS expected
FROM jsonb_array_elements((:'corpus')::jsonb -> 'cases') WITH ORDINALITY AS t(c, ord);

CREATE TEMP TABLE corpus_result AS
SELECT ord, id, expected,
       flag_evaluate_all(
         jsonb_set(definitions, '{flags}',
                   (SELECT jsonb_agg(f || '{"bucketing": "sha1"}' ORDER BY n)
                    FROM jsonb_array_elements(definitions -> 'flags') WITH ORDINALITY AS x(f, n))),
         context) AS actual
FROM corpus_case;

-- Every field the corpus states, per expected flag: value, enabled, variant, payload,
-- reason.code and reason.condition_index.
CREATE TEMP VIEW corpus_mismatch AS
SELECT r.ord, r.id, e.key, field, e.detail #> path AS expected, r.actual #> ('{flags}'::text[] || e.key || path) AS actual
FROM corpus_result r,
     jsonb_each(r.expected -> 'flags') AS e(key, detail),
     (VALUES ('value', '{value}'::text[]), ('enabled', '{enabled}'), ('variant', '{variant}'), ('payload', '{payload}'),
             ('reason.code', '{reason,code}'), ('reason.condition_index', '{reason,condition_index}')) AS f(field, path)
WHERE (r.actual #> ('{flags}'::text[] || e.key || path)) IS DISTINCT FROM (e.detail #> path);

-- Omitted flags (inactive ones) must be absent; no flag may appear that the corpus does not list.
CREATE TEMP VIEW corpus_extra AS
SELECT r.ord, r.id, k AS key,
       (r.expected -> 'omitted_flags') ? k AS listed_as_omitted
FROM corpus_result r, jsonb_object_keys(r.actual -> 'flags') AS k
WHERE NOT (r.expected -> 'flags') ? k;

SELECT ord, id,
       NOT EXISTS (SELECT FROM corpus_mismatch m WHERE m.ord = r.ord)
       AND NOT EXISTS (SELECT FROM corpus_extra x WHERE x.ord = r.ord) AS ok
FROM corpus_result r ORDER BY ord;

SELECT count(*) AS cases,
       count(*) FILTER (WHERE NOT EXISTS (SELECT FROM corpus_mismatch m WHERE m.ord = r.ord)
                          AND NOT EXISTS (SELECT FROM corpus_extra x WHERE x.ord = r.ord)) AS passed
FROM corpus_result r;

-- What differs, if anything (no rows when all cases pass).
SELECT id, key, field, expected, actual FROM corpus_mismatch ORDER BY ord, key, field;
SELECT id, key, listed_as_omitted FROM corpus_extra ORDER BY ord, key;

-- The omitted flags listed by the corpus are absent from the results.
SELECT r.id, o AS omitted_flag, (r.actual -> 'flags') ? o AS present
FROM corpus_result r, jsonb_array_elements_text(r.expected -> 'omitted_flags') AS o ORDER BY r.ord;

-- The sha1 vectors through flag_bucket, where the prefix is "<key>." (flag_bucket appends the
-- "."); the holdout prefix "holdout-" is covered by the v1.holdout cases above.
SELECT v ->> 'id' AS id,
       flag_bucket(left(v ->> 'prefix', -1), v ->> 'identifier', v ->> 'salt', 'sha1') = (v ->> 'hash01')::float8 AS ok
FROM jsonb_array_elements((:'hashes')::jsonb -> 'vectors') WITH ORDINALITY AS t(v, ord)
WHERE right(v ->> 'prefix', 1) = '.'
ORDER BY ord;
