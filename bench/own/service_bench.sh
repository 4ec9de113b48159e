#!/usr/bin/env bash
# bench/own/service_bench.sh [OUTDIR]: the decide service (flag-decide) under HTTP load, next to
# SELECT 1 through the same PgBouncer, all in one run on one topology.
#
# Starts a topology of its own with deploy/up.sh (primary, 2 standbys, 2 PgBouncers, flag-decide;
# own ports and data directory, never `make up`'s), PERSONS stored persons of team phc_demo with its
# 50 flags (deploy/sample_data.sql), plus a second team whose flags need nothing stored
# (bench/inputs/sql/service_local_team.sql). Then, at the same concurrency, each after a warm-up:
#
#   select1  pgbench -M extended, bench/inputs/sql/select1.pgbench through PgBouncer 1 (the
#            baseline)
#   stored   wrk POST /flags?v=2 for stored persons "user-<n>" (bench/inputs/wrk/flags.lua, mode
#            stored): the flags that read stored data come from flag_eval.decide_outcomes() on a
#            standby
#   local    wrk POST /flags?v=2 for subjects whose requests carry every property the second
#            team's flags read (mode local): answered in the service, no database round trip
#   stored_1, local_1  the same with a second flag-decide on one event-loop thread, pinned to CPU 0
#            with wrk pinned to CPU 1 (taskset; unpinned on a one-CPU machine): the topology's
#            flag-decide runs one thread per CPU, so the two pairs show what the threads add
#
# GET /metrics before and after each wrk run shows where the flag answers came from; the CPU time
# of flag-decide, the PgBouncers, the PostgreSQL clusters and the load generator is read from
# /proc. The topology is stopped and deleted at the end (deploy/down.sh --purge), also on
# failure. Raw outputs go to OUTDIR/service/ (OUTDIR defaults to build/bench/results);
# bench/report/service.py turns them into section 4 of bench/RESULTS.md: bench/run.sh calls this
# script and rewrites the whole file; run alone, this script rewrites that section only
# (SERVICE_BENCH_SPLICE=0 leaves it alone).
#
# Needs root (or the postgres account), build/flag-decide (`make decide`), the extension
# installed (`make install`), wrk, pgbench, curl.
#
# Environment (defaults in brackets):
#   SERVICE_BENCH_SECONDS [15]  per measurement     SERVICE_BENCH_WARMUP [3] seconds before each
#   SERVICE_BENCH_CONNECTIONS [32]  SERVICE_BENCH_THREADS [2]  (wrk -c/-t, pgbench -c/-j)
#   SERVICE_BENCH_PERSONS [100000]  SERVICE_BENCH_PORT_BASE [16430]: primary, standby1, standby2,
#   pgbouncer1, pgbouncer2, flag-decide, the one-thread flag-decide on PORT_BASE .. PORT_BASE+6
#   SERVICE_BENCH_DATA [/var/tmp/flag_eval_service_bench]  the topology's data directory (deleted)
#   SERVICE_BENCH_QUIET [25] per cent of the machine's CPU: wait while other work uses more ...
#   SERVICE_BENCH_QUIET_WAIT [60] ... for at most this many seconds, then measure anyway
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD

OUT=${1:-build/bench/results}
SECONDS_PER_RUN=${SERVICE_BENCH_SECONDS:-15}
WARMUP=${SERVICE_BENCH_WARMUP:-3}
CONNECTIONS=${SERVICE_BENCH_CONNECTIONS:-32}
THREADS=${SERVICE_BENCH_THREADS:-2}
PERSONS=${SERVICE_BENCH_PERSONS:-100000}
# Below the kernel's ephemeral range (32768-60999), where outgoing connections could hold them.
PORT_BASE=${SERVICE_BENCH_PORT_BASE:-16430}
DATA=${SERVICE_BENCH_DATA:-/var/tmp/flag_eval_service_bench}
QUIET=${SERVICE_BENCH_QUIET:-25}
QUIET_WAIT=${SERVICE_BENCH_QUIET_WAIT:-60}
LOCAL_TOKEN=phc_bench_local
DB=app
ROLE=flag_decide
PY=/usr/bin/python3  # Debian's; the python3 first on PATH is another one
S=$OUT/service

