#!/usr/bin/env bash
# bench/own/decide_bench.sh OUTDIR
#
# flag_eval.decide() in the database, next to the bare lookup of a person's properties by
# distinct id, in one throw-away cluster. Runs inside scripts/with-temp-cluster.sh (PGHOST,
# PGPORT, ... point at a cluster where flag_eval is installed); bench/run.sh calls it, and run
# alone it starts its own cluster (same settings as run.sh). Loads bench/inputs/sql/load_decide.sql
# (one team, BENCH_PERSONS persons, 50 flags), checks that decide() answers every flag without error
# and with the stored data, records the tables decide() reads and how, then runs pgbench
# (-M prepared, fixed duration, per-transaction latency logs) for each client count on
#
#   lookup      bench/own/lookup.pgbench          the baseline: persons JOIN person_distinct_ids
#   decide      bench/own/decide.pgbench          decide() for a random person and organization
#   decide_one  bench/own/decide_one_flag.pgbench the same decide(), answer limited to one flag
#
# in BENCH_DECIDE_ROUNDS rounds, round-robin over client counts and scripts. Raw outputs go to
# OUTDIR/decide/; report.py turns them into section 2 of bench/RESULTS.md.
#
# Environment: BENCH_PERSONS (default 1000000), BENCH_DECIDE_SECONDS (per script and client
# count, split over the rounds; default 15), BENCH_DECIDE_ROUNDS (default 3),
# BENCH_DECIDE_CLIENTS (space-separated clients:threads, default "1:1 4:2").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OUT=${1:?usage: decide_bench.sh OUTDIR}
if [[ -z ${FLAG_EVAL_PG_DATA:-} ]]; then
    # run alone: the same settings as bench/run.sh, in a cluster of our own
    export FLAG_EVAL_PG_SETTINGS=${FLAG_EVAL_PG_SETTINGS:-"$(cat bench/cluster.conf)"}
    exec scripts/with-temp-cluster.sh "$PWD/bench/own/decide_bench.sh" "$@"
fi

PERSONS=${BENCH_PERSONS:-1000000}
DURATION=${BENCH_DECIDE_SECONDS:-15}
ROUNDS=${BENCH_DECIDE_ROUNDS:-3}
ROUND_SECONDS=$(((DURATION + ROUNDS - 1) / ROUNDS))
read -r -a CLIENTS <<<"${BENCH_DECIDE_CLIENTS:-1:1 4:2}"
BINDIR=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}
PSQL=$BINDIR/psql
PGBENCH=$BINDIR/pgbench
D=$OUT/decide

log() { echo "decide_bench: $*" >&2; }
psql_bench() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

rm -rf "$D"
mkdir -p "$D"

# ---- setup ----
log "loading $PERSONS persons, 50 flags"
start=$(date +%s.%N)
psql_bench -v n="$PERSONS" -f bench/inputs/sql/load_decide.sql >/dev/null
end=$(date +%s.%N)
{
    echo "load_seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
    echo "rounds=$ROUNDS"
    echo "round_seconds=$ROUND_SECONDS"
    echo "pgbench_version=$("$PGBENCH" --version)"
} >"$D/setup.txt"
psql_bench <<'SQL' >>"$D/setup.txt"
SELECT 'server_version=' || current_setting('server_version');
SELECT 'shared_buffers=' || current_setting('shared_buffers');
SELECT 'persons=' || count(*) FROM flag_eval.persons WHERE team_id = 1;
SELECT 'distinct_ids=' || count(*) FROM flag_eval.person_distinct_ids WHERE team_id = 1;
SELECT 'persons_size=' || pg_size_pretty(pg_total_relation_size('flag_eval.persons'));
SELECT 'distinct_ids_size=' || pg_size_pretty(pg_total_relation_size('flag_eval.person_distinct_ids'));
SELECT 'groups=' || count(*) FROM flag_eval.groups WHERE team_id = 1;
SELECT 'static_cohort_members=' || count(*) FROM flag_eval.cohort_members;
SELECT 'flags=' || count(*) FROM flag_eval.flags WHERE team_id = 1 AND NOT deleted;
SELECT 'active_flags=' || count(*) FROM flag_eval.flags WHERE team_id = 1 AND NOT deleted AND active;
SELECT 'sample_properties=' || p.properties::text
FROM flag_eval.person_distinct_ids d JOIN flag_eval.persons p ON p.id = d.person_id
WHERE d.team_id = 1 AND d.distinct_id = 'user-1';
SELECT 'sample_flag=' || (flag_eval.decide('phc_bench', 'user-1', groups => '{"organization": "org-1"}')
                          -> 'flags' -> 'mv-checkout')::text;
