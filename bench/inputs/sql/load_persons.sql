-- The benchmark population: :n persons (psql variable), properties from person_properties.sql.
\set ON_ERROR_STOP 1

\i bench/inputs/sql/person_properties.sql

CREATE TABLE persons AS
SELECT id,
       md5(id::text)::uuid::text AS distinct_id,
       pg_temp.person_properties(id) AS properties
FROM generate_series(1, :n) AS id;

VACUUM (FREEZE, ANALYZE) persons;
