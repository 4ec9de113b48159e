-- The database role flag-decide logs in as, with the least it needs (docs/deployment.md, "The
-- service's database role").
--
--   psql -X -d app -v role=flag_decide -f deploy/service_role.sql
--
-- Run it on the primary, as a superuser, after CREATE EXTENSION flag_eval (roles and grants
-- replicate to the standbys). Idempotent: it brings the role to exactly these grants on the
-- extension's tables. It sets no password: deploy/up.sh trusts 127.0.0.1; elsewhere, give the
-- role a password or a certificate (ALTER ROLE flag_decide PASSWORD ...).
--
-- What the service runs, and why each grant:
--   SELECT flag_eval.definitions_version()            reads definitions_version_counter
--   SELECT flag_eval.service_definitions()            reads teams (secret tokens included: the
--                                                     service checks them for the feed), flags,
--                                                     group_type_mappings, cohorts
--   SELECT flag_eval.decide_outcomes(...)             read every table above plus persons,
--   (flag_eval.decide(...) until definitions load)    person_distinct_ids, groups, cohort_members,
--                                                     hash_key_overrides
--   SELECT flag_eval.record_hash_key_overrides(...)   on the primary only: EXECUTE, nothing
--                                                     on the table (the function is SECURITY
--                                                     DEFINER and PUBLIC may not run it)
-- The readers are SECURITY INVOKER, so the grants are on the tables they read. The role can
-- write nothing itself: continuity keys only through record_hash_key_overrides(), which adds
-- the first key of a person for the team of a public token and never changes one (on a standby
-- it is refused anyway: read-only server).
\set ON_ERROR_STOP 1
\if :{?role}
\else
\set role flag_decide
\endif

BEGIN;

SELECT pg_catalog.format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'role') \gexec

-- Nothing beyond logging in: no superuser, no creating roles or databases, no replication, row
-- security applies. A statement the service abandoned at its deadline does not run on for long.
ALTER ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"role" SET statement_timeout = '10s';
ALTER ROLE :"role" SET idle_in_transaction_session_timeout = '10s';

SELECT pg_catalog.format('GRANT CONNECT ON DATABASE %I TO %I', pg_catalog.current_database(), :'role') \gexec
GRANT USAGE ON SCHEMA flag_eval TO :"role";

-- Exactly these table privileges, whatever was granted before.
REVOKE ALL ON ALL TABLES IN SCHEMA flag_eval FROM :"role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA flag_eval FROM :"role";
GRANT SELECT ON flag_eval.teams, flag_eval.flags, flag_eval.persons, flag_eval.person_distinct_ids,
                flag_eval.group_type_mappings, flag_eval.groups, flag_eval.cohorts, flag_eval.cohort_members,
                flag_eval.hash_key_overrides, flag_eval.definitions_version_counter
    TO :"role";

-- EXECUTE on record_hash_key_overrides is granted only by name; on the readers it is PUBLIC's by
-- default, granted by name as well, so the service keeps working where an administrator
-- revoked that default.
GRANT EXECUTE ON FUNCTION
    flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]),
    flag_eval.decide_outcomes(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[]),
    flag_eval.record_hash_key_overrides(text, text, text),
    flag_eval.definitions_version(),
    flag_eval.service_definitions(),
    flag_eval._team_document(bigint)
    TO :"role";

COMMIT;