SQL

# ---- checks: every flag answered, no error, and the stored data used ----
# 1,000 persons spread over the table, each with an organization. Each *_disagreements count is
# the persons for whom a flag's answer differs from the same rule written in SQL over the stored
# rows: stored person properties (paid-plan), a dynamic cohort (cohort-paying-adults), the
# static cohort (cohort-beta-testers), stored group properties (org-gold).
log "checks"
psql_bench -v n="$PERSONS" <<'SQL' >"$D/checks.txt"
CREATE TEMP TABLE answers AS
SELECT s.id, 'org-' || (s.id % 1000) AS org,
       flag_eval.decide('phc_bench', 'user-' || s.id,
                        groups => jsonb_build_object('organization', 'org-' || (s.id % 1000)))::jsonb AS body
FROM (SELECT 1 + (i * 997) % :n AS id FROM generate_series(1, 1000) AS i) s;
SELECT 'answers=' || count(*) FROM answers;
SELECT 'min_flags=' || min(n) || E'\nmax_flags=' || max(n)
FROM (SELECT (SELECT count(*) FROM jsonb_object_keys(body -> 'flags')) AS n FROM answers) s;
SELECT 'answers_with_errors=' || count(*) FILTER (WHERE (body ->> 'errorsWhileComputingFlags')::boolean IS DISTINCT FROM false)
FROM answers;
SELECT 'failed_flags=' || count(*) FILTER (WHERE (f.value ->> 'failed')::boolean)
       || E'\nenabled_share=' || round(avg(((f.value ->> 'enabled')::boolean)::int), 3)
       || E'\nwith_payload=' || count(*) FILTER (WHERE f.value -> 'metadata' ->> 'payload' IS NOT NULL)
       || E'\nreasons=' || (SELECT string_agg(code || ':' || c, ' ' ORDER BY c DESC)
                            FROM (SELECT f2.value -> 'reason' ->> 'code' AS code, count(*) AS c
                                  FROM answers, jsonb_each(body -> 'flags') AS f2 GROUP BY 1) r)
