#!/usr/bin/env bash
# bench/field/unleash_bench.sh [OUTDIR]: flag-decide against unleash-server (npm,
# bench/field/unleash/) on the same PostgreSQL primary, the same flags and subjects, wrk at the same
# concurrency.
#
# Starts a topology of its own (bench/own/service_topology.sh: deploy/up.sh on
# UNLEASH_BENCH_PORT_BASE .. +5), the team phc_bench_local whose flags need nothing stored, then
# unleash-server (bench/field/unleash/server.mjs, port PORT_BASE+6) on database "unleash" of the
# topology's primary, and translates the flags into Unleash toggles
# (bench/field/unleash/translate_flags.mjs): the 43 flags of phc_bench_local are created in Unleash
# (what both sides evaluate); the 50 of phc_demo are translated without being created, for the list
# of flags Unleash cannot express. Then, after a quiet-machine wait, each after a warm-up, one after
# the other:
#
#   unleash        wrk GET /api/frontend (bench/field/wrk/unleash.lua): subject and properties in
#                  the query
#   decide_local   wrk POST /flags?v=2 (bench/field/wrk/unleash_flags.lua = flags.lua, mode local),
#                  team phc_bench_local: the same subjects and properties in the body
#   decide_stored  the same, mode stored (team phc_demo, persons read from a standby), for reference
#
# with the CPU time of each part read from /proc right before and after each of these three
# (OUTDIR/unleash/cpu_<run>_before.txt, cpu_<run>_after.txt; wrk's own from /usr/bin/time in
# loadgen_<run>.txt), as bench/own/service_bench.sh does,
# and then, with the database stopped a third of the way into a run (pg_ctl stop -m immediate):
#
#   dbstop_unleash         the primary (Unleash's database)
#   dbstop_decide_local    the primary and both standbys ("the database" of flag-decide)
#   dbstop_decide_stored   the same, for stored persons
#
# each with per-second status counts from wrk and a sampler (bench/field/unleash/sample_answers.py,
# one fixed subject every 100 ms) that records what the answers contain; the databases are started
# again (deploy/up.sh) between runs. Everything started here (unleash-server, the samplers, the
# topology) is stopped at the end, also on failure. Raw outputs go to OUTDIR/unleash/ (OUTDIR
# defaults to build/bench/results); bench/report/unleash.py renders them and draws
# bench/plots/unleash_*.png.
#
# Needs root (or the postgres account), build/flag-decide, the extension installed, node and npm
# (bench/field/unleash is installed with scripts/install-npm-deps.sh), wrk, curl, gnuplot,
# /usr/bin/time.
#
# Environment (defaults in brackets):
#   UNLEASH_BENCH_SECONDS [15]  per measurement      UNLEASH_BENCH_WARMUP [3]  seconds before each
#   UNLEASH_BENCH_CONNECTIONS [32]  UNLEASH_BENCH_THREADS [2]  (wrk -c/-t)
#   UNLEASH_BENCH_DBSTOP_SECONDS [15]  each database-stopped run (the stop comes at a third)
#   UNLEASH_BENCH_PERSONS [100000]  UNLEASH_BENCH_PORT_BASE [16450]: the topology on PORT_BASE ..
#   PORT_BASE+5, unleash-server on PORT_BASE+6
#   UNLEASH_BENCH_DATA [/var/tmp/flag_eval_unleash_bench]  the topology's data directory (deleted)
#   UNLEASH_BENCH_QUIET [25]  UNLEASH_BENCH_QUIET_WAIT [60]  as SERVICE_BENCH_QUIET(_WAIT)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD

OUT=${1:-build/bench/results}
SECONDS_PER_RUN=${UNLEASH_BENCH_SECONDS:-15}
WARMUP=${UNLEASH_BENCH_WARMUP:-3}
CONNECTIONS=${UNLEASH_BENCH_CONNECTIONS:-32}
THREADS=${UNLEASH_BENCH_THREADS:-2}
DBSTOP_SECONDS=${UNLEASH_BENCH_DBSTOP_SECONDS:-15}
PERSONS=${UNLEASH_BENCH_PERSONS:-100000}
# Below the kernel's ephemeral range (32768-60999), where outgoing connections could hold them.
PORT_BASE=${UNLEASH_BENCH_PORT_BASE:-16450}
DATA=${UNLEASH_BENCH_DATA:-/var/tmp/flag_eval_unleash_bench}
QUIET=${UNLEASH_BENCH_QUIET:-25}
QUIET_WAIT=${UNLEASH_BENCH_QUIET_WAIT:-60}
LOCAL_TOKEN=phc_bench_local
DB=app
ROLE=flag_decide
PY=/usr/bin/python3  # Debian's; the python3 first on PATH is another one
S=$OUT/unleash
# Tokens in Unleash's own shape, created by server.mjs at start-up (initApiTokens).
ADMIN_TOKEN='*:*.flag-eval-bench-admin'
FRONTEND_TOKEN='default:development.flag-eval-bench-frontend'
# The subject the samplers ask about while the database stops (n = 42 of the wrk scripts).
SAMPLE_N=42

