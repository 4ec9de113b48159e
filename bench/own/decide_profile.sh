#!/usr/bin/env bash
# bench/own/decide_profile.sh — where flag_eval.decide()'s time goes (the analysis in
# bench/DECIDE_PROFILE.md).
#
# Not part of `make bench`; run it after `make bench` (flag_eval built and installed), as root
# (perf attaches to the backend, which runs as postgres). In a throw-away cluster with the data of
# bench/inputs/sql/load_decide.sql (pg_stat_statements loaded, track = all):
#
#   1. server-side timings, no client round trip: each step of a decide() call repeated for
#      BENCH_PROFILE_CALLS subjects inside one statement (median of 3 runs), from the bare lookup
#      to the whole call with its 50-flag answer, elapsed and in the backend's CPU time;
#   2. pg_stat_statements (track = all) over pgbench -c 1 of bench/own/lookup.pgbench, then of
#      bench/own/decide.pgbench: server execution time per transaction next to pgbench's latency;
#   3. perf record (dwarf call graphs) of the backend serving another pgbench -c 1 run of
#      bench/own/decide.pgbench: self time per symbol and inclusive time of the steps.
#
# Output: build/bench/decide_profile/{timings,statements,perf}.txt.
# Environment: BENCH_PERSONS (default 1000000), BENCH_PROFILE_CALLS (default 20000),
# BENCH_PROFILE_SECONDS (default 8), PERF (default perf).
# shellcheck disable=SC2028  # the echoed backslashes are psql meta-commands, meant literally
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OUT=build/bench/decide_profile
PERF=${PERF:-perf}

if [[ -z ${FLAG_EVAL_PG_DATA:-} ]]; then
    command -v "$PERF" >/dev/null || { echo "decide_profile: perf not found (apt-get install linux-perf)" >&2; exit 1; }
    rm -rf "$OUT"
    mkdir -p "$OUT"
    export FLAG_EVAL_PG_SETTINGS="shared_buffers = 1GB
maintenance_work_mem = 512MB
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
synchronous_commit = off
autovacuum = off
jit = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all"
    exec scripts/with-temp-cluster.sh "$PWD/bench/own/decide_profile.sh"
fi

PERSONS=${BENCH_PERSONS:-1000000}
CALLS=${BENCH_PROFILE_CALLS:-20000}
SECS=${BENCH_PROFILE_SECONDS:-8}
BINDIR=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}
PSQL=$BINDIR/psql
psql_bench() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
log() { echo "decide_profile: $*" >&2; }

log "loading $PERSONS persons, 50 flags"
psql_bench -v n="$PERSONS" -f bench/inputs/sql/load_decide.sql >/dev/null
psql_bench -c "CREATE EXTENSION pg_stat_statements" >/dev/null

# ---- 1. server-side timings ----
# The subjects: :calls persons spread over the table, each with an organization.
STEPS=(
    "lookup|the bare lookup by distinct id|SELECT count((SELECT p.properties FROM flag_eval.person_distinct_ids d JOIN flag_eval.persons p ON p.id = d.person_id WHERE d.team_id = 1 AND d.distinct_id = s.did)) FROM subjects s"
    "decide_nobody|decide() for a distinct id nobody has, no group (team lookup, one person lookup that finds nothing, evaluation of all 50 flags), answer of one flag|SELECT count(flag_eval.decide('phc_bench', 'no-' || s.did, flag_keys => '{rollout-50}')) FROM subjects s"
    "decide_one|decide(), answer of one flag (every lookup, evaluation of all 50 flags)|SELECT count(flag_eval.decide('phc_bench', s.did, groups => s.groups, flag_keys => '{rollout-50}')) FROM subjects s"
    "decide_all|decide(), answer of 50 flags (json text, as sent to a client)|SELECT count(flag_eval.decide('phc_bench', s.did, groups => s.groups)) FROM subjects s"
)
log "server-side timings ($CALLS calls per step, median of 3 runs)"
{
    echo "SELECT flag_eval.decide('phc_bench', 'user-1') IS NOT NULL;"   # compile the team's flags
    echo "CREATE TEMP TABLE subjects AS
          SELECT 'user-' || id AS did, jsonb_build_object('organization', 'org-' || (id % 1000)) AS groups
          FROM (SELECT 1 + (i * 997) % $PERSONS AS id FROM generate_series(1, $CALLS) AS i) s;"
    # the backend's CPU time (ns, /proc/PID/schedstat) before and after each step: other work on
    # the machine stretches the wall-clock time but hardly the CPU time
    echo "SELECT pg_backend_pid() AS backend_pid \\gset"
    echo "\\setenv BACKEND_PID :backend_pid"
    echo "\\timing on"
    for run in 0 1 2 3; do   # run 0 is a warm-up
        for step in "${STEPS[@]}"; do
            IFS='|' read -r name _ sql <<<"$step"
            echo "\\echo @@ $name $run"
            echo "\\! echo cpu_ns $name $run \$(cut -d' ' -f1 /proc/\$BACKEND_PID/schedstat)"
            echo "$sql;"
            echo "\\! echo cpu_ns $name $run \$(cut -d' ' -f1 /proc/\$BACKEND_PID/schedstat)"
        done
    done
} | psql_bench >"$OUT/timings.raw"
/usr/bin/python3 - "$OUT/timings.raw" "$CALLS" "${STEPS[@]}" >"$OUT/timings.txt" <<'PY'
import re, statistics, sys
raw, calls, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ms, cpu, cur, cpu_before = {}, {}, None, {}
for line in open(raw):
    line = line.strip()
    if line.startswith("@@ "):
        _, name, run = line.split(); cur = (name, int(run))
    elif line.startswith("Time:") and cur:
        ms.setdefault(cur[0], []).append((cur[1], float(re.match(r"Time:\s*([0-9.]+)", line).group(1))))
    elif line.startswith("cpu_ns "):  # cpu_ns NAME RUN NS, before and after the step
        _, name, run, ns = line.split()
        key = (name, int(run))
        if key not in cpu_before:
            cpu_before[key] = int(ns)
        else:
            cpu.setdefault(name, []).append((key[1], (int(ns) - cpu_before[key]) / 1e6))