FROM answers, jsonb_each(body -> 'flags') AS f;
SELECT 'avg_body_bytes=' || round(avg(octet_length(body::text))) FROM answers;
SELECT 'paid_plan_disagreements=' || count(*)
FROM answers a JOIN flag_eval.persons p ON p.id = a.id
WHERE (a.body #>> '{flags,paid-plan,enabled}')::boolean
      IS DISTINCT FROM coalesce(lower(p.properties ->> 'plan') IN ('pro', 'enterprise'), false);
SELECT 'cohort_disagreements=' || count(*)
FROM answers a JOIN flag_eval.persons p ON p.id = a.id
WHERE (a.body #>> '{flags,cohort-paying-adults,enabled}')::boolean
      IS DISTINCT FROM coalesce(lower(p.properties ->> 'plan') IN ('pro', 'enterprise', 'team')
                                AND (p.properties ->> 'age')::numeric >= 25, false);
SELECT 'static_cohort_disagreements=' || count(*)
FROM answers a
WHERE (a.body #>> '{flags,cohort-beta-testers,enabled}')::boolean
      IS DISTINCT FROM EXISTS (SELECT FROM flag_eval.cohort_members m WHERE m.cohort_id = 3 AND m.person_id = a.id);
SELECT 'group_disagreements=' || count(*)
FROM answers a JOIN flag_eval.groups g ON g.team_id = 1 AND g.group_type_index = 0 AND g.group_key = a.org
WHERE (a.body #>> '{flags,org-gold,enabled}')::boolean
      IS DISTINCT FROM (g.properties ->> 'tier' = 'gold'
                        OR ((g.properties ->> 'seats')::numeric > 300 AND flag_eval.flag_bucket('org-gold', a.org) <= 0.5));
SELECT 'persons_enabled_paid_plan=' || count(*) FILTER (WHERE (body #>> '{flags,paid-plan,enabled}')::boolean)
       || E'\npersons_in_static_cohort=' || count(*) FILTER (WHERE (body #>> '{flags,cohort-beta-testers,enabled}')::boolean)
       || E'\norgs_gold_enabled=' || count(*) FILTER (WHERE (body #>> '{flags,org-gold,enabled}')::boolean)
FROM answers;
SQL

# ---- scans: the bare lookup's plan, and what one decide() call reads ----
# decide() runs its index lookups itself, with no query plan to explain: its transaction's
# statistics (pg_stat_xact_user_tables, once the counts of earlier statements are flushed) show
# which tables it read and how.
psql_bench <<'SQL' >"$D/plan_lookup.txt"
EXPLAIN (COSTS OFF)
SELECT p.properties FROM flag_eval.person_distinct_ids d JOIN flag_eval.persons p ON p.id = d.person_id
WHERE d.team_id = 1 AND d.distinct_id = 'user-' || 12345;
SQL
psql_bench <<'SQL' | grep -E '^[a-z_]+\|[0-9]+\|[0-9]+$' >"$D/scans_decide.txt"
SELECT flag_eval.decide('phc_bench', 'user-1') IS NOT NULL;  -- compiles the team's flags: not counted below
SELECT pg_stat_force_next_flush();
BEGIN;
SELECT flag_eval.decide('phc_bench', 'user-12345', groups => '{"organization": "org-345"}') IS NOT NULL;
SELECT relname || '|' || seq_scan || '|' || idx_scan FROM pg_stat_xact_user_tables
WHERE schemaname = 'flag_eval' AND (seq_scan > 0 OR idx_scan > 0) ORDER BY relname;
COMMIT;
SQL

# ---- pgbench: warm-up, then ROUNDS rounds; in each, every client count and script in turn ----
# (round-robin, so that drift and other work on the machine hit every script alike)
run_pgbench() {  # name clients threads seconds [round]
    local name=$1 c=$2 j=$3 t=$4 round=${5:-}
    local script
    case $name in
        lookup) script=bench/own/lookup.pgbench ;;
        decide) script=bench/own/decide.pgbench ;;
        decide_one) script=bench/own/decide_one_flag.pgbench ;;
    esac
    local args=(-n -M prepared -T "$t" -c "$c" -j "$j" -D persons="$PERSONS" -f "$script")
    if [[ -n $round ]]; then
        mkdir -p "$D/log_${name}_c$c"
        args+=(-l --log-prefix="$D/log_${name}_c$c/r$round")
    fi
    "$PGBENCH" "${args[@]}" 2>&1
}
log "warm-up: 3 s of each script"
for name in lookup decide decide_one; do
    run_pgbench "$name" 2 2 3 >/dev/null
done
for ((round = 1; round <= ROUNDS; round++)); do
    for cj in "${CLIENTS[@]}"; do
        c=${cj%%:*} j=${cj##*:}
        for name in lookup decide decide_one; do
            out="$D/pgbench_${name}_c${c}_r$round.txt"
            log "round $round/$ROUNDS: pgbench $name -c $c -j $j -T $ROUND_SECONDS -M prepared"
            run_pgbench "$name" "$c" "$j" "$ROUND_SECONDS" "$round" >"$out"
            grep -q '^number of failed transactions: 0 ' "$out" || {
                cat "$out" >&2
                log "pgbench $name -c $c had failed transactions"
                exit 1
            }
        done
    done
done
log "done"
