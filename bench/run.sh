#!/usr/bin/env bash
# bench/run.sh — runs flag_eval's benchmarks and rewrites bench/RESULTS.md.
#
#   1. core evaluation: build/bench/core_bench (Google Benchmark, src/core at -O2)
#   2. population scan: bench/own/pg_bench.sh in a throw-away PostgreSQL 15 cluster
#      (scripts/with-temp-cluster.sh), flag_eval installed beforehand (`make bench` does it)
#   3. decide() in the database: bench/own/decide_bench.sh (pgbench, decide() next to the bare
#      lookup of a person by distinct id) in another throw-away cluster with the same settings
#   3b. preview() in the database: bench/own/preview_bench.sh (every stored flag of the sample data
#      previewed by the released version and the current one) in a third throw-away cluster
#   5a. the GIN pre-filter: bench/own/index_bench.sh (a flag on a rare key, through the index and as
#      a scan) in a fourth throw-away cluster
#   5b. the planner: bench/own/planner_bench.sh (a 1 % flag's persons joined to their orders,
#      planned with the flag's estimate and with a flat third) in a throw-away cluster of its own
#   5c. sharded populations: bench/own/shard_bench.sh (count and breakdown at 1 and 2 postgres_fdw
#      shards, next to the unsharded table) in three more
#   4. the decide service over HTTP: bench/own/service_bench.sh (wrk against flag-decide, next to
#      SELECT 1 through the same PgBouncer) on a deploy/up.sh topology of its own (needs
#      build/flag-decide: `make bench` builds it)
#
# Layout: bench/own/ flag_eval's own benchmarks (1, 2, 3, 3b, 4), bench/field/ the comparisons with
# other systems (1b, 4b; also posthog-node in 2), bench/inputs/ what both read (flags, SQL loaders,
# wrk scripts), bench/report/ the report generators (report.py writes RESULTS.md); each folder's
# README says what it holds.
#
# Run it through `make bench` (dependencies, extension build and install, core_bench build).
# Raw outputs stay in build/bench/results/. Not a test: it fails only when a step fails or the
# flag and its native equivalent disagree on who is selected, or decide() answers wrongly, or the
# service's run failed requests or answered from the wrong place.
#
# Environment: BENCH_PERSONS (default 1000000), BENCH_RUNS (measured runs per query, default 9),
# BENCH_CORE (the core benchmark binary, default build/bench/core_bench),
# BENCH_CORE_REPETITIONS (default 9), BENCH_DECIDE_SECONDS (per pgbench run, default 15),
# BENCH_NODE_ROWS (persons posthog-node evaluates in section 2, default 100000),
# BENCH_PREVIEW_PERSONS and BENCH_PREVIEW_ROUNDS (bench/own/preview_bench.sh),
# SERVICE_BENCH_* (bench/own/service_bench.sh), FIELD_EVAL_* (bench/field/field_eval.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_CORE=${BENCH_CORE:-build/bench/core_bench}
OUT=build/bench/results
PY=/usr/bin/python3  # Debian's; the python3 first on PATH is another one

log() { echo "bench: $*" >&2; }

[[ -x $BENCH_CORE ]] || { log "$BENCH_CORE is missing: run \`make bench\`"; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
started=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 1. core evaluation ----
log "core evaluation (Google Benchmark)"
FLAG_EVAL_BENCH_FLAGS=bench/inputs/flags "$BENCH_CORE" \
    --benchmark_repetitions="${BENCH_CORE_REPETITIONS:-9}" \
    --benchmark_enable_random_interleaving=true \
    --benchmark_display_aggregates_only=true \
    --benchmark_out="$OUT/core.json" --benchmark_out_format=json \
    | tee "$OUT/core.txt"

# ---- 1b. the same flag shapes in posthog-node and flagd-core (node), checked against the core ----
log "evaluation cost against posthog-node and flagd-core (bench/field/field_eval.sh)"
BENCH_CORE=$BENCH_CORE bench/field/field_eval.sh "$OUT"

# ---- 2. population scan in PostgreSQL ----
# The table (~300 MB) fits in shared_buffers and is prewarmed, so every scan reads from shared
# buffers. wal_level=minimal lets CREATE TABLE AS skip WAL; autovacuum and JIT are off so
# that neither adds noise to the timings (the load script VACUUMs and ANALYZEs itself).
log "population scan (PostgreSQL)"
FLAG_EVAL_PG_SETTINGS="$(cat bench/cluster.conf)"
export FLAG_EVAL_PG_SETTINGS
scripts/with-temp-cluster.sh bench/own/pg_bench.sh "$OUT"

# ---- 3. decide() in PostgreSQL ----
log "decide() (PostgreSQL, pgbench)"
scripts/with-temp-cluster.sh bench/own/decide_bench.sh "$OUT"

# ---- 3b. preview() in PostgreSQL ----
log "preview() against the released version's (PostgreSQL)"
scripts/with-temp-cluster.sh bench/own/preview_bench.sh "$OUT"

# ---- 5a. the GIN pre-filter (reported as part 5, SQL at scale) ----
log "a flag on a rare key through a GIN index and as a scan (PostgreSQL)"
scripts/with-temp-cluster.sh bench/own/index_bench.sh "$OUT"

# ---- 5b. a join whose plan changes with the flag's estimate ----
log "a join planned with the flag's estimate and with a flat third (PostgreSQL)"
bench/own/planner_bench.sh "$OUT/planner" >/dev/null

# ---- 5c. sharded populations (three clusters of its own: shards and a coordinator) ----
log "population count and variant breakdown at 1 and 2 postgres_fdw shards"
bench/own/shard_bench.sh "$OUT/shards"

# ---- 4. the decide service over HTTP ----
log "the decide service (wrk, and pgbench through PgBouncer)"
BENCH_RUN_SH=1 bench/own/service_bench.sh "$OUT"

# ---- 4b. flag-decide against unleash-server ----
log "flag-decide against unleash-server (wrk, the database stopped mid-run)"
BENCH_RUN_SH=1 bench/field/unleash_bench.sh "$OUT"

# ---- 5. RESULTS.md ----
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "memory_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)"
    echo "kernel=$(uname -sr)"
    echo "compiler=$(${CXX:-g++} --version | head -n1)"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src sql 2>/dev/null || echo ' (with uncommitted changes in src/ or sql/)')"
    echo "elapsed_seconds=$((SECONDS - started))"
    echo "loadavg_before=$load_before"
    echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
$PY bench/report/report.py "$OUT" >"$OUT/RESULTS.md"
mv "$OUT/RESULTS.md" bench/RESULTS.md
log "bench/RESULTS.md written ($((SECONDS - started)) s)"
$PY bench/report/report.py --check "$OUT"
