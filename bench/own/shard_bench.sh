#!/usr/bin/env bash
# bench/own/shard_bench.sh [OUTDIR]
#
# A population count and a variant breakdown over persons sharded with postgres_fdw, at 1 and 2
# shards, next to the same table unsharded, all measured in one run. Three throw-away PostgreSQL
# 15 clusters on this machine (scripts/with-temp-cluster.sh, one inside the other, the settings
# of bench/cluster.conf): shard1, shard2 and a coordinator. Each loads BENCH_SHARD_PERSONS persons
# with bench/inputs/sql/load_persons.sql (the population of bench/own/pg_bench.sh):
#   - the coordinator keeps them in persons, the unsharded baseline;
#   - 1 shard: persons_1shard on the coordinator, hash-partitioned by distinct id into one foreign
#     partition, shard1's persons (every person);
#   - 2 shards: persons_2shards, two foreign partitions (MODULUS 2), shard1's and shard2's
#     persons_half, each the persons its partition bound admits (satisfies_hash_partition).
# The servers have extensions 'flag_eval' and async_capable 'true' (test/t/050_sharded_population.pl
# checks what that does). Each sharded query is timed in two forms:
#   - per shard: one aggregate per foreign partition under UNION ALL, so that each shard evaluates
#     and counts (or groups by flag_variant) and returns one row per variant;
#   - over the parent: for the count, the shards evaluate the flag and return the rows it keeps,
#     counted on the coordinator; for the breakdown, the shards return every person and the
#     coordinator evaluates (PostgreSQL 15's postgres_fdw pushes no partial aggregate, so
#     enable_partitionwise_aggregate would not help).
# The unsharded baseline is timed with one backend (max_parallel_workers_per_gather = 0, as the
# shards' queries run: postgres_fdw reads through a cursor, whose plan is never parallel) and
# with parallel query allowed (2 workers; the table says what the planner used). Every query
# answers once before the timings, and each sharded answer must equal the unsharded one. Then 1
# warm-up and BENCH_SHARD_RUNS measured runs of every query, round-robin, psql's \timing on the
# coordinator; the median, min and max of each.
#
# The shards are separate servers but not separate machines: with 2 CPUs, the two shards' backends
# take one core each and the coordinator waits, so 2 shards can at best halve the time, and any
# other work on the machine takes from them.
#
# Prints a markdown section (also OUTDIR/section.md, part 5c of bench/RESULTS.md); raw outputs in
# OUTDIR (default build/bench/results/shards, as bench/run.sh passes it). Needs flag_eval
# installed (make install) and is run as root, like the other benchmarks (with-temp-cluster.sh
# runs the servers as postgres).
#
# Environment: BENCH_SHARD_PERSONS (default 1000000), BENCH_SHARD_RUNS (default 5).
# shellcheck disable=SC2028  # the echoed backslashes are psql meta-commands, meant literally
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SELF=$PWD/bench/own/shard_bench.sh
log() { echo "shard_bench: $*" >&2; }
die() { log "$*"; exit 1; }

# ---- three clusters: each stage runs the next one inside a throw-away cluster of its own ----
case ${SHARD_BENCH_STAGE:-} in
    '')
        export FLAG_EVAL_PG_SETTINGS=${FLAG_EVAL_PG_SETTINGS:-"$(cat bench/cluster.conf)"}
        export SHARD_BENCH_STAGE=shard1
        exec scripts/with-temp-cluster.sh "$SELF" "$@"
        ;;
    shard1)
        export SHARD_BENCH_SHARD1_PORT=$PGPORT SHARD_BENCH_STAGE=shard2
        exec scripts/with-temp-cluster.sh "$SELF" "$@"
        ;;
    shard2)
        export SHARD_BENCH_SHARD2_PORT=$PGPORT SHARD_BENCH_STAGE=coordinator
        exec scripts/with-temp-cluster.sh "$SELF" "$@"
        ;;
    coordinator) ;;
    *) die "unknown SHARD_BENCH_STAGE '$SHARD_BENCH_STAGE'" ;;
