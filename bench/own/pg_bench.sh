#!/usr/bin/env bash
# bench/own/pg_bench.sh OUTDIR
#
# The PostgreSQL half of the benchmarks. Runs inside scripts/with-temp-cluster.sh (PGHOST,
# PGPORT, ... point at a throw-away cluster where flag_eval is installed): loads the persons
# table with generate_series, checks that the flag and the native predicate select the same
# people, then times every query (1 warm-up + BENCH_RUNS measured runs, round-robin so drift
# hits all queries alike) with parallel query off, then on. Raw outputs go to OUTDIR; report.py
# turns them into bench/RESULTS.md.
#
# Against the field (issue 6): the same flags with "bucketing": "sha1" next to (b) PostHog's sha1
# bucketing written in plain SQL (bench/inputs/sql/sha1_bucketing.sql, pgcrypto), checked person by
# person, and (c) exporting the rows with COPY into posthog-node's local evaluation
# (bench/field/node/export_eval.mjs), timed export + evaluation, on the first BENCH_NODE_ROWS
# persons.
#
# Environment: BENCH_PERSONS (default 1000000), BENCH_RUNS (default 9), BENCH_NODE_ROWS (persons
# evaluated by posthog-node, default 100000; the report extrapolates per row; 0 = all).
# shellcheck disable=SC2028  # the echoed backslashes are psql meta-commands, meant literally
set -euo pipefail

OUT=${1:?usage: pg_bench.sh OUTDIR}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PERSONS=${BENCH_PERSONS:-1000000}
RUNS=${BENCH_RUNS:-9}
NODE_ROWS=${BENCH_NODE_ROWS:-100000}
[[ $NODE_ROWS =~ ^[0-9]+$ ]] || { echo "pg_bench: BENCH_NODE_ROWS must be a number of rows, not '$NODE_ROWS'" >&2; exit 2; }
((NODE_ROWS > 0 && NODE_ROWS < PERSONS)) || NODE_ROWS=$PERSONS
PSQL=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql

log() { echo "pg_bench: $*" >&2; }

flag_json() { tr -s '\n ' '  ' <"bench/inputs/flags/$1.json"; }
# The same flag bucketed with PostHog's sha1 (flag_eval's default is xxh3): docs/reference.md, Bucketing.
flag_json_sha1() { flag_json "$1" | sed 's/^{/{"bucketing": "sha1", /'; }

# psql with the flags as variables :'f3_50', :'f3_100', :'r50', :'mv', and the sha1 ones
# :'f3_50_sha1', :'r50_sha1', :'mv_sha1'.
psql_bench() {
    "$PSQL" -X -q -At -v ON_ERROR_STOP=1 \
        -v f3_50="$(flag_json three_filters_50)" \
        -v f3_100="$(flag_json three_filters_100)" \
        -v r50="$(flag_json rollout_50)" \
        -v mv="$(flag_json multivariate)" \
        -v f3_50_sha1="$(flag_json_sha1 three_filters_50)" \
        -v r50_sha1="$(flag_json_sha1 rollout_50)" \
        -v mv_sha1="$(flag_json_sha1 multivariate)" \
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
# (b): the 3 shapes in plain SQL with sha1 bucketing (bench/inputs/sql/sha1_bucketing.sql). The
# variant is picked the way flag_eval does (docs/reference.md, Bucketing): the first variant whose
# cumulative share, summed left to right in float8, exceeds the hash; width_bucket() finds it with
# one hash per row.
SQL_3F_50="$NATIVE AND public.posthog_hash01('bench-3-filters', distinct_id) <= 50::float8 / 100"
SQL_ROLLOUT_50="public.posthog_hash01('bench-rollout', distinct_id) <= 50::float8 / 100"
SQL_VARIANT="(ARRAY['control', 'test-a', 'test-b'])[1 + width_bucket(public.posthog_hash01('bench-multivariate', distinct_id, 'variant'),
    ARRAY[34::float8 / 100, 34::float8 / 100 + 33::float8 / 100, 34::float8 / 100 + 33::float8 / 100 + 33::float8 / 100])]"
# "In which variant": one GROUP BY over the population, printed on one line (control=N test-a=N ...).
variant_counts() { echo "SELECT string_agg(coalesce(variant, 'none') || '=' || n, ' ' ORDER BY coalesce(variant, 'none')) FROM (SELECT $1 AS variant, count(*) AS n FROM persons ${2:-} GROUP BY 1) v"; }
QUERY_NAMES=(plain native native_c flag_3f_50 flag_3f_100 flag_rollout_50 native_bucket_50 variant_control variant_aggregate
    flag_3f_50_sha1 sql_3f_50 flag_rollout_50_sha1 sql_rollout_50 flag_variants flag_variants_sha1 sql_variants)