log() { echo "service_bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in SECONDS_PER_RUN WARMUP CONNECTIONS THREADS PERSONS PORT_BASE QUIET QUIET_WAIT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((SECONDS_PER_RUN > 0 && CONNECTIONS > 0 && THREADS > 0 && THREADS <= CONNECTIONS)) \
    || die "need SERVICE_BENCH_SECONDS > 0 and 0 < SERVICE_BENCH_THREADS <= SERVICE_BENCH_CONNECTIONS"
((PORT_BASE >= 1024 && PORT_BASE + 6 <= 65535)) || die "SERVICE_BENCH_PORT_BASE must be in 1024..65529"
[[ $DATA == /* ]] || die "SERVICE_BENCH_DATA must be an absolute path"
for tool in wrk pgbench curl taskset; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh)"
done
[[ -x build/flag-decide ]] || die "build/flag-decide is missing: run \`make decide\`"

# The topology, the local team and the quiet-machine wait, shared with bench/field/unleash_bench.sh.
# shellcheck source=bench/own/service_topology.sh
source bench/own/service_topology.sh
topology_export
topology_claim 7 SERVICE_BENCH_PORT_BASE
ONE_THREAD_PORT=$((PORT_BASE + 6))
one_thread_pid=

stop_topology() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n $one_thread_pid ]] && kill "$one_thread_pid" 2>/dev/null; then
        wait "$one_thread_pid" 2>/dev/null || true
    fi
    topology_stop || status=1
    exit "$status"
}
trap stop_topology EXIT
trap 'exit 130' INT TERM

rm -rf "$S"
mkdir -p "$S"
run_started=$SECONDS

# ---- the topology ----
topology_start
load_local_team

decide_pid=$(head -n1 "$DATA/run/flag-decide.pid")
pgbouncer_pids="$(head -n1 "$DATA/run/pgbouncer1.pid") $(head -n1 "$DATA/run/pgbouncer2.pid")"
postmaster_pids="$(head -n1 "$DATA/primary/postmaster.pid") $(head -n1 "$DATA/standby1/postmaster.pid") $(head -n1 "$DATA/standby2/postmaster.pid")"

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src sql 2>/dev/null || echo ' (with uncommitted changes in src/ or sql/)')"
    echo "persons=$PERSONS"
    echo "connections=$CONNECTIONS"
    echo "threads=$THREADS"
    echo "seconds=$SECONDS_PER_RUN"
    echo "warmup_seconds=$WARMUP"
    echo "up_seconds=$up_seconds"
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "wrk_version=$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
    echo "pgbench_version=$(pgbench --version)"
    echo "pgbouncer_version=$(/usr/sbin/pgbouncer --version 2>/dev/null | head -n1)"
    echo "server_version=$(psql_standby1 -c 'SHOW server_version')"
    echo "decide_config=$(tr -d '\n' <"$DATA/decide/config.json" | tr -s ' ')"
    echo "decide_threads=$(grep -o 'with [0-9]* event-loop thread' "$DATA/log/flag-decide.log" | tail -n1 | cut -d' ' -f2)"
    echo "pgbouncer_pool=$(grep -E '^(pool_mode|default_pool_size)' "$DATA/pgbouncer/pgbouncer1.ini" | tr '\n' ' ')"
    psql_standby1 <<SQL
SELECT 'stored_persons=' || count(*) FROM flag_eval.persons p JOIN flag_eval.teams t ON t.id = p.team_id
 WHERE t.api_token = 'phc_demo';
SELECT 'stored_active_flags=' || count(*) FROM flag_eval.flags f JOIN flag_eval.teams t ON t.id = f.team_id
 WHERE t.api_token = 'phc_demo' AND f.active AND NOT f.deleted;
SELECT 'local_active_flags=' || count(*) FROM flag_eval.flags f JOIN flag_eval.teams t ON t.id = f.team_id
 WHERE t.api_token = '$LOCAL_TOKEN' AND f.active AND NOT f.deleted;
SELECT 'local_left_out=' || string_agg(d.key, ' ' ORDER BY d.id)
  FROM flag_eval.flags d JOIN flag_eval.teams t ON t.id = d.team_id
 WHERE t.api_token = 'phc_demo' AND NOT d.deleted
   AND d.key NOT IN (SELECT f.key FROM flag_eval.flags f JOIN flag_eval.teams u ON u.id = f.team_id
                      WHERE u.api_token = '$LOCAL_TOKEN');
SQL
} >"$S/setup.txt"
# Sizes of one answer of each kind (the JSON the SDK receives).
post_flags '{"token": "phc_demo", "distinct_id": "user-42"}' >/dev/null
echo "stored_answer_bytes=$(wc -c <"$S/probe.json")" >>"$S/setup.txt"
cp "$S/probe.json" "$S/stored_answer.json"

# ---- measuring ----
clk_tck=$(getconf CLK_TCK)
process_ticks() { # pid... -> their utime + stime (clock ticks), 0 for a process gone
    local total=0 pid stat f
    for pid in "$@"; do
        { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || continue
        stat=${stat##*) }  # after "(comm) ": field k of the whole line is f[k-3] here
        read -r -a f <<<"$stat"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}
children_ticks() { # pid... -> the ticks of their children, live (utime, stime) and exited (the
    # parent's cutime, cstime: a postmaster reaps its backends, so a backend that exits mid-run
    # still counts)
    local total=0 file stat f parents=" $* "
    for file in /proc/[0-9]*/stat; do
        { read -r stat <"$file"; } 2>/dev/null || continue
        stat=${stat##*) }
        read -r -a f <<<"$stat"
        if [[ $parents == *" ${f[1]} "* ]]; then
            total=$((total + f[11] + f[12]))
        elif [[ $parents == *" ${file//[^0-9]/} "* ]]; then
            total=$((total + f[13] + f[14]))
        fi
    done
    echo "$total"
}
pgbouncer_transactions() { # port -> transactions PgBouncer passed to database $DB so far
    psql -X -At -F ' ' -h 127.0.0.1 -p "$1" -U postgres -c 'SHOW STATS' pgbouncer 2>/dev/null \
        | awk -v db="$DB" '$1 == db { n += $2 } END { print n + 0 }'
}
# name -> $S/cpu_<name>.txt: CPU time so far of each part (PgBouncers and clusters together: the
# service moves to another route when one fails) and of the machine, transactions per PgBouncer.
cpu_snapshot() {
    local busy total
    # shellcheck disable=SC2086  # lists of pids
    {
        echo "decide=$(process_ticks "$decide_pid")"
        echo "pgbouncer=$(process_ticks $pgbouncer_pids)"
        echo "postgres=$(($(process_ticks $postmaster_pids) + $(children_ticks $postmaster_pids)))"
        read -r busy total < <(machine_ticks)
        echo "machine_busy=$busy"
        echo "machine_total=$total"
        echo "clk_tck=$clk_tck"
        echo "time_ns=$(date +%s%N)"
        echo "pgbouncer1_transactions=$(pgbouncer_transactions "$PGBOUNCER1_PORT")"
        echo "pgbouncer2_transactions=$(pgbouncer_transactions "$PGBOUNCER2_PORT")"
    } >"$S/cpu_$1.txt"
}
metrics_snapshot() { # name -> $S/metrics_<name>.txt
    curl -fsS --max-time 5 "$DECIDE/metrics" >"$S/metrics_$1.txt" || die "GET /metrics failed"
}

wait_until_quiet "$QUIET" "$QUIET_WAIT"
{
    echo "busy_share_before=$share"
    echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$S/setup.txt"

# The load generators, as argument lists (/usr/bin/time runs them and reports their own CPU time).
pgbench_select1() { # seconds [pgbench options] -> the command in array CMD
    CMD=(pgbench -n -M extended -c "$CONNECTIONS" -j "$THREADS" -T "$1" -f bench/inputs/sql/select1.pgbench
         -h 127.0.0.1 -p "$PGBOUNCER1_PORT" -U "$ROLE" "${@:2}" "$DB")
}
wrk_flags() { # mode token seconds [url [taskset CPU list]] -> the command in array CMD
    local url=${4:-$DECIDE} pin=()
    [[ -n ${5:-} ]] && pin=(taskset -c "$5")
    CMD=("${pin[@]}" env FLAGS_MODE="$1" FLAGS_TOKEN="$2" FLAGS_PERSONS="$PERSONS"
         wrk -t "$THREADS" -c "$CONNECTIONS" -d "${3}s" --latency -s bench/inputs/wrk/flags.lua "$url/flags?v=2")
}
warm_up() { # name: runs CMD, output in $S/<name>_warmup.txt
    ((WARMUP > 0)) || return 0
    metrics_snapshot "${1}_warmup"  # what the warm-up did shows as the difference with <name>_before
    "${CMD[@]}" >"$S/${1}_warmup.txt" 2>&1 || { cat "$S/${1}_warmup.txt" >&2; die "$1: the warm-up failed"; }
}
# name: runs CMD, its output in $S/<name>.txt, its own CPU time in $S/loadgen_<name>.txt, with
# /metrics and CPU snapshots around it.
measure() {
    local name=$1
    log "$name: ${SECONDS_PER_RUN}s at $CONNECTIONS connections, $THREADS threads"
    metrics_snapshot "${name}_before"
    cpu_snapshot "${name}_before"
    /usr/bin/time -f 'user=%U\nsystem=%S' -o "$S/loadgen_$name.txt" "${CMD[@]}" >"$S/$name.txt" 2>&1 \
        || { cat "$S/$name.txt" >&2; die "$name failed"; }
    cpu_snapshot "${name}_after"
    metrics_snapshot "${name}_after"
}

log "select1: ${WARMUP}s warm-up"
pgbench_select1 "$WARMUP"
warm_up select1
mkdir -p "$S/select1_log"
pgbench_select1 "$SECONDS_PER_RUN" -l --log-prefix="$S/select1_log/pgbench_log"
measure select1

log "stored: ${WARMUP}s warm-up"
wrk_flags stored phc_demo "$WARMUP"
warm_up stored
wrk_flags stored phc_demo "$SECONDS_PER_RUN"
measure stored

log "local: ${WARMUP}s warm-up"
wrk_flags local "$LOCAL_TOKEN" "$WARMUP"
warm_up local
wrk_flags local "$LOCAL_TOKEN" "$SECONDS_PER_RUN"
measure local

# ---- one event-loop thread, pinned apart from wrk ----
decide_cpu=0 wrk_cpu=1
(($(nproc) >= 2)) || decide_cpu='' wrk_cpu=''
log "stored_1, local_1: a second flag-decide on one thread${decide_cpu:+ (CPU $decide_cpu, wrk on CPU $wrk_cpu)}"
one_thread=(build/flag-decide --config "$DATA/decide/config.json" --listen "127.0.0.1:$ONE_THREAD_PORT"
            --snapshot "$S/one_thread.snapshot.json" --threads 1)
[[ -n $decide_cpu ]] && one_thread=(taskset -c "$decide_cpu" "${one_thread[@]}")
"${one_thread[@]}" >"$S/one_thread.log" 2>&1 &
one_thread_pid=$!
ONE_THREAD=http://127.0.0.1:$ONE_THREAD_PORT
ready_deadline=$((SECONDS + 60))
until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ONE_THREAD/readyz") == 200 ]]; do
    kill -0 "$one_thread_pid" 2>/dev/null || { cat "$S/one_thread.log" >&2; die "the one-thread flag-decide exited"; }
    ((SECONDS < ready_deadline)) || die "the one-thread flag-decide is not ready after 60 s"
    sleep 0.2
done
topology_decide_pid=$decide_pid topology_decide=$DECIDE
decide_pid=$one_thread_pid DECIDE=$ONE_THREAD  # what the snapshots and /metrics read below
for mode in stored local; do
    token=phc_demo
    [[ $mode == local ]] && token=$LOCAL_TOKEN
    log "${mode}_1: ${WARMUP}s warm-up"
    wrk_flags "$mode" "$token" "$WARMUP" "$ONE_THREAD" "$wrk_cpu"
    warm_up "${mode}_1"
    wrk_flags "$mode" "$token" "$SECONDS_PER_RUN" "$ONE_THREAD" "$wrk_cpu"
    measure "${mode}_1"
done
decide_pid=$topology_decide_pid DECIDE=$topology_decide
kill "$one_thread_pid" && wait "$one_thread_pid" 2>/dev/null || true
one_thread_pid=
echo "one_thread_pinning=${decide_cpu:+flag-decide on CPU $decide_cpu, wrk on CPU $wrk_cpu}" >>"$S/setup.txt"

{
    echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "command=bench/own/service_bench.sh"
    echo "pgbench_command=pgbench -n -M extended -c $CONNECTIONS -j $THREADS -T $SECONDS_PER_RUN -f bench/inputs/sql/select1.pgbench -l -h 127.0.0.1 -p $PGBOUNCER1_PORT -U $ROLE $DB"
    echo "wrk_command=FLAGS_MODE=stored|local FLAGS_TOKEN=phc_demo|$LOCAL_TOKEN wrk -t $THREADS -c $CONNECTIONS -d ${SECONDS_PER_RUN}s --latency -s bench/inputs/wrk/flags.lua $DECIDE/flags?v=2"
    echo "one_thread_command=taskset -c ${decide_cpu:-0} build/flag-decide --config <the topology's> --listen 127.0.0.1:$ONE_THREAD_PORT --threads 1; taskset -c ${wrk_cpu:-1} wrk ... $ONE_THREAD/flags?v=2"
    echo "measure_seconds=$((SECONDS - run_started))"
} >>"$S/setup.txt"
log "measured in $((SECONDS - run_started)) s (topology up in ${up_seconds}s)"

# ---- results ----
# Under bench/run.sh (BENCH_RUN_SH=1), run.sh writes the whole RESULTS.md and checks every section.
if [[ -z ${BENCH_RUN_SH:-} ]]; then
    if [[ ${SERVICE_BENCH_SPLICE:-1} == 1 ]]; then
        $PY -B bench/report/service.py --splice bench/RESULTS.md "$OUT"
        log "section 4 of bench/RESULTS.md rewritten"
    fi
    $PY -B bench/report/service.py --check "$OUT"
fi
