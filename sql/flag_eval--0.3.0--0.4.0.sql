-- flag_eval 0.3.0 -> 0.4.0: ALTER EXTENSION flag_eval UPDATE.
\echo Use "ALTER EXTENSION flag_eval UPDATE TO '0.4.0'" to load this file. \quit

-- Every change to the SQL interface is made twice, in the new version's install script and in an
-- upgrade script like this one; test/t/040_extension_upgrade.pl checks that an updated database
-- has exactly the objects of a fresh install, every row, and the same answers.

-- flag_variant_counts(flag, distinct_id, properties): how many rows get each outcome of the flag,
-- as {"control": 340170, "test-a": 330570, ..., "false": 0} (a flag without variants: "true" and
-- "false"; every outcome the flag declares is listed, with 0 when no row gets it). An aggregate,
-- so a variant breakdown runs in parallel, where `GROUP BY flag_variant(...)` does not (the
-- planner expects a group per distinct id; docs/reference.md, What the planner expects). A row
-- with a NULL argument is not counted; NULL when no row is. The functions below are its parts
-- (src/pg/variant_counts.cpp) and refuse to be called alone.
CREATE FUNCTION _variant_counts_step(state internal, flag jsonb, distinct_id text, properties jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_step'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION _variant_counts_combine(state internal, other internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION _variant_counts_serialize(state internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION _variant_counts_deserialize(bytes bytea, unused internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION _variant_counts_final(state internal)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flag_eval_variant_counts_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE flag_variant_counts(flag jsonb, distinct_id text, properties jsonb) (
    SFUNC = _variant_counts_step,
    STYPE = internal,
    FINALFUNC = _variant_counts_final,
    COMBINEFUNC = _variant_counts_combine,
    SERIALFUNC = _variant_counts_serialize,
    DESERIALFUNC = _variant_counts_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE flag_variant_counts(jsonb, text, jsonb) IS
'how many rows get each outcome of the flag (each variant, or true; false), as a jsonb object; parallel, unlike GROUP BY flag_variant(...)';