log() { echo "unleash_bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in SECONDS_PER_RUN WARMUP CONNECTIONS THREADS DBSTOP_SECONDS PERSONS PORT_BASE QUIET QUIET_WAIT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((SECONDS_PER_RUN > 0 && DBSTOP_SECONDS >= 3 && CONNECTIONS > 0 && THREADS > 0 && THREADS <= CONNECTIONS)) \
    || die "need UNLEASH_BENCH_SECONDS > 0, UNLEASH_BENCH_DBSTOP_SECONDS >= 3 and 0 < THREADS <= CONNECTIONS"
((PERSONS >= SAMPLE_N)) || die "UNLEASH_BENCH_PERSONS must be at least $SAMPLE_N"
((PORT_BASE >= 1024 && PORT_BASE + 6 <= 65535)) || die "UNLEASH_BENCH_PORT_BASE must be in 1024..65529"
[[ $DATA == /* ]] || die "UNLEASH_BENCH_DATA must be an absolute path"
for tool in wrk curl node npm gnuplot; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"
[[ -x build/flag-decide ]] || die "build/flag-decide is missing: run \`make decide\`"
scripts/install-npm-deps.sh bench/field/unleash

# shellcheck source=bench/own/service_topology.sh
source bench/own/service_topology.sh
topology_export
topology_claim 7 UNLEASH_BENCH_PORT_BASE
UNLEASH_PORT=$((PORT_BASE + 6))
UNLEASH=http://127.0.0.1:$UNLEASH_PORT
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

unleash_pid=
sampler_pid=
stop_unleash() {
    [[ -n $unleash_pid ]] || return 0
    if kill -0 "$unleash_pid" 2>/dev/null; then
        kill -TERM "$unleash_pid" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while kill -0 "$unleash_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$unleash_pid" 2>/dev/null || true
    fi
    wait "$unleash_pid" 2>/dev/null || true
    unleash_pid=
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n $sampler_pid ]] && kill "$sampler_pid" 2>/dev/null
    stop_unleash
    topology_stop || status=1
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$S"
mkdir -p "$S"
run_started=$SECONDS

# ---- the topology, then unleash-server on its primary ----
topology_start
load_local_team

log "starting unleash-server $(node -p 'require("./bench/field/unleash/node_modules/unleash-server/package.json").version') on port $UNLEASH_PORT (database unleash on the primary)"
as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$DATA/run" -p "$PRIMARY_PORT" -U postgres -d postgres \
    -c 'CREATE DATABASE unleash' >/dev/null
unleash_started=$SECONDS
UNLEASH_PORT=$UNLEASH_PORT UNLEASH_DB_HOST=127.0.0.1 UNLEASH_DB_PORT=$PRIMARY_PORT UNLEASH_DB_USER=postgres \
    UNLEASH_DB_NAME=unleash UNLEASH_ADMIN_TOKEN=$ADMIN_TOKEN UNLEASH_FRONTEND_TOKEN=$FRONTEND_TOKEN \
    node bench/field/unleash/server.mjs >"$S/server.log" 2>&1 &
unleash_pid=$!
deadline=$((SECONDS + 120))
until curl -sf -o /dev/null --max-time 2 "$UNLEASH/health"; do
    kill -0 "$unleash_pid" 2>/dev/null || { tail -n 30 "$S/server.log" >&2; die "unleash-server exited (log: $S/server.log)"; }
    ((SECONDS < deadline)) || die "unleash-server is not healthy after 120 s (log: $S/server.log)"
    sleep 0.2
done
unleash_up_seconds=$((SECONDS - unleash_started))

log "translating the flags into Unleash toggles"
for token in phc_demo "$LOCAL_TOKEN"; do
    as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$DATA/run" -p "$PRIMARY_PORT" -U postgres -d "$DB" \
        -v token="$token" <bench/field/unleash/export_flags.sql >"$S/flags_$token.json"
done
node bench/field/unleash/translate_flags.mjs --dry-run "$S/flags_phc_demo.json" "$S/translation_all.json" >"$S/translate.log"
UNLEASH_URL=$UNLEASH UNLEASH_ADMIN_TOKEN=$ADMIN_TOKEN \
    node bench/field/unleash/translate_flags.mjs "$S/flags_$LOCAL_TOKEN.json" "$S/translation.json" >>"$S/translate.log" \
    || die "translate_flags.mjs failed"
cat "$S/translate.log" >&2

# The frontend API answers from a cache that follows the admin changes: wait until it has them.
frontend() { # query -> the answer of GET /api/frontend?query in $S/probe_unleash.json, prints the status
    curl -s -o "$S/probe_unleash.json" -w '%{http_code}' --max-time 5 -H "Authorization: $FRONTEND_TOKEN" \
        "$UNLEASH/api/frontend?$1"
}
deadline=$((SECONDS + 60))
until [[ $(frontend 'userId=visitor-1') == 200 ]] && grep -q '"rollout-100"' "$S/probe_unleash.json"; do
    ((SECONDS < deadline)) || die "Unleash's frontend API does not show the toggles after 60 s: $(cat "$S/probe_unleash.json")"
    sleep 0.2
done

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src sql 2>/dev/null || echo ' (with uncommitted changes in src/ or sql/)')"
    echo "persons=$PERSONS"
    echo "connections=$CONNECTIONS"
    echo "threads=$THREADS"
    echo "seconds=$SECONDS_PER_RUN"
    echo "warmup_seconds=$WARMUP"
    echo "dbstop_seconds=$DBSTOP_SECONDS"
    echo "up_seconds=$up_seconds"
    echo "unleash_up_seconds=$unleash_up_seconds"
    echo "nproc=$(nproc)"
    echo "node_version=$(node --version)"
    echo "unleash_version=$(node -p 'require("./bench/field/unleash/node_modules/unleash-server/package.json").version')"
    echo "wrk_version=$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
    echo "server_version=$(psql_standby1 -c 'SHOW server_version')"
    echo "local_active_flags=$(psql_standby1 -c "SELECT count(*) FROM flag_eval.flags f JOIN flag_eval.teams t ON t.id = f.team_id WHERE t.api_token = '$LOCAL_TOKEN' AND f.active AND NOT f.deleted")"
} >"$S/setup.txt"

# ---- measuring ----
wrk_unleash() { # seconds -> CMD
    CMD=(env UNLEASH_FRONTEND_TOKEN="$FRONTEND_TOKEN" FLAGS_PERSONS="$PERSONS"
         wrk -t "$THREADS" -c "$CONNECTIONS" -d "${1}s" --latency -s bench/field/wrk/unleash.lua "$UNLEASH")
}
wrk_decide() { # mode token seconds -> CMD
    CMD=(env FLAGS_MODE="$1" FLAGS_TOKEN="$2" FLAGS_PERSONS="$PERSONS"
         wrk -t "$THREADS" -c "$CONNECTIONS" -d "${3}s" --latency -s bench/field/wrk/unleash_flags.lua "$DECIDE/flags?v=2")
}
run_wrk() { # name: runs CMD, output in $S/<name>.txt
    "${CMD[@]}" >"$S/$1.txt" 2>&1 || { cat "$S/$1.txt" >&2; die "$1: wrk failed"; }
}

# The processes whose CPU time the snapshots read, by pid: each server, both PgBouncers, the three
# postmasters. Read once: the measured runs come before the database-stopped ones restart clusters.
declare -A part_of=([$unleash_pid]=unleash [$(head -n1 "$DATA/run/flag-decide.pid")]=decide)
for pidfile in run/pgbouncer1.pid run/pgbouncer2.pid primary/postmaster.pid standby1/postmaster.pid standby2/postmaster.pid; do
    part=postgres
    [[ $pidfile == run/pgbouncer* ]] && part=pgbouncer
    part_of[$(head -n1 "$DATA/$pidfile")]=$part
done
clk_tck=$(getconf CLK_TCK)
# name -> $S/cpu_<name>.txt: the CPU ticks so far of each part, of the machine, and the time. One
# pass over /proc: a part's processes count with their utime + stime and the cutime + cstime of the
# children they reaped (a postmaster reaps the backends that exit mid-run), their live children
# (backends, Unleash's if any) with utime + stime; as service_bench.sh's process_ticks and
# children_ticks.
cpu_snapshot() {
    local -A ticks=([unleash]=0 [decide]=0 [pgbouncer]=0 [postgres]=0)
    local file stat f part busy total
    for file in /proc/[0-9]*/stat; do
        { read -r stat <"$file"; } 2>/dev/null || continue
        stat=${stat##*) }  # after "(comm) ": field k of the whole line is f[k-3] here
        read -r -a f <<<"$stat"
        part=${part_of[${file//[^0-9]/}]:-}
        [[ -n $part ]] && ticks[$part]=$((ticks[$part] + f[11] + f[12] + f[13] + f[14]))
        part=${part_of[${f[1]}]:-}
        [[ -n $part ]] && ticks[$part]=$((ticks[$part] + f[11] + f[12]))
    done
    read -r busy total < <(machine_ticks)
    {
        for part in "${!ticks[@]}"; do echo "$part=${ticks[$part]}"; done
        echo "machine_busy=$busy"
        echo "machine_total=$total"
        echo "clk_tck=$clk_tck"
        echo "time_ns=$(date +%s%N)"
    } >"$S/cpu_$1.txt"
}
# name setter args...: warm-up, then the measured run between two CPU snapshots, wrk's own CPU
# time in $S/loadgen_<name>.txt.
measure() {
    local name=$1 setter=$2
    shift 2
    if ((WARMUP > 0)); then
        "$setter" "$@" "$WARMUP"
        run_wrk "${name}_warmup"
    fi
    log "$name: ${SECONDS_PER_RUN}s at $CONNECTIONS connections, $THREADS threads"
    "$setter" "$@" "$SECONDS_PER_RUN"
    CMD=(/usr/bin/time -f 'user=%U\nsystem=%S' -o "$S/loadgen_$name.txt" "${CMD[@]}")
    cpu_snapshot "${name}_before"
    run_wrk "$name"
    cpu_snapshot "${name}_after"
}

wait_until_quiet "$QUIET" "$QUIET_WAIT"
echo "busy_share_before=$share" >>"$S/setup.txt"
measure unleash wrk_unleash
measure decide_local wrk_decide local "$LOCAL_TOKEN"
measure decide_stored wrk_decide stored phc_demo

# ---- the database stopped mid-run ----
stop_clusters() { # names... (primary standby1 standby2): immediate shutdown, like a crash
    local name
    for name in "$@"; do
        as_postgres "$PG_BINDIR/pg_ctl" stop -D "$DATA/$name" -m immediate -w >>"$S/dbstop.log" 2>&1 \
            || log "pg_ctl stop of $name failed (see $S/dbstop.log)"
    done
}
restart_topology() { # deploy/up.sh starts what is missing, leaves the rest running
    deploy/up.sh >>"$S/dbstop.log" 2>&1 || { tail -n 30 "$S/dbstop.log" >&2; die "deploy/up.sh (restart) failed"; }
}
# name sampler-args... -- clusters...: wrk with status counts, the sampler, the stop at a third.
dbstop_run() {
    local name=$1 stop_at wrk_pid start_ns
    shift
    local sampler_args=() clusters=()
    while [[ $1 != -- ]]; do sampler_args+=("$1"); shift; done
    shift
    clusters=("$@")
    stop_at=$((DBSTOP_SECONDS / 3))
    log "$name: ${DBSTOP_SECONDS}s, ${clusters[*]} stopped after ${stop_at}s"
    start_ns=$(date +%s%N)
    WRK_COUNT_STATUS=1 "${CMD[@]}" >"$S/$name.txt" 2>&1 &
    wrk_pid=$!
    $PY -B bench/field/unleash/sample_answers.py --seconds "$DBSTOP_SECONDS" --epoch "${start_ns:0:-9}.${start_ns: -9}" "${sampler_args[@]}" >"$S/${name}_samples.jsonl" &
    sampler_pid=$!
    # The stop comes at a third of the run, measured from its start (a deadline, not a sleep for
    # something to happen).
    while (($(date +%s%N) - start_ns < stop_at * 1000000000)); do sleep 0.05; done
    echo "stopped_at_s=$((($(date +%s%N) - start_ns) / 1000000))e-3" >"$S/${name}_events.txt"
    stop_clusters "${clusters[@]}"
    echo "stop_done_at_s=$((($(date +%s%N) - start_ns) / 1000000))e-3" >>"$S/${name}_events.txt"
    wait "$wrk_pid" || { cat "$S/$name.txt" >&2; die "$name: wrk failed"; }
    wait "$sampler_pid" || die "$name: the sampler failed"
    sampler_pid=
    restart_topology
}
# Every property the local team's flags read, so that flag-decide needs nothing stored for it.
local_body=$(printf '{"token": "%s", "distinct_id": "visitor-%d", "person_properties": {"email": "user%d@gmail.com", "plan": "pro", "country": "US", "age": 30, "app_version": "2.1.3", "signed_up_at": "2021-06-01T00:00:00Z", "last_seen_at": 1700000000, "beta": false, "$feature_enrollment/early-access": false}, "groups": {"organization": "org-%d", "company": "company-%d"}, "group_properties": {"organization": {"tier": "gold", "seats": 10}, "company": {"employees": 5}}}' \
    "$LOCAL_TOKEN" "$SAMPLE_N" "$SAMPLE_N" "$SAMPLE_N" "$SAMPLE_N")
unleash_query="userId=visitor-$SAMPLE_N&properties%5Bemail%5D=user$SAMPLE_N%40gmail.com&properties%5Bplan%5D=pro&properties%5Bcountry%5D=US&properties%5Bage%5D=30&properties%5Bapp_version%5D=2.1.3&properties%5Bsigned_up_at%5D=2021-06-01T00:00:00Z&properties%5Blast_seen_at%5D=1700000000&properties%5Bbeta%5D=false&properties%5Bfeature_enrollment_early-access%5D=false&properties%5Borganization%5D=org-$SAMPLE_N&properties%5Bcompany%5D=company-$SAMPLE_N&properties%5Borganization_tier%5D=gold&properties%5Borganization_seats%5D=10&properties%5Bcompany_employees%5D=5"

wrk_unleash "$DBSTOP_SECONDS"
dbstop_run dbstop_unleash --url "$UNLEASH/api/frontend?$unleash_query" --header "Authorization: $FRONTEND_TOKEN" -- primary
# Unleash reconnects on its own; wait for its frontend API before the next run (not measured).
deadline=$((SECONDS + 60))
until [[ $(frontend 'userId=visitor-1') == 200 ]]; do
    ((SECONDS < deadline)) || die "Unleash does not answer 60 s after the database came back"
    sleep 0.2
done

wrk_decide local "$LOCAL_TOKEN" "$DBSTOP_SECONDS"
dbstop_run dbstop_decide_local --url "$DECIDE/flags?v=2" --body "$local_body" -- standby1 standby2 primary
# flag-decide probes its routes again in the background: wait until stored persons are served.
deadline=$((SECONDS + 60))
until [[ $(post_flags '{"token": "phc_demo", "distinct_id": "user-1"}') == 200 ]] \
    && grep -q '"errorsWhileComputingFlags": *false' "$S/probe.json"; do
    ((SECONDS < deadline)) || die "flag-decide still fails stored flags 60 s after the database came back"
    sleep 0.2
done
wrk_decide stored phc_demo "$DBSTOP_SECONDS"
dbstop_run dbstop_decide_stored --url "$DECIDE/flags?v=2" --body "{\"token\": \"phc_demo\", \"distinct_id\": \"user-$SAMPLE_N\"}" \
    -- standby1 standby2 primary

{
    echo "measure_seconds=$((SECONDS - run_started))"
    echo "unleash_command=UNLEASH_FRONTEND_TOKEN=... wrk -t $THREADS -c $CONNECTIONS -d ${SECONDS_PER_RUN}s --latency -s bench/field/wrk/unleash.lua $UNLEASH"
    echo "decide_command=FLAGS_MODE=local|stored FLAGS_TOKEN=$LOCAL_TOKEN|phc_demo wrk -t $THREADS -c $CONNECTIONS -d ${SECONDS_PER_RUN}s --latency -s bench/field/wrk/unleash_flags.lua $DECIDE/flags?v=2"
} >>"$S/setup.txt"
log "measured in $((SECONDS - run_started)) s"

# ---- results ----
mkdir -p bench/plots
$PY -B bench/report/unleash.py --plots bench/plots "$OUT" >"$S/section.md"
if [[ -z ${BENCH_RUN_SH:-} ]]; then
    cat "$S/section.md"
    $PY -B bench/report/unleash.py --check "$OUT"
fi