declare -A QUERY=(
    [plain]="SELECT count(*) FROM persons"
    [native]="SELECT count(*) FROM persons WHERE $NATIVE"
    [native_c]="SELECT count(*) FROM persons WHERE $NATIVE_C"
    [flag_3f_50]="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'f3_50'::jsonb, distinct_id, properties)"
    [flag_3f_100]="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'f3_100'::jsonb, distinct_id, properties)"
    [flag_rollout_50]="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'r50'::jsonb, distinct_id, properties)"
    [native_bucket_50]="SELECT count(*) FROM persons WHERE $NATIVE AND flag_eval.flag_bucket('bench-3-filters', distinct_id) <= 0.5"
    [variant_control]="SELECT count(*) FROM persons WHERE flag_eval.flag_variant(:'mv'::jsonb, distinct_id, properties) = 'control'"
    # The whole breakdown in one aggregate (parallel, unlike GROUP BY); prints the control count.
    [variant_aggregate]="SELECT (flag_eval.flag_variant_counts(:'mv'::jsonb, distinct_id, properties) ->> 'control')::bigint FROM persons"
    [flag_3f_50_sha1]="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'f3_50_sha1'::jsonb, distinct_id, properties)"
    [sql_3f_50]="SELECT count(*) FROM persons WHERE $SQL_3F_50"
    [flag_rollout_50_sha1]="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'r50_sha1'::jsonb, distinct_id, properties)"
    [sql_rollout_50]="SELECT count(*) FROM persons WHERE $SQL_ROLLOUT_50"
    [flag_variants]="$(variant_counts "flag_eval.flag_variant(:'mv'::jsonb, distinct_id, properties)")"
    [flag_variants_sha1]="$(variant_counts "flag_eval.flag_variant(:'mv_sha1'::jsonb, distinct_id, properties)")"
    [sql_variants]="$(variant_counts "$SQL_VARIANT")"
)

mkdir -p "$OUT"

# ---- setup: extension, data, cache ----
log "loading $PERSONS persons"
start=$(date +%s.%N)
psql_bench -v n="$PERSONS" <<'SQL' >/dev/null
\i bench/inputs/sql/setup.sql
\i bench/inputs/sql/sha1_bucketing.sql
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
-- (b): flag_eval with sha1 bucketing and the plain-SQL sha1 bucketing, counts and person by person
SELECT 'flag_3f_50_sha1=' || (${QUERY[flag_3f_50_sha1]});
SELECT 'sql_3f_50=' || (${QUERY[sql_3f_50]});
SELECT 'disagreements_sql_3f_50=' || count(*) FROM persons
 WHERE flag_eval.flag_eval(:'f3_50_sha1'::jsonb, distinct_id, properties) IS DISTINCT FROM coalesce($SQL_3F_50, false);
SELECT 'flag_rollout_50_sha1=' || (${QUERY[flag_rollout_50_sha1]});
SELECT 'sql_rollout_50=' || (${QUERY[sql_rollout_50]});
SELECT 'disagreements_sql_rollout_50=' || count(*) FROM persons
 WHERE flag_eval.flag_eval(:'r50_sha1'::jsonb, distinct_id, properties) IS DISTINCT FROM $SQL_ROLLOUT_50;
SELECT 'flag_variants=' || (${QUERY[flag_variants]});
-- the aggregate's breakdown in GROUP BY's form (outcomes nobody gets left out, 'false' as 'none')
SELECT 'variant_counts_breakdown=' || string_agg(o.outcome || '=' || o.n, ' ' ORDER BY o.outcome)
FROM (SELECT CASE e.key WHEN 'false' THEN 'none' ELSE e.key END AS outcome, e.value AS n
      FROM jsonb_each_text((SELECT flag_eval.flag_variant_counts(:'mv'::jsonb, distinct_id, properties) FROM persons)) e
      WHERE e.value <> '0') o;
SELECT 'flag_variants_sha1=' || (${QUERY[flag_variants_sha1]});
SELECT 'sql_variants=' || (${QUERY[sql_variants]});
SELECT 'disagreements_sql_variants=' || count(*) FROM persons
 WHERE flag_eval.flag_variant(:'mv_sha1'::jsonb, distinct_id, properties) IS DISTINCT FROM $SQL_VARIANT;
-- (c): flag_eval (sha1) on the rows posthog-node evaluates
SELECT 'node_rows=' || count(*) FROM persons WHERE id <= $NODE_ROWS;
SELECT 'node_flag_3f_50_sha1=' || count(*) FROM persons
 WHERE id <= $NODE_ROWS AND flag_eval.flag_eval(:'f3_50_sha1'::jsonb, distinct_id, properties);
SELECT 'node_flag_rollout_50_sha1=' || count(*) FROM persons
 WHERE id <= $NODE_ROWS AND flag_eval.flag_eval(:'r50_sha1'::jsonb, distinct_id, properties);
SELECT 'node_flag_variants_sha1=' || ($(variant_counts "flag_eval.flag_variant(:'mv_sha1'::jsonb, distinct_id, properties)" "WHERE id <= $NODE_ROWS"));
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

# ---- (c) export + posthog-node: COPY the first NODE_ROWS persons into export_eval.mjs ----
# Each shape is one pipeline (export + evaluation), timed whole; bench/field/node/export_eval.mjs
# also times its getFeatureFlag calls alone. The export alone is timed too (median of 3).
# posthog-node buckets with sha1 whatever the flag says, so its counts are compared with the sha1
# flags' (checks.txt).
scripts/install-npm-deps.sh bench/field/node
command -v node >/dev/null || { log "node not found (Debian package nodejs)"; exit 1; }
EXPORT="COPY (SELECT distinct_id, properties FROM persons WHERE id <= $NODE_ROWS) TO STDOUT"
export_rows() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -c "$EXPORT"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
log "exporting $NODE_ROWS persons (COPY, 3 runs)"
for run in 1 2 3; do
    start=$(now_ms)
    export_rows >/dev/null
    echo "export_ms=$(($(now_ms) - start))"
done >"$OUT/node_export.txt"
for shape in three_filters_50 rollout_50 multivariate; do
    log "posthog-node local evaluation of $shape over $NODE_ROWS persons (export + evaluate)"
    start=$(now_ms)
    export_rows | node bench/field/node/export_eval.mjs "bench/inputs/flags/$shape.json" >"$OUT/node_$shape.txt"
    echo "pipeline_ms=$(($(now_ms) - start))" >>"$OUT/node_$shape.txt"
done
log "done"
