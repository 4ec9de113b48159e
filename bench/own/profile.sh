#!/usr/bin/env bash
# bench/own/profile.sh [QUERY...] — where a backend spends its time in the benchmark's scans.
#
# Not part of `make bench`; run it after `make bench` (flag_eval built and installed), as root
# (perf attaches to the backend, which runs as postgres). For each QUERY (names from
# bench/own/pg_bench.sh; default: flag_3f_50 native), loads the same persons table in a throw-away
# cluster, runs the query serially in a loop for BENCH_PROFILE_SECONDS (default 8) while
# `perf record` samples that one backend, and writes the flat profile (self time per symbol)
# and the callers of the hottest symbols to build/bench/profile/<query>.txt.
#
# Environment: BENCH_PERSONS (default 1000000), BENCH_PROFILE_SECONDS (default 8).
# shellcheck disable=SC2028  # the echoed backslashes are psql meta-commands, meant literally
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OUT=build/bench/profile
PERF=${PERF:-perf}

if [[ ${1:-} != --inside-cluster ]]; then
    command -v "$PERF" >/dev/null || { echo "profile: perf not found (apt-get install linux-perf)" >&2; exit 1; }
    rm -rf "$OUT"
    mkdir -p "$OUT"
    export FLAG_EVAL_PG_SETTINGS="shared_buffers = 1GB
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
autovacuum = off
jit = off"
    exec scripts/with-temp-cluster.sh "$0" --inside-cluster "$@"
fi
shift
QUERIES=("$@")
[[ ${#QUERIES[@]} -gt 0 ]] || QUERIES=(flag_3f_50 native)
SECONDS_PER_QUERY=${BENCH_PROFILE_SECONDS:-8}
PSQL=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql

# The queries, exactly as pg_bench.sh times them.
eval "$(sed -n '/^NATIVE=/,/^variant_counts()/p; /^declare -A QUERY=(/,/^)/p' bench/own/pg_bench.sh)"
flag_json() { tr -s '\n ' '  ' <"bench/inputs/flags/$1.json"; }
flag_json_sha1() { flag_json "$1" | sed 's/^{/{"bucketing": "sha1", /'; }
psql_bench() {
    "$PSQL" -X -q -At -v ON_ERROR_STOP=1 \
        -v f3_50="$(flag_json three_filters_50)" -v f3_100="$(flag_json three_filters_100)" \
        -v r50="$(flag_json rollout_50)" -v mv="$(flag_json multivariate)" \
        -v f3_50_sha1="$(flag_json_sha1 three_filters_50)" -v r50_sha1="$(flag_json_sha1 rollout_50)" \
        -v mv_sha1="$(flag_json_sha1 multivariate)" "$@"
}

echo "profile: loading ${BENCH_PERSONS:-1000000} persons" >&2
psql_bench -v n="${BENCH_PERSONS:-1000000}" <<'SQL' >/dev/null
\i bench/inputs/sql/setup.sql
\i bench/inputs/sql/sha1_bucketing.sql
SQL

# perf's tables without comments, blank lines and the padding of its empty IPC column.
trim() { grep -v -e '^#' -e '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//'; }

for q in "${QUERIES[@]}"; do
    [[ -n ${QUERY[$q]:-} ]] || { echo "profile: unknown query $q" >&2; exit 2; }
    echo "profile: $q for ${SECONDS_PER_QUERY}s" >&2
    app="flag_eval_profile_$q"
    # One session: wait for perf to attach, then loop the query until the time is up.
    {
        echo "SET max_parallel_workers_per_gather = 0;"
        echo "SELECT pg_sleep(1);"
        echo "SELECT clock_timestamp() + interval '$((SECONDS_PER_QUERY + 1)) seconds' AS stop_at \\gset"
        echo "${QUERY[$q]};"   # warm-up
        for ((i = 0; i < 400; i++)); do
            echo "SELECT clock_timestamp() < :'stop_at'::timestamptz AS go \\gset"
            echo "\\if :go"
            echo "${QUERY[$q]};"
            echo "\\endif"
        done
    } | PGAPPNAME=$app psql_bench >/dev/null &
    session=$!
    pid=
    for ((i = 0; i < 50; i++)); do
        pid=$("$PSQL" -X -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'")
        [[ -n $pid ]] && break
        sleep 0.1
    done
    [[ -n $pid ]] || { echo "profile: backend of $q not found" >&2; kill "$session"; exit 1; }
    "$PERF" record -q -F 1999 --call-graph dwarf,16384 -o "$OUT/$q.data" -p "$pid" -- sleep "$SECONDS_PER_QUERY" \
        >/dev/null 2>&1
    wait "$session"
    {
        echo "# $q: ${QUERY[$q]}"
        echo
        echo "## self time per symbol (% of the backend's samples)"
        "$PERF" report -i "$OUT/$q.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.5 2>/dev/null \
            | trim
        echo
        echo "## inclusive time (self + callees)"
        "$PERF" report -i "$OUT/$q.data" --children --sort symbol --stdio -g none --percent-limit 1 2>/dev/null \
            | trim
    } >"$OUT/$q.txt"
    echo "profile: $OUT/$q.txt" >&2
done