esac

OUT=${1:-build/bench/results/shards}
PERSONS=${BENCH_SHARD_PERSONS:-1000000}
RUNS=${BENCH_SHARD_RUNS:-5}
[[ $PERSONS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SHARD_PERSONS must be a number of persons, not '$PERSONS'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SHARD_RUNS must be a number of runs, not '$RUNS'"
PSQL=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql
COORDINATOR_PORT=$PGPORT
SHARD1_PORT=$SHARD_BENCH_SHARD1_PORT
SHARD2_PORT=$SHARD_BENCH_SHARD2_PORT
rm -rf "$OUT"
mkdir -p "$OUT"

flag_json() { tr -s '\n ' '  ' <"bench/inputs/flags/$1.json"; }

# psql on the server at port $1, with the flags as variables :'f3_50' and :'mv'.
psql_at() {
    local port=$1
    shift
    "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -p "$port" \
        -v f3_50="$(flag_json three_filters_50)" -v mv="$(flag_json multivariate)" "$@"
}

# ---- load: the three servers at once ----
# Shard k (0-based) keeps in persons_half the persons of hash partition k of 2, as the coordinator
# would route them (satisfies_hash_partition needs a table hash-partitioned by a text: shard_route).
load_shard() {
    local port=$1 remainder=$2 keep_all=$3
    psql_at "$port" -v n="$PERSONS" <<SQL >/dev/null
CREATE EXTENSION flag_eval;
CREATE EXTENSION pg_prewarm;
\i bench/inputs/sql/load_persons.sql
CREATE TABLE shard_route (distinct_id text) PARTITION BY HASH (distinct_id);
CREATE TABLE persons_half AS
SELECT * FROM persons WHERE satisfies_hash_partition('shard_route'::regclass, 2, $remainder, distinct_id);
VACUUM (FREEZE, ANALYZE) persons_half;
$([[ $keep_all == yes ]] && echo "SELECT pg_prewarm('persons');" || echo "DROP TABLE persons;")
SELECT pg_prewarm('persons_half');
SQL
}
load_coordinator() {
    psql_at "$COORDINATOR_PORT" -v n="$PERSONS" <<'SQL' >/dev/null
CREATE EXTENSION flag_eval;
CREATE EXTENSION pg_prewarm;
\i bench/inputs/sql/load_persons.sql
SELECT pg_prewarm('persons');
SQL
}
log "loading $PERSONS persons on the coordinator and both shards"
start=$SECONDS
load_shard "$SHARD1_PORT" 0 yes &
shard1_load=$!
load_shard "$SHARD2_PORT" 1 no &
shard2_load=$!
load_coordinator
wait "$shard1_load" || die "loading shard1 failed"
wait "$shard2_load" || die "loading shard2 failed"
load_seconds=$((SECONDS - start))

# ---- the coordinator's servers and sharded tables ----
psql_at "$COORDINATOR_PORT" <<SQL >/dev/null
CREATE EXTENSION postgres_fdw;
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$SHARD1_PORT',
    dbname 'postgres', extensions 'flag_eval', async_capable 'true', fetch_size '10000');
CREATE SERVER shard2 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$SHARD2_PORT',
    dbname 'postgres', extensions 'flag_eval', async_capable 'true', fetch_size '10000');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard1 OPTIONS (user 'postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard2 OPTIONS (user 'postgres');
CREATE TABLE persons_1shard (id bigint, distinct_id text, properties jsonb) PARTITION BY HASH (distinct_id);
CREATE FOREIGN TABLE persons_1shard_p0 PARTITION OF persons_1shard FOR VALUES WITH (MODULUS 1, REMAINDER 0)
    SERVER shard1 OPTIONS (table_name 'persons');
CREATE TABLE persons_2shards (id bigint, distinct_id text, properties jsonb) PARTITION BY HASH (distinct_id);
CREATE FOREIGN TABLE persons_2shards_p0 PARTITION OF persons_2shards FOR VALUES WITH (MODULUS 2, REMAINDER 0)
    SERVER shard1 OPTIONS (table_name 'persons_half');
CREATE FOREIGN TABLE persons_2shards_p1 PARTITION OF persons_2shards FOR VALUES WITH (MODULUS 2, REMAINDER 1)
    SERVER shard2 OPTIONS (table_name 'persons_half');
SQL

# ---- the queries ----
count_of() { echo "SELECT count(*) FROM $1 WHERE flag_eval.flag_eval(:'f3_50'::jsonb, distinct_id, properties)"; }
variants_of() { echo "SELECT flag_eval.flag_variant(:'mv'::jsonb, distinct_id, properties) AS variant, count(*) AS n FROM $1 GROUP BY 1"; }
# "variant=n ..." on one line, in variant order.
breakdown() { echo "SELECT string_agg(coalesce(variant, 'none') || '=' || n, ' ' ORDER BY coalesce(variant, 'none')) FROM ($1) v"; }
# One aggregate per foreign partition, summed on the coordinator.
per_shard_count() {
    local parts=() p
    for p in "$@"; do parts+=("$(count_of "$p")"); done
    echo "SELECT sum(n) FROM ($(join_union "${parts[@]}")) s(n)"
}
per_shard_variants() {
    local parts=() p
    for p in "$@"; do parts+=("$(variants_of "$p")"); done
    breakdown "SELECT variant, sum(n) AS n FROM ($(join_union "${parts[@]}")) s GROUP BY variant"
}
join_union() {
    local first=$1 part
    shift
    printf '%s' "$first"
    for part in "$@"; do printf ' UNION ALL %s' "$part"; done
}

# Each query's name, what the table says of it, and its SQL. Names ending in _parallel run with
# parallel query, the others with one backend.
QUERY_NAMES=(count_local count_local_parallel count_1shard count_2shards count_1shard_parent count_2shards_parent
    variants_local variants_local_parallel variants_1shard variants_2shards variants_1shard_parent variants_2shards_parent)
declare -A LABEL=(
    [count_local]="unsharded, one backend"
    [count_local_parallel]="unsharded, parallel query (set from the plan below)"
    [count_1shard]="1 shard, counted on the shard"
    [count_2shards]="2 shards, counted on each shard, at once"
    [count_1shard_parent]="1 shard, over the parent: kept rows counted on the coordinator"
    [count_2shards_parent]="2 shards, over the parent: kept rows counted on the coordinator"
    [variants_local]="unsharded, one backend"
    [variants_local_parallel]="unsharded, parallel query (set from the plan below)"
    [variants_1shard]="1 shard, grouped on the shard"
    [variants_2shards]="2 shards, grouped on each shard, at once"
    [variants_1shard_parent]="1 shard, over the parent: every person evaluated on the coordinator"
    [variants_2shards_parent]="2 shards, over the parent: every person evaluated on the coordinator"
)
declare -A QUERY=(
    [count_local]="$(count_of persons)"
    [count_local_parallel]="$(count_of persons)"
    [count_1shard]="$(per_shard_count persons_1shard_p0)"
    [count_2shards]="$(per_shard_count persons_2shards_p0 persons_2shards_p1)"
    [count_1shard_parent]="$(count_of persons_1shard)"
    [count_2shards_parent]="$(count_of persons_2shards)"
    [variants_local]="$(breakdown "$(variants_of persons)")"
    [variants_local_parallel]="$(breakdown "$(variants_of persons)")"
    [variants_1shard]="$(per_shard_variants persons_1shard_p0)"
    [variants_2shards]="$(per_shard_variants persons_2shards_p0 persons_2shards_p1)"
    [variants_1shard_parent]="$(breakdown "$(variants_of persons_1shard)")"
    [variants_2shards_parent]="$(breakdown "$(variants_of persons_2shards)")"
)
set_parallel() {
    if [[ $1 == *_parallel ]]; then
        echo "SET max_parallel_workers_per_gather = 2;"
    else
        echo "SET max_parallel_workers_per_gather = 0;"
    fi
}

# ---- checks: every sharded answer equals the unsharded one ----
log "checking the sharded answers against the unsharded ones"
for q in "${QUERY_NAMES[@]}"; do
    set_parallel "$q"
    echo "\\echo @@ $q"
    echo "${QUERY[$q]};"
done | psql_at "$COORDINATOR_PORT" >"$OUT/answers.txt"
awk '/^@@ / { name = $2; next } { print name "=" $0 }' "$OUT/answers.txt" >"$OUT/checks.txt"
failed=0
for kind in count variants; do
    expected=$(sed -n "s/^${kind}_local=//p" "$OUT/checks.txt")
    [[ -n $expected ]] || die "no unsharded $kind answer (see $OUT/answers.txt)"
    while IFS='=' read -r name answer; do
        if [[ $answer != "$expected" ]]; then
            log "$name answers '$answer', the unsharded table '$expected'"
            failed=1
        fi
    done < <(grep "^${kind}_" "$OUT/checks.txt")
done
((failed == 0)) || die "sharded and unsharded answers differ"
shard1_half=$(psql_at "$SHARD1_PORT" -c "SELECT count(*) FROM persons_half")
shard2_half=$(psql_at "$SHARD2_PORT" -c "SELECT count(*) FROM persons_half")
((shard1_half + shard2_half == PERSONS)) || die "the two shards hold $shard1_half + $shard2_half persons, not $PERSONS"

# The plans (EXPLAIN VERBOSE): where each form runs what, and how many workers the planner gives
# the unsharded table when it may (none, for the breakdown: it expects as many variants as rows,
# so a partial aggregate looks useless).
for q in "${QUERY_NAMES[@]}"; do
    set_parallel "$q"
    echo "\\echo @@ $q"
    echo "EXPLAIN (VERBOSE, COSTS OFF) ${QUERY[$q]};"
done | psql_at "$COORDINATOR_PORT" >"$OUT/plans.txt"
plan_of() { awk -v q="$1" '/^@@ / { on = ($2 == q); next } on' "$OUT/plans.txt"; }
plan_of count_2shards | grep -q 'Remote SQL: SELECT count(\*) FROM public.persons_half WHERE (flag_eval.flag_eval(' \
    || die "the per-shard count is not made on the shards (see $OUT/plans.txt)"
for q in count_local_parallel variants_local_parallel; do
    workers=$(plan_of "$q" | sed -n 's/^ *Workers Planned: //p')
    if [[ -n $workers ]]; then
        LABEL[$q]="unsharded, parallel query ($workers workers)"
    else
        LABEL[$q]="unsharded, parallel query allowed (no worker planned)"
    fi
done

# ---- timings: run 0 is the warm-up ----
log "timing: 1 warm-up + $RUNS runs of ${#QUERY_NAMES[@]} queries"
for ((run = 0; run <= RUNS; run++)); do
    for q in "${QUERY_NAMES[@]}"; do
        set_parallel "$q"
        echo "\\echo @@ $q $run"
        echo "\\timing on"
        echo "${QUERY[$q]};"
        echo "\\timing off"
    done
done | psql_at "$COORDINATOR_PORT" >"$OUT/timings.txt"

# name -> "median min max" (ms) of the measured runs.
declare -A STATS
while read -r name median min max; do
    STATS[$name]="$median $min $max"
done < <(awk '
    /^@@ / { name = $2; run = $3; next }
    /^Time: / && name != "" && run > 0 { t[name] = t[name] " " $2; name = "" }
    END {
        for (q in t) {
            n = split(substr(t[q], 2), v, " ")
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { x = v[i]; v[i] = v[j]; v[j] = x }
            median = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "%s %.1f %.1f %.1f\n", q, median, v[1], v[n]
        }
    }' "$OUT/timings.txt")
for q in "${QUERY_NAMES[@]}"; do
    [[ -n ${STATS[$q]:-} ]] || die "no timing for $q (see $OUT/timings.txt)"
done

# ---- the markdown section ----
table_size=$(psql_at "$COORDINATOR_PORT" -c "SELECT pg_size_pretty(pg_table_size('persons'))")
server_version=$(psql_at "$COORDINATOR_PORT" -c "SHOW server_version")
variants=$(sed -n 's/^variants_local=//p' "$OUT/checks.txt")
enabled=$(sed -n 's/^count_local=//p' "$OUT/checks.txt")
# One row of the table: query $1, its median, min–max and ratio to the unsharded one backend.
row() {
    local q=$1 kind=${1%%_*} baseline median min max
    read -r median min max <<<"${STATS[$q]}"
    read -r baseline _ <<<"${STATS[${kind}_local]}"
    printf '| %s | %s | %s | %s–%s | %s |\n' "$kind" "${LABEL[$q]}" "$median" "$min" "$max" \
        "$(awk -v a="$median" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')"
}
{
    echo "### 5c. Sharded populations: 1 and 2 shards over postgres_fdw"
    echo
    echo "$PERSONS persons (\`bench/inputs/sql/load_persons.sql\`, $table_size unsharded), hash-partitioned by distinct id over foreign partitions (postgres_fdw, \`extensions 'flag_eval'\`, \`async_capable 'true'\`). Three PostgreSQL $server_version clusters on this machine with \`bench/cluster.conf\`: a coordinator (the unsharded table, the partitioned ones) and two shards, every table prewarmed. *count*: \`count(*) WHERE flag_eval(three_filters_50.json)\` ($enabled persons); *variants*: \`GROUP BY flag_variant(multivariate.json)\` ($variants). *Per shard* is one aggregate per foreign partition under UNION ALL: each shard evaluates and counts, and returns one row per variant (EXPLAIN VERBOSE: the Remote SQL holds the aggregate); *over the parent*, the shards evaluate the count's flag and return the rows it keeps, but return every person for the breakdown, which the coordinator evaluates (PostgreSQL 15's postgres_fdw pushes no partial aggregate, so \`enable_partitionwise_aggregate\` does not move it). Every sharded answer was checked equal to the unsharded one. Milliseconds on the coordinator (psql \`\\timing\`), median and min–max of $RUNS runs after a warm-up, round-robin; the ratio is to the unsharded table with one backend, measured in the same run (a shard's query runs with one backend too: postgres_fdw reads through a cursor, never planned in parallel)."
    echo
    echo "| query | where | median ms | min–max | × unsharded, one backend |"
    echo "|---|---|---:|---:|---:|"
    for q in "${QUERY_NAMES[@]}"; do
        row "$q"
    done
    echo
    echo "The shards are separate servers on one machine with $(nproc) CPUs, not separate machines: with 2 shards each shard's backend has one core and the coordinator mostly waits, so two shards can at best halve the time, and compete with anything else running (load average $(cut -d' ' -f1-3 /proc/loadavg) after the run). The unsharded parallel query uses the same two cores when it is planned with workers; the breakdown is not (the planner expects as many variants as persons, so a partial aggregate looks useless). Loading took ${load_seconds} s (the three servers at once)."
    echo
    echo "Reproduce: \`BENCH_SHARD_PERSONS=$PERSONS BENCH_SHARD_RUNS=$RUNS bench/own/shard_bench.sh\` (as root, flag_eval installed with \`make install\`; commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)). Raw outputs: \`$OUT/\`."
} | tee "$OUT/section.md"
log "done"