print(f"| step | µs per call, elapsed | µs per call, the backend's CPU time |")
print("|---|--:|--:|")
def per_call(values, name):
    runs = [t for r, t in values.get(name, []) if r > 0]
    return f"{statistics.median(runs) * 1000 / calls:.1f}" if runs else "?"
for step in steps:
    name, label, _ = step.split("|", 2)
    print(f"| {label} | {per_call(ms, name)} | {per_call(cpu, name)} |")
print(f"\n(median of 3 runs of {calls:,} calls each)")
PY
cat "$OUT/timings.txt" >&2

# ---- 2. pg_stat_statements over pgbench -c 1 (no perf attached): server time per transaction ----
# Also the round trip alone (SELECT 1) and with an answer of decide()'s size (a 12.7 KB text).
echo "SELECT 1;" >"$OUT/select1.pgbench"
echo "SELECT repeat('x', 12700);" >"$OUT/text12k.pgbench"
: >"$OUT/statements.txt"
for script in "$OUT/select1.pgbench" "$OUT/text12k.pgbench" bench/own/lookup.pgbench bench/own/decide.pgbench; do
    name=$(basename "$script" .pgbench)
    log "pgbench -c 1 $name for $SECS s, pg_stat_statements"
    psql_bench -c "SELECT pg_stat_statements_reset()" >/dev/null
    "$BINDIR/pgbench" -n -M prepared -T "$SECS" -c 1 -j 1 -D persons="$PERSONS" -f "$script" \
        >"$OUT/pgbench_$name.txt" 2>&1
    {
        echo "## pgbench -c 1 -f $script: $(grep -E '^latency average' "$OUT/pgbench_$name.txt")"
        psql_bench <<'SQL'
\pset format aligned
\pset tuples_only off
SELECT calls, round((total_exec_time / calls * 1000)::numeric, 1) AS exec_us_per_call, toplevel,
       left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS query
FROM pg_stat_statements WHERE calls >= 100 ORDER BY total_exec_time DESC LIMIT 10;
SQL
        echo
    } >>"$OUT/statements.txt"
done

# ---- 3. perf on the backend serving pgbench -c 1 of decide.pgbench ----
log "pgbench -c 1 decide.pgbench for $((SECS + 2)) s, perf on its backend for $SECS s"
PGAPPNAME=decide_profile "$BINDIR/pgbench" -n -M prepared -T $((SECS + 2)) -c 1 -j 1 -D persons="$PERSONS" \
    -f bench/own/decide.pgbench >"$OUT/pgbench_perf.txt" 2>&1 &
bench=$!
pid=
for ((i = 0; i < 50; i++)); do
    pid=$(psql_bench -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'decide_profile'")
    [[ -n $pid ]] && break
    sleep 0.1
done
[[ -n $pid ]] || { log "pgbench's backend not found"; kill "$bench"; exit 1; }
sleep 1
"$PERF" record -q -F 999 --call-graph dwarf,32768 -o "$OUT/perf.data" -p "$pid" -- sleep "$SECS" >/dev/null 2>&1
wait "$bench"

trim() { grep -v -e '^#' -e '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//'; }
{
    echo "## inclusive time (self + callees), % of the backend's samples"
    "$PERF" report -i "$OUT/perf.data" --children --sort symbol --stdio -g none --percent-limit 1 2>/dev/null \
        | trim | grep -v ' 0x0000'
    echo
    echo "## self time per symbol"
    "$PERF" report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.5 2>/dev/null \
        | trim
} >"$OUT/perf.txt"
log "done: $OUT/{timings,statements,perf}.txt"
