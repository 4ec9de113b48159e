#!/usr/bin/env bash
# bench/pg_bench.sh OUTDIR
#
# The PostgreSQL half of the benchmarks. Runs inside scripts/with-temp-cluster.sh (PGHOST,
# PGPORT, ... point at a throw-away cluster where flag_eval is installed): loads the persons
# table with generate_series, checks that the flag and the native predicate select the same
# people, then times every query (1 warm-up + BENCH_RUNS measured runs, round-robin so drift
# hits all queries alike) with parallel query off, then on. Raw outputs go to OUTDIR; report.py
# turns them into bench/RESULTS.md.
#
# Environment: BENCH_PERSONS (default 1000000), BENCH_RUNS (default 9).
# shellcheck disable=SC2028  # the echoed backslashes are psql meta-commands, meant literally
set -euo pipefail

OUT=${1:?usage: pg_bench.sh OUTDIR}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PERSONS=${BENCH_PERSONS:-1000000}
RUNS=${BENCH_RUNS:-9}
PSQL=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql

log() { echo "pg_bench: $*" >&2; }

flag_json() { tr -s '\n ' '  ' <"bench/flags/$1.json"; }

# psql with the flags as variables :'f3_50', :'f3_100', :'r50', :'mv'.
psql_bench() {
    "$PSQL" -X -q -At -v ON_ERROR_STOP=1 \
        -v f3_50="$(flag_json three_filters_50)" \
        -v f3_100="$(flag_json three_filters_100)" \
        -v r50="$(flag_json rollout_50)" \
        -v mv="$(flag_json multivariate)" \
        "$@"
}

# The timed queries: name, then SQL. The native predicate is the 3-filter flag written in SQL:
# exact is case-insensitive (lower() on both sides; the generated plans and countries come in
# mixed case), gte is numeric (a missing age is NULL, hence false, as a missing key never
# matches gte).
NATIVE="lower(properties->>'plan') IN ('pro', 'enterprise') AND lower(properties->>'country') = 'us' AND (properties->>'age')::float8 >= 21"
# NATIVE_C is the same predicate with lower() under the "C" collation (ASCII case folding, no
# libc wide-character path): equivalent on this data (all ASCII), a stricter floor.
NATIVE_C="lower(properties->>'plan' COLLATE \"C\") IN ('pro', 'enterprise') AND lower(properties->>'country' COLLATE \"C\") = 'us' AND (properties->>'age')::float8 >= 21"
QUERY_NAMES=(plain native native_c flag_3f_50 flag_3f_100 flag_rollout_50 native_bucket_50 variant_control)
declare -A QUERY=(
    [plain]="SELECT count(*) FROM persons"
    [native]="SELECT count(*) FROM persons WHERE $NATIVE"
    [native_c]="SELECT count(*) FROM persons WHERE $NATIVE_C"
    [flag_3f_50]="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'f3_50'::jsonb, distinct_id, properties)"
    [flag_3f_100]="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'f3_100'::jsonb, distinct_id, properties)"
    [flag_rollout_50]="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'r50'::jsonb, distinct_id, properties)"
    [native_bucket_50]="SELECT count(*) FROM persons WHERE $NATIVE AND flag_eval.flag_bucket('bench-3-filters', distinct_id) <= 0.5"
    [variant_control]="SELECT count(*) FROM persons WHERE flag_eval.flag_variant(:'mv'::jsonb, distinct_id, properties) = 'control'"
)

mkdir -p "$OUT"

# ---- setup: extension, data, cache ----
log "loading $PERSONS persons"
start=$(date +%s.%N)
psql_bench -v n="$PERSONS" <<'SQL' >/dev/null
\i bench/sql/setup.sql
SQL
end=$(date +%s.%N)
echo "load_seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')" >"$OUT/setup.txt"

psql_bench <<'SQL' >>"$OUT/setup.txt"
SELECT 'server_version=' || current_setting('server_version');
SELECT 'persons=' || count(*) FROM persons;
SELECT 'table_size=' || pg_size_pretty(pg_table_size('persons'));
SELECT 'avg_properties_bytes=' || round(avg(pg_column_size(properties))) FROM persons;
SELECT 'shared_buffers=' || current_setting('shared_buffers');
SELECT 'jit=' || current_setting('jit');
SELECT 'max_parallel_workers_per_gather_default=' || current_setting('max_parallel_workers_per_gather');
SELECT 'sample_properties=' || properties::text FROM persons WHERE id = 1;
SQL

# ---- correctness: the flag and the native predicate select the same people ----
log "checking that flag and native predicate agree"
psql_bench <<SQL >"$OUT/checks.txt"
SET max_parallel_workers_per_gather = 0;
SELECT 'native=' || (${QUERY[native]});
SELECT 'native_c=' || (${QUERY[native_c]});
SELECT 'flag_3f_100=' || (${QUERY[flag_3f_100]});
SELECT 'flag_3f_50=' || (${QUERY[flag_3f_50]});
SELECT 'native_bucket_50=' || (${QUERY[native_bucket_50]});
SELECT 'flag_rollout_50=' || (${QUERY[flag_rollout_50]});
SELECT 'bucket_rollout_50=' || count(*) FROM persons WHERE flag_eval.flag_bucket('bench-rollout', distinct_id) <= 0.5;
SELECT 'variant_control=' || (${QUERY[variant_control]});
-- flag_eval and the native predicate person by person, both ways (not just equal counts)
SELECT 'disagreements_3f_100=' || count(*) FROM persons
 WHERE flag_eval.flag_eval(:'f3_100'::jsonb, distinct_id, properties) IS DISTINCT FROM coalesce($NATIVE, false);
SQL

# ---- plans ----
for mode in serial parallel; do
    {
        echo "SET max_parallel_workers_per_gather = $([[ $mode == serial ]] && echo 0 || echo DEFAULT);"
        for q in "${QUERY_NAMES[@]}"; do
            echo "\\echo @@ $q"
            echo "EXPLAIN (COSTS OFF) ${QUERY[$q]};"
        done
    } | psql_bench >"$OUT/plans_$mode.txt"
done
psql_bench <<SQL >"$OUT/buffers.txt"
SET max_parallel_workers_per_gather = 0;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, COSTS OFF) ${QUERY[flag_3f_50]};
SQL

# ---- timings: run 0 is the warm-up ----
for mode in serial parallel; do
    log "timing, parallel query $([[ $mode == serial ]] && echo off || echo on): 1 warm-up + $RUNS runs of ${#QUERY_NAMES[@]} queries"
    {
        echo "SET max_parallel_workers_per_gather = $([[ $mode == serial ]] && echo 0 || echo DEFAULT);"
        echo "\\timing on"
        for ((run = 0; run <= RUNS; run++)); do
            for q in "${QUERY_NAMES[@]}"; do
                echo "\\echo @@ $q $run"
                echo "${QUERY[$q]};"
            done
        done
    } | psql_bench >"$OUT/timings_$mode.txt"
done
log "done"
