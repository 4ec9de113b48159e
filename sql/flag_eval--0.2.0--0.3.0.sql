-- flag_eval 0.2.0 -> 0.3.0: ALTER EXTENSION flag_eval UPDATE.
\echo Use "ALTER EXTENSION flag_eval UPDATE TO '0.3.0'" to load this file. \quit

-- Every change to the SQL interface is made twice, in the new version's install script and in an
-- upgrade script like this one; test/t/040_extension_upgrade.pl checks that an updated database
-- has exactly the objects of a fresh install, every row, and the same answers.

-- The planner's estimate of `WHERE flag_eval(<constant flag>, ...)` and the cost of an
-- evaluation (sql/flag_eval--0.3.0.sql says why).
CREATE FUNCTION flag_eval_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'flag_eval_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

ALTER FUNCTION flag_eval(jsonb, text, jsonb) SUPPORT flag_eval_support COST 4;
ALTER FUNCTION flag_variant(jsonb, text, jsonb) COST 4;
