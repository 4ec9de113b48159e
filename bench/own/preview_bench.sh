#!/usr/bin/env bash
# bench/own/preview_bench.sh OUTDIR
#
# flag_eval.preview() against the released version's, in one throw-away cluster. Runs inside
# scripts/with-temp-cluster.sh; bench/run.sh calls it, and run alone it starts its own cluster
# (the settings of bench/cluster.conf). Two databases hold the same data, deploy/sample_data.sql
# with BENCH_PREVIEW_PERSONS persons (a team, 50 flags: rollouts, variants, every operator,
# dynamic, nested and static cohorts, group flags, continuity, dependencies): `released` runs
# flag_eval 0.1.0 (its preview() is plpgsql over flag_evaluate_all), `current` the default
# version (set-based SQL over one C call per subject). Each round previews every stored flag in
# each database in turn, timed on the server (clock_timestamp around each call); the rounds
# alternate which database goes first. Also checked: both give the same rows for every flag.
# Raw outputs go to OUTDIR/preview/; report.py turns them into section 2b of bench/RESULTS.md.
#
# Environment: BENCH_PREVIEW_PERSONS (default 20000), BENCH_PREVIEW_ROUNDS (default 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OUT=${1:?usage: preview_bench.sh OUTDIR}
if [[ -z ${FLAG_EVAL_PG_DATA:-} ]]; then
    export FLAG_EVAL_PG_SETTINGS=${FLAG_EVAL_PG_SETTINGS:-"$(cat bench/cluster.conf)"}
    exec scripts/with-temp-cluster.sh "$PWD/bench/own/preview_bench.sh" "$@"
fi

PERSONS=${BENCH_PREVIEW_PERSONS:-20000}
ROUNDS=${BENCH_PREVIEW_ROUNDS:-5}
RELEASED=0.1.0
PSQL=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql
D=$OUT/preview

log() { echo "preview_bench: $*" >&2; }
psql_in() {
    local db=$1
    shift
    "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

rm -rf "$D"
mkdir -p "$D"

for db in released current; do
    psql_in postgres -c "CREATE DATABASE $db"
    if [[ $db == released ]]; then
        psql_in "$db" -c "CREATE EXTENSION flag_eval VERSION '$RELEASED'"
    else
        psql_in "$db" -c "CREATE EXTENSION flag_eval"
    fi
    log "$db: loading $PERSONS persons, 50 flags"
    psql_in "$db" -v persons="$PERSONS" -f deploy/sample_data.sql >/dev/null
    psql_in "$db" -c "SELECT flag_eval.record_hash_key_overrides('phc_demo', 'user-' || i, 'anon-' || i)
                      FROM generate_series(1, $PERSONS, 7) i" >/dev/null
    psql_in "$db" -c "VACUUM ANALYZE"
done
{
    echo "persons=$PERSONS"
    echo "rounds=$ROUNDS"
    echo "released=$RELEASED"
    echo "current=$(psql_in current -c "SELECT extversion FROM pg_extension WHERE extname = 'flag_eval'")"
    echo "flags=$(psql_in current -c "SELECT count(*) FROM flag_eval.flags WHERE NOT deleted")"
    echo "subjects=$(psql_in current -c "SELECT count(DISTINCT person_id) FROM flag_eval.person_distinct_ids")"
    echo "continuity_keys=$(psql_in current -c "SELECT count(*) FROM flag_eval.hash_key_overrides")"
} >"$D/setup.txt"

# Every stored flag previewed: one line "key|ms" per flag, the server's time for the call.
read -r -d '' TIMED_PREVIEWS <<'SQL' || true
DO $$
DECLARE
    f record;
    started timestamptz;
BEGIN
    FOR f IN SELECT key, definition FROM flag_eval.flags WHERE NOT deleted ORDER BY key LOOP
        started := clock_timestamp();
        PERFORM count(*) FROM flag_eval.preview('phc_demo', f.definition || jsonb_build_object('key', f.key));
        RAISE NOTICE 'timing|%|%', f.key, round(extract(epoch FROM clock_timestamp() - started) * 1000, 3);
    END LOOP;
END
$$;
SQL

for round in $(seq 1 "$ROUNDS"); do
    order=(released current)
    ((round % 2 == 0)) && order=(current released)
    for db in "${order[@]}"; do
        log "round $round: $db"
        psql_in "$db" -c "$TIMED_PREVIEWS" 2>&1 | sed -n 's/^NOTICE:  timing|//p' |
            sed "s/^/$round|/" >>"$D/timings_$db.txt"
    done
done

# The same rows from both versions, flag by flag.
read -r -d '' ALL_PREVIEWS <<'SQL' || true
SELECT f.key || ' ' || jsonb_agg(to_jsonb(p) ORDER BY p::text)::text
FROM flag_eval.flags f
CROSS JOIN LATERAL flag_eval.preview('phc_demo', f.definition || jsonb_build_object('key', f.key)) p
WHERE NOT f.deleted GROUP BY f.key ORDER BY f.key
SQL
psql_in released -c "$ALL_PREVIEWS" >"$D/rows_released.txt"
psql_in current -c "$ALL_PREVIEWS" >"$D/rows_current.txt"
{
    echo "flags_previewed=$(wc -l <"$D/rows_current.txt")"
    echo "flags_that_differ=$(diff "$D/rows_released.txt" "$D/rows_current.txt" | grep -c '^>' || true)"
} >"$D/checks.txt"
log "done"
