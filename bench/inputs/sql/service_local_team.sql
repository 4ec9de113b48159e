-- bench/own/service_bench.sh: a second team whose flags need nothing stored, so that flag-decide
-- can answer every flag from what the request carries (measurement (c), no database round trip).
--
--   psql -X -d app -v source=phc_demo -v token=phc_bench_local -v secret=phs_bench_local \
--        -f bench/inputs/sql/service_local_team.sql
--
-- It copies the source team's flags (deploy/sample_data.sql) except the ones that must read
-- stored data whatever the request says: cohort filters (a static cohort has stored members;
-- dynamic ones are left out too, as the benchmark asks for flags with plain filters), flag
-- dependencies, and experience continuity (stored hash keys). Its group type mappings are copied
-- too, so the group flags keep their meaning. It has no persons: a request that missed a property
-- would fall through to the database and find nobody, which the benchmark's metrics check catches.
-- Idempotent: the team with this token (or secret) is deleted first. One transaction.
\set ON_ERROR_STOP 1
\if :{?source}
\else
\set source phc_demo
\endif
\if :{?token}
\else
\set token phc_bench_local
\endif
\if :{?secret}
\else
\set secret phs_bench_local
\endif

BEGIN;

CREATE OR REPLACE FUNCTION pg_temp.fail(message text) RETURNS void
    LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION '%', message USING ERRCODE = 'invalid_parameter_value'; END $$;

SELECT id AS source_team FROM flag_eval.teams WHERE api_token = :'source' \gset
\if :{?source_team}
\else
SELECT pg_temp.fail('service_local_team.sql: no team with token ' || :'source');
\endif

DELETE FROM flag_eval.teams WHERE api_token = :'token' OR secret_token = :'secret';
INSERT INTO flag_eval.teams (name, api_token, secret_token, bucketing)
SELECT 'flag_eval bench: flags that need nothing stored', :'token', :'secret', bucketing
FROM flag_eval.teams WHERE id = :source_team
RETURNING id AS team \gset

INSERT INTO flag_eval.group_type_mappings (team_id, group_type_index, group_type)
SELECT :team, group_type_index, group_type FROM flag_eval.group_type_mappings WHERE team_id = :source_team;

INSERT INTO flag_eval.flags (team_id, key, definition, version, active)
SELECT :team, key, definition, version, active
FROM flag_eval.flags
WHERE team_id = :source_team AND NOT deleted
  AND NOT jsonb_path_exists(definition, '$.**.type ? (@ == "cohort" || @ == "flag")')
  AND NOT coalesce((definition ->> 'ensure_experience_continuity')::boolean, false)
ORDER BY id;

SELECT count(pg_temp.fail('service_local_team.sql: copied only ' || n || ' flags')) AS refused
FROM (SELECT count(*) AS n FROM flag_eval.flags WHERE team_id = :team) c WHERE n < 30 \gset

COMMIT;

SELECT count(*) FILTER (WHERE active) AS active_flags, count(*) AS flags
FROM flag_eval.flags f JOIN flag_eval.teams t ON t.id = f.team_id WHERE t.api_token = :'token' \gset
\echo bench team :token: :active_flags active flags (:flags copied from :source)
