-- Shared by bench/own/pg_bench.sh and bench/own/profile.sh: the extension, :n persons, all in
-- shared buffers.
CREATE EXTENSION flag_eval;
CREATE EXTENSION pg_prewarm;
\i bench/inputs/sql/load_persons.sql
SELECT pg_prewarm('persons');
