# shellcheck shell=bash
# bench/own/service_topology.sh: sourced by bench/own/service_bench.sh and
# bench/field/unleash_bench.sh, the pieces both need: a deploy/up.sh topology of their own (primary,
# 2 standbys, 2 PgBouncers, flag-decide on PORT_BASE .. PORT_BASE+5, data in DATA), the team whose
# flags need nothing stored, and the wait for a quiet machine.
#
# The caller sets REPO, DATA, PERSONS, PORT_BASE, DB, ROLE, LOCAL_TOKEN, S (its output directory)
# and defines log and die. Not a script of its own: it only defines variables and functions.

# Exports the topology's settings for deploy/up.sh and deploy/down.sh; sets DECIDE (its URL).
topology_export() {
    export FLAG_EVAL_DATA=$DATA PERSONS
    export PRIMARY_PORT=$PORT_BASE STANDBY1_PORT=$((PORT_BASE + 1)) STANDBY2_PORT=$((PORT_BASE + 2))
    export PGBOUNCER1_PORT=$((PORT_BASE + 3)) PGBOUNCER2_PORT=$((PORT_BASE + 4)) DECIDE_PORT=$((PORT_BASE + 5))
    export DECIDE_HOST=127.0.0.1 DB_NAME=$DB SERVICE_ROLE=$ROLE DECIDE_BIN=$REPO/build/flag-decide
    unset DEMO_TOKEN DEMO_SECRET PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS
    DECIDE=http://127.0.0.1:$DECIDE_PORT
}

# topology_claim PORT_COUNT ENV_NAME: never take over a directory that is not a topology of ours,
# nor ports someone else holds (PORT_BASE .. PORT_BASE+PORT_COUNT-1; ENV_NAME names the setting
# to change in the message).
topology_claim() {
    local count=$1 setting=$2 p
    if [[ -e $DATA ]]; then
        [[ -e $DATA/topology.env ]] || die "$DATA exists and is not a topology directory: remove it or set ${setting%_PORT_BASE}_DATA"
        log "removing the topology a previous run left in $DATA"
        deploy/down.sh --purge
    fi
    for ((p = PORT_BASE; p < PORT_BASE + count; p++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            die "port $p is in use: set $setting to the first of $count free ports"
        fi
    done
}

# Stops and deletes the topology (for the caller's EXIT trap); returns 1 when that failed.
topology_stop() {
    [[ -e $DATA ]] || return 0
    log "stopping the topology"
    deploy/down.sh --purge >&2 || { log "deploy/down.sh --purge failed: see $DATA"; return 1; }
}

# Starts it (log in $S/up.log); sets up_seconds.
topology_start() {
    local started=$SECONDS
    log "starting the topology in $DATA (ports $PORT_BASE-$((PORT_BASE + 5)), $PERSONS persons)"
    deploy/up.sh >"$S/up.log" 2>&1 || { tail -n 30 "$S/up.log" >&2; die "deploy/up.sh failed (log: $S/up.log)"; }
    # shellcheck disable=SC2034  # read by the sourcing script
    up_seconds=$((SECONDS - started))
}

as_postgres() {
    if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}
psql_primary() {
    as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$DATA/run" -p "$PRIMARY_PORT" -U postgres -d "$DB" "$@"
}
psql_standby1() {
    as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$DATA/run" -p "$STANDBY1_PORT" -U postgres -d "$DB" "$@"
}

post_flags() { # body -> HTTP status; the answer in $S/probe.json
    curl -s -o "$S/probe.json" -w '%{http_code}' --max-time 5 -X POST "$DECIDE/flags?v=2" \
        -H 'Content-Type: application/json' -d "$1"
}

# Loads team LOCAL_TOKEN (bench/inputs/sql/service_local_team.sql) and waits until flag-decide knows
# it.
load_local_team() {
    log "loading the team whose flags need nothing stored ($LOCAL_TOKEN)"
    psql_primary -v source=phc_demo -v token="$LOCAL_TOKEN" -v secret=phs_bench_local \
        <bench/inputs/sql/service_local_team.sql >"$S/local_team.log" 2>&1 \
        || { cat "$S/local_team.log" >&2; die "bench/inputs/sql/service_local_team.sql failed"; }
    # The service knows the new team once a standby replayed it and a definitions refresh read it.
    local deadline=$((SECONDS + 60))
    until [[ $(post_flags "{\"token\": \"$LOCAL_TOKEN\", \"distinct_id\": \"visitor-1\"}") == 200 ]]; do
        ((SECONDS < deadline)) || die "flag-decide does not know $LOCAL_TOKEN after 60 s (last answer: $(cat "$S/probe.json"))"
        sleep 0.2
    done
    [[ $(post_flags '{"token": "phc_demo", "distinct_id": "user-1"}') == 200 ]] \
        || die "POST /flags?v=2 for user-1 failed: $(cat "$S/probe.json")"
}

machine_ticks() { # busy and total ticks of all CPUs
    local _ user nice system idle iowait irq softirq steal
    read -r _ user nice system idle iowait irq softirq steal _ </proc/stat
    echo "$((user + nice + system + irq + softirq + steal)) $((user + nice + system + idle + iowait + irq + softirq + steal))"
}

busy_share() { # per cent of all CPUs busy over 2 seconds
    local b1 t1 b2 t2
    read -r b1 t1 < <(machine_ticks)
    sleep 2
    read -r b2 t2 < <(machine_ticks)
    echo $(((b2 - b1) * 100 / (t2 - t1 > 0 ? t2 - t1 : 1)))
}

# wait_until_quiet QUIET QUIET_WAIT: other work on this 2-CPU machine shows up in every figure, so
# wait while it uses more than QUIET per cent of the CPUs, for at most QUIET_WAIT seconds, then
# measure anyway. Sets share (the last busy share seen).
wait_until_quiet() {
    local quiet=$1 quiet_wait=$2 quiet_deadline next_note
    quiet_deadline=$((SECONDS + quiet_wait))
    next_note=$SECONDS
    while share=$(busy_share) && ((share > quiet)); do
        if ((SECONDS >= quiet_deadline)); then
            log "the machine is still ${share}% busy with other work after ${quiet_wait}s: measuring anyway"
            break
        fi
        if ((SECONDS >= next_note)); then
            log "the machine is ${share}% busy with other work; waiting for it to fall under ${quiet}% (up to $((quiet_deadline - SECONDS))s more)"
            next_note=$((SECONDS + 30))
        fi
    done
}
