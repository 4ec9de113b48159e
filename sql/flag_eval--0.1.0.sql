-- flag_eval 0.1.0: feature flags evaluated next to the data (SPEC section 4).
\echo Use "CREATE EXTENSION flag_eval" to load this file. \quit

-- Bucketing hashes the UTF-8 bytes of identifiers and the operators read text as UTF-8 (SPEC
-- section 2): other server encodings would silently bucket differently from PostHog.
DO $$
BEGIN
  IF pg_catalog.getdatabaseencoding() NOT IN ('UTF8', 'SQL_ASCII') THEN
    RAISE EXCEPTION 'flag_eval requires a UTF8 database, not %', pg_catalog.getdatabaseencoding()
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Create the database with ENCODING ''UTF8''.';
  END IF;
END
$$;

-- The pure functions: IMMUTABLE (the result depends on the arguments only) and PARALLEL SAFE.
-- They are STRICT: a NULL argument gives a NULL result (for flag_eval and flag_variant a NULL
-- properties argument too; pass '{}' for "no properties", which is also the default).
-- Flags without a "bucketing" field bucket with xxh3.

CREATE FUNCTION flag_eval(flag jsonb, distinct_id text, properties jsonb DEFAULT '{}')
RETURNS boolean
AS 'MODULE_PATHNAME', 'flag_eval_enabled'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_eval(jsonb, text, jsonb) IS
'whether the flag (PostHog flag JSON) is enabled for distinct_id with these person properties';

CREATE FUNCTION flag_variant(flag jsonb, distinct_id text, properties jsonb DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'flag_eval_variant'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_variant(jsonb, text, jsonb) IS
'the variant of a multivariate flag for distinct_id with these person properties; NULL when the flag is off or has no variant';

CREATE FUNCTION flag_evaluate(flag jsonb, context jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flag_eval_evaluate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_evaluate(jsonb, jsonb) IS
'evaluation detail {key, enabled, variant, value, reason{code, condition_index, description}, payload} of one flag for a context {distinct_id, person_properties, groups, group_properties, group_type_mapping}';

CREATE FUNCTION flag_evaluate_all(definitions jsonb, context jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flag_eval_evaluate_all'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_evaluate_all(jsonb, jsonb) IS
'{flags: {key: detail}, errorsWhileComputingFlags} for a flags array or a local-evaluation feed document {flags, group_type_mapping, cohorts}, dependencies between flags resolved';

CREATE FUNCTION flag_bucket(key text, identifier text, salt text DEFAULT '', bucketing text DEFAULT 'xxh3')
RETURNS double precision
AS 'MODULE_PATHNAME', 'flag_eval_bucket'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_bucket(text, text, text, text) IS
'hash01 in [0, 1] of key || ''.'' || identifier || salt with bucketing xxh3 or sha1 (identifier cut to 200 characters)';

CREATE FUNCTION flag_validate(flag jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flag_eval_validate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION flag_validate(jsonb) IS
'the problems of a flag definition as [{path, message, severity}], [] when it is valid';
