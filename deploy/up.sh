#!/usr/bin/env bash
# deploy/up.sh: starts flag_eval's local replica topology on this machine (what `make up` runs
# after building and installing the extension and build/flag-decide):
#
#   primary    127.0.0.1:$PRIMARY_PORT     PostgreSQL 15, database $DB_NAME, flag_eval + sample data
#   standby1   127.0.0.1:$STANDBY1_PORT    streaming standby of the primary (replication slot standby1)
#   standby2   127.0.0.1:$STANDBY2_PORT    streaming standby of the primary (replication slot standby2)
#   pgbouncer1 127.0.0.1:$PGBOUNCER1_PORT  PgBouncer in front of standby1 (transaction pooling)
#   pgbouncer2 127.0.0.1:$PGBOUNCER2_PORT  PgBouncer in front of standby2 (transaction pooling)
#   decide     $DECIDE_HOST:$DECIDE_PORT   flag-decide, routes pgbouncer1, pgbouncer2, standby1,
#                                          standby2, primary (in that order)
#
# Environment (defaults in brackets):
#   PRIMARY_PORT [15432]  STANDBY1_PORT [15433]  STANDBY2_PORT [15434]
#   PGBOUNCER1_PORT [64321]  PGBOUNCER2_PORT [64322]  DECIDE_HOST [127.0.0.1]  DECIDE_PORT [8000]
#   PERSONS [100000]      persons in the sample data (team phc_demo / phs_demo, 50 flags)
#   FLAG_EVAL_DATA [<repo>/.data]  where everything lives (git-ignored; owned by RUN_AS, 0700)
#   DB_NAME [app]  SERVICE_ROLE [flag_decide]  RUN_AS [postgres]  START_TIMEOUT [60] seconds
#   PG_BINDIR [/usr/lib/postgresql/15/bin]  PGBOUNCER_BIN [/usr/sbin/pgbouncer]
#   DECIDE_BIN [<repo>/build/flag-decide]
#   DECIDE_SETTINGS [none]  more members of flag-decide's config.json, e.g.
#                           '"max_replica_lag_ms": 1000, "probe_interval_ms": 100' (test/drill uses it)
#
# Idempotent: what already runs is left running, what is missing is started, the sample data is
# loaded only when the demo team is absent or has another number of persons. flag-decide is
# restarted when its binary or its configuration changed. Stop everything with deploy/down.sh.
#
# Local only: every server listens on 127.0.0.1 and trusts connections from it (no passwords).
# That is acceptable for one developer machine and nowhere else (docs/deployment.md).
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The caller's libpq settings must not redirect our psql calls.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGPASSWORD PGPASSFILE PGOPTIONS

started_at=$SECONDS

# ---- preconditions ----
check_account
for port_var in PRIMARY_PORT STANDBY1_PORT STANDBY2_PORT PGBOUNCER1_PORT PGBOUNCER2_PORT DECIDE_PORT; do
    if ! [[ ${!port_var} =~ ^[0-9]+$ ]] || ((${!port_var} < 1 || ${!port_var} > 65535)); then
        die "$port_var must be a TCP port (1-65535), not '${!port_var}'"
    fi
done
[[ $PERSONS =~ ^[0-9]+$ ]] || die "PERSONS must be a number >= 0, not '$PERSONS'"
ports="$PRIMARY_PORT $STANDBY1_PORT $STANDBY2_PORT $PGBOUNCER1_PORT $PGBOUNCER2_PORT"
[[ $DECIDE_HOST == 127.0.0.1 ]] && ports+=" $DECIDE_PORT"
# shellcheck disable=SC2086  # split on purpose
[[ $(printf '%s\n' $ports | sort -u | wc -l) -eq $(wc -w <<<"$ports") ]] \
    || die "the ports must differ from each other: $ports"
for tool in initdb pg_ctl pg_basebackup pg_isready psql; do
    [[ -x $PG_BINDIR/$tool ]] || die "$PG_BINDIR/$tool not found (run scripts/install-deps.sh)"
done
[[ -x $PGBOUNCER_BIN ]] || die "$PGBOUNCER_BIN not found (run scripts/install-deps.sh)"
[[ -f $DEPLOY_DIR/sample_data.sql ]] || die "$DEPLOY_DIR/sample_data.sql is missing"
[[ -x $DECIDE_BIN ]] || die "$DECIDE_BIN not found: build it first (make decide)"
[[ -f $("$PG_BINDIR/pg_config" --sharedir)/extension/flag_eval.control ]] \
    || die "the flag_eval extension is not installed (make install)"

# ---- the data directory, owned by the unprivileged account ----
# Unix socket paths are limited to 107 bytes; every server's socket is in $RUN_DIR.
((${#RUN_DIR} + 17 <= 107)) || die "FLAG_EVAL_DATA is too long a path for unix sockets in $RUN_DIR (107 bytes at most)"
mkdir -p "$FLAG_EVAL_DATA"
# A new (empty) directory is given to the account; one with contents is never taken over.
if [[ $(id -u) -eq 0 && -z $(ls -A "$FLAG_EVAL_DATA") ]]; then
    chown "$RUN_AS:" "$FLAG_EVAL_DATA"
fi
[[ $(stat -c %U "$FLAG_EVAL_DATA") == "$RUN_AS" ]] \
    || die "$FLAG_EVAL_DATA belongs to $(stat -c %U "$FLAG_EVAL_DATA"), not '$RUN_AS': use an empty or new directory (FLAG_EVAL_DATA)"
chmod 0700 "$FLAG_EVAL_DATA"
# Every directory above it must let $RUN_AS through (a home directory often does not).
as_user test -w "$FLAG_EVAL_DATA" 2>/dev/null \
    || die "'$RUN_AS' cannot reach $FLAG_EVAL_DATA: a directory above it is not traversable by it (chmod o+x), or set FLAG_EVAL_DATA elsewhere"
lock_data_dir
as_user mkdir -p "$RUN_DIR" "$LOG_DIR" "$PGBOUNCER_DIR" "$DECIDE_DIR"
# Logs this script redirects into are created by the account that owns the directory, so that a
# later run as that account (or PgBouncer, which opens its log itself) can write them.
for f in initdb standby1.basebackup standby2.basebackup sample_data pgbouncer1 pgbouncer2 flag-decide; do
    as_user touch "$LOG_DIR/$f.log"
done

# A topology that runs keeps its ports: starting half of it elsewhere would split it.
if [[ -f $TOPOLOGY_ENV ]]; then
    (
        # shellcheck disable=SC1090
        source "$TOPOLOGY_ENV"
        for v in PRIMARY_PORT STANDBY1_PORT STANDBY2_PORT PGBOUNCER1_PORT PGBOUNCER2_PORT DECIDE_HOST DECIDE_PORT DB_NAME; do
            running_var=RUNNING_$v
            if [[ ${!running_var:-${!v}} != "${!v}" ]]; then
                if cluster_running "$PRIMARY_DIR" || cluster_running "$STANDBY1_DIR" || cluster_running "$STANDBY2_DIR" \
                        || pgbouncer_pid 1 >/dev/null || pgbouncer_pid 2 >/dev/null || decide_pid >/dev/null; then
                    die "the running topology uses $v=${!running_var}, not ${!v}: run deploy/down.sh first"
                fi
            fi
        done
    ) || exit 1
fi
{
    echo "# written by deploy/up.sh: what the topology in this directory was last started with"
    for v in PRIMARY_PORT STANDBY1_PORT STANDBY2_PORT PGBOUNCER1_PORT PGBOUNCER2_PORT DECIDE_HOST DECIDE_PORT DB_NAME; do
        printf 'RUNNING_%s=%q\n' "$v" "${!v}"
    done
} | as_user tee "$TOPOLOGY_ENV" >/dev/null

# ---- PostgreSQL clusters ----

# The settings deploy/ owns, rewritten before each start (so changed ports take effect) and
# included from postgresql.conf. $1 = data directory, $2 = port, $3 = standby name or "".
write_cluster_conf() {
    local dir=$1 port=$2 standby=$3
    as_user tee "$dir/flag_eval_deploy.conf" >/dev/null <<EOF
# written by deploy/up.sh at each start; edit deploy/up.sh instead
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$RUN_DIR'
# streaming replication: standbys need the same limits as the primary
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
# a slot keeps WAL for a stopped standby so it catches up; this bounds what it may hold
max_slot_wal_keep_size = '2GB'
hot_standby = on
# standbys tell the primary which rows their queries still read: fewer cancelled queries
hot_standby_feedback = on
max_connections = 200
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    if [[ -n $standby ]]; then
        as_user tee -a "$dir/flag_eval_deploy.conf" >/dev/null <<EOF
# this is a standby of the primary on port $PRIMARY_PORT
primary_conninfo = 'host=127.0.0.1 port=$PRIMARY_PORT user=postgres application_name=$standby'
primary_slot_name = '$standby'
EOF
    fi
    if ! grep -qx "include = 'flag_eval_deploy.conf'" "$dir/postgresql.conf"; then
        echo "include = 'flag_eval_deploy.conf'" | as_user tee -a "$dir/postgresql.conf" >/dev/null
    fi
}

# Starts the cluster in $1 (name $2, port $3) unless it already runs; waits until it accepts
# connections over TCP.
start_cluster() {
    local dir=$1 name=$2 port=$3 standby=${4:-}
    if cluster_running "$dir"; then
        log "$name: already running (port $port)"
        return 0
    fi
    port_in_use "$port" && die "$name: port $port is taken by another process (set ${name^^}_PORT)"
    write_cluster_conf "$dir" "$port" "$standby"
    if ! as_user "$PG_BINDIR/pg_ctl" -D "$dir" -l "$LOG_DIR/$name.log" -w -t "$START_TIMEOUT" start >/dev/null; then
        tail -n 30 "$LOG_DIR/$name.log" >&2 || true
        die "$name failed to start (log: $LOG_DIR/$name.log)"
    fi
    local deadline=$((SECONDS + START_TIMEOUT))
    until "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; do
        ((SECONDS < deadline)) || die "$name: not accepting connections on port $port after ${START_TIMEOUT}s"
        sleep 0.1
    done
    log "$name: started on 127.0.0.1:$port"
}

# Data directories are made under a temporary name and renamed when complete: an interrupted
# initdb or base backup is redone by the next run, never started half-made.
if [[ ! -d $PRIMARY_DIR ]]; then
    log "primary: initdb $PRIMARY_DIR"
    as_user rm -rf "$PRIMARY_DIR.partial"
    # trust for local connections only (initdb's pg_hba.conf: unix socket and 127.0.0.1/::1,
    # replication included); fine on one developer machine, never elsewhere
    as_user "$PG_BINDIR/initdb" -D "$PRIMARY_DIR.partial" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 \
        || { cat "$LOG_DIR/initdb.log" >&2; die "initdb failed"; }
    as_user mv "$PRIMARY_DIR.partial" "$PRIMARY_DIR"
fi
start_cluster "$PRIMARY_DIR" primary "$PRIMARY_PORT"

# One physical slot per standby: the primary keeps the WAL a stopped standby still needs.
psql_primary -d postgres <<'SQL'
SELECT pg_catalog.pg_create_physical_replication_slot(slot)
FROM unnest(ARRAY['standby1', 'standby2']) AS slot
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots s WHERE s.slot_name = slot) \g /dev/null
SQL

# ---- the database, the extension, the service's role, the sample data (on the primary) ----
if [[ -z $(psql_primary -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") ]]; then
    as_user "$PG_BINDIR/createdb" -h "$RUN_DIR" -p "$PRIMARY_PORT" -U postgres -E UTF8 -T template0 "$DB_NAME"
    log "primary: created database $DB_NAME"
fi
psql_primary -d "$DB_NAME" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS flag_eval"
as_user cat "$DEPLOY_DIR/service_role.sql" >/dev/null 2>&1 \
    || die "'$RUN_AS' cannot read $DEPLOY_DIR (a parent directory is not traversable by it)"
psql_primary -d "$DB_NAME" -v role="$SERVICE_ROLE" -f "$DEPLOY_DIR/service_role.sql"

have_persons=$(psql_primary -d "$DB_NAME" -tA -v token="$DEMO_TOKEN" <<'SQL'
SELECT (SELECT count(*) FROM flag_eval.persons p WHERE p.team_id = t.id)
FROM flag_eval.teams t WHERE t.api_token = :'token'
SQL
)
if [[ $have_persons != "$PERSONS" ]]; then
    log "primary: loading sample data ($PERSONS persons; the team had ${have_persons:-none})"
    load_started=$SECONDS
    psql_primary -d "$DB_NAME" -v persons="$PERSONS" -v token="$DEMO_TOKEN" -v secret="$DEMO_SECRET" \
        -f "$DEPLOY_DIR/sample_data.sql" >"$LOG_DIR/sample_data.log" 2>&1 \
        || { cat "$LOG_DIR/sample_data.log" >&2; die "loading deploy/sample_data.sql failed"; }
    log "primary: sample data loaded in $((SECONDS - load_started))s"
else
    log "primary: sample data present (team $DEMO_TOKEN, $PERSONS persons)"
fi

# ---- standbys: a base backup of the primary, streaming through their slots ----
make_standby() {
    local dir=$1 name=$2
    [[ -d $dir ]] && return 0
    log "$name: base backup of the primary into $dir"
    as_user rm -rf "$dir.partial"
    # -S: stream through the standby's own slot from the backup's first WAL on. No -R: its
    # primary_conninfo would sit in postgresql.auto.conf, which overrides the ports that
    # write_cluster_conf rewrites at each start; standby.signal is all else -R writes.
    as_user "$PG_BINDIR/pg_basebackup" -h "$RUN_DIR" -p "$PRIMARY_PORT" -U postgres -D "$dir.partial" \
        -X stream -S "$name" -c fast >"$LOG_DIR/$name.basebackup.log" 2>&1 \
        || { cat "$LOG_DIR/$name.basebackup.log" >&2; die "pg_basebackup for $name failed"; }
    as_user touch "$dir.partial/standby.signal"
    as_user mv "$dir.partial" "$dir"
}
make_standby "$STANDBY1_DIR" standby1
make_standby "$STANDBY2_DIR" standby2
start_cluster "$STANDBY1_DIR" standby1 "$STANDBY1_PORT" standby1
start_cluster "$STANDBY2_DIR" standby2 "$STANDBY2_PORT" standby2

# ---- PgBouncer in front of each standby ----
# trust still needs the user names in auth_file; passwords are not checked.
as_user tee "$PGBOUNCER_DIR/userlist.txt" >/dev/null <<EOF
"postgres" ""
"$SERVICE_ROLE" ""
EOF

start_pgbouncer() {
    local n=$1 port=$2 standby_port=$3 ini=$PGBOUNCER_DIR/pgbouncer$1.ini pid
    if pid=$(pgbouncer_pid "$n"); then
        log "pgbouncer$n: already running (pid $pid, port $port)"
        return 0
    fi
    port_in_use "$port" && die "pgbouncer$n: port $port is taken by another process (set PGBOUNCER${n}_PORT)"
    as_user tee "$ini" >/dev/null <<EOF
; written by deploy/up.sh at each start; edit deploy/up.sh instead
[databases]
; every database name goes to standby$n
* = host=127.0.0.1 port=$standby_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $RUN_DIR
pidfile = $RUN_DIR/pgbouncer$n.pid
logfile = $LOG_DIR/pgbouncer$n.log
auth_type = trust
auth_file = $PGBOUNCER_DIR/userlist.txt
; PAUSE / RESUME / SHOW for drills: psql -h 127.0.0.1 -p $port -U postgres pgbouncer
admin_users = postgres
stats_users = postgres
; flag-decide runs one statement per transaction (unnamed statements): transaction pooling fits
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
; fail fast when the standby is away: a client waits at most 2 s for a server connection
; (flag-decide gives up sooner, at its own deadline), and a failed login is retried after 1 s
query_wait_timeout = 2
server_login_retry = 1
server_connect_timeout = 2
ignore_startup_parameters = extra_float_digits
EOF
    if ! as_user "$PGBOUNCER_BIN" -d -q "$ini" 2>>"$LOG_DIR/pgbouncer$n.log"; then
        tail -n 20 "$LOG_DIR/pgbouncer$n.log" >&2 || true
        die "pgbouncer$n failed to start (log: $LOG_DIR/pgbouncer$n.log)"
    fi
    local deadline=$((SECONDS + START_TIMEOUT))
    until pid=$(pgbouncer_pid "$n") && port_in_use "$port"; do
        ((SECONDS < deadline)) || die "pgbouncer$n: not listening on port $port after ${START_TIMEOUT}s (log: $LOG_DIR/pgbouncer$n.log)"
        sleep 0.1
    done
    log "pgbouncer$n: started on 127.0.0.1:$port (pid $pid) in front of standby$n"
}
start_pgbouncer 1 "$PGBOUNCER1_PORT" "$STANDBY1_PORT"
start_pgbouncer 2 "$PGBOUNCER2_PORT" "$STANDBY2_PORT"

# ---- standbys caught up with the primary (the sample data just written included) ----
target_lsn=$(psql_primary -d postgres -tAc "SELECT pg_current_wal_lsn()")
for s in "standby1 $STANDBY1_PORT" "standby2 $STANDBY2_PORT"; do
    read -r name port <<<"$s"
    deadline=$((SECONDS + START_TIMEOUT * 5))
    until [[ $(as_user "$PG_BINDIR/psql" -X -tA -h "$RUN_DIR" -p "$port" -U postgres -d postgres \
                   -c "SELECT pg_last_wal_replay_lsn() >= '$target_lsn'" 2>/dev/null) == t ]]; do
        ((SECONDS < deadline)) || die "$name has not replayed the primary's WAL up to $target_lsn after $((START_TIMEOUT * 5))s"
        sleep 0.2
    done
done
log "standbys: caught up with the primary ($target_lsn)"

# ---- flag-decide ----
json_string() { # a JSON string literal for $1
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}
route() { # name role port [backend: the server behind a pooler]
    printf '    {"name": "%s", "role": "%s", "conninfo": %s%s}' "$1" "$2" \
        "$(json_string "host=127.0.0.1 port=$3 dbname=$DB_NAME user=$SERVICE_ROLE application_name=flag-decide")" \
        "${4:+, \"backend\": \"$4\"}"
}
new_config=$(cat <<EOF
{
  "listen_address": $(json_string "$DECIDE_HOST"),
  "listen_port": $DECIDE_PORT,
  "routes": [
$(route pgbouncer1 pooler "$PGBOUNCER1_PORT" standby1),
$(route pgbouncer2 pooler "$PGBOUNCER2_PORT" standby2),
$(route standby1 replica "$STANDBY1_PORT"),
$(route standby2 replica "$STANDBY2_PORT"),
$(route primary primary "$PRIMARY_PORT")
  ],
  "snapshot_path": $(json_string "$DECIDE_DIR/definitions.snapshot.json")${DECIDE_SETTINGS:+,
  $DECIDE_SETTINGS}
}
EOF
)

if pid=$(decide_pid); then
    # /proc/PID/exe ends in " (deleted)" once the binary was rebuilt, names another file when
    # DECIDE_BIN changed.
    if [[ $new_config != "$(cat "$DECIDE_CONFIG")" || $DECIDE_BIN -nt $DECIDE_PIDFILE
            || $(readlink "/proc/$pid/exe") != "$(readlink -f "$DECIDE_BIN")" ]]; then
        log "decide: configuration or binary changed; restarting (pid $pid)"
        stop_pid "$pid" 10 flag-decide
    else
        log "decide: already running (pid $pid, $DECIDE_HOST:$DECIDE_PORT)"
    fi
fi
if ! pid=$(decide_pid); then
    as_user tee "$DECIDE_CONFIG" >/dev/null <<<"$new_config"
    [[ $DECIDE_HOST != 127.0.0.1 ]] || ! port_in_use "$DECIDE_PORT" \
        || die "decide: port $DECIDE_PORT is taken by another process (set DECIDE_PORT)"
    as_user rm -f "$DECIDE_PIDFILE"
    # setsid -f: a session of its own (no terminal, survives this script), and runuser returns at
    # once. The shell writes its pid, then becomes flag-decide (exec keeps the pid).
    # shellcheck disable=SC2016  # expanded by that inner shell
    as_user setsid -f bash -c 'echo $$ >"$1"; exec "$2" --config "$3"' flag-decide \
        "$DECIDE_PIDFILE" "$DECIDE_BIN" "$DECIDE_CONFIG" >>"$LOG_DIR/flag-decide.log" 2>&1 </dev/null
    deadline=$((SECONDS + START_TIMEOUT))
    until pid=$(decide_pid); do
        if [[ -s $DECIDE_PIDFILE ]] && ! kill -0 "$(head -n1 "$DECIDE_PIDFILE")" 2>/dev/null; then
            tail -n 30 "$LOG_DIR/flag-decide.log" >&2 || true
            die "decide: exited at once (log: $LOG_DIR/flag-decide.log)"
        fi
        ((SECONDS < deadline)) || die "decide: did not start (log: $LOG_DIR/flag-decide.log)"
        sleep 0.1
    done
    log "decide: started (pid $pid)"
fi

# Ready = definitions loaded (GET /readyz answers 200).
readyz() {
    if command -v curl >/dev/null; then
        curl -fsS -o /dev/null --max-time 2 "http://$1/readyz" 2>/dev/null
    else # bash's /dev/tcp: the status line of a plain HTTP/1.1 GET
        # shellcheck disable=SC2016  # expanded by the inner shell
        timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET /readyz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$1" >&3 \
            && read -r _ code _ <&3 && [[ $code == 200 ]]' readyz "$(tr -d '[]' <<<"${1%:*}")" "${1##*:}" 2>/dev/null
    fi
}
decide_addr=$(decide_address)
deadline=$((SECONDS + START_TIMEOUT))
until readyz "$decide_addr"; do
    if ! decide_pid >/dev/null; then
        tail -n 30 "$LOG_DIR/flag-decide.log" >&2 || true
        die "decide: exited while starting (log: $LOG_DIR/flag-decide.log)"
    fi
    ((SECONDS < deadline)) || die "decide: /readyz not 200 after ${START_TIMEOUT}s (log: $LOG_DIR/flag-decide.log)"
    sleep 0.1
done
log "decide: ready on http://$decide_addr"
log "topology up in $((SECONDS - started_at))s"

# ---- what to do with it ----
cat <<EOF

flag_eval local topology (data: $FLAG_EVAL_DATA, logs: $LOG_DIR)

  primary     postgresql://postgres@127.0.0.1:$PRIMARY_PORT/$DB_NAME
  standby1    postgresql://postgres@127.0.0.1:$STANDBY1_PORT/$DB_NAME
  standby2    postgresql://postgres@127.0.0.1:$STANDBY2_PORT/$DB_NAME
  pgbouncer1  postgresql://$SERVICE_ROLE@127.0.0.1:$PGBOUNCER1_PORT/$DB_NAME   (admin: psql -h 127.0.0.1 -p $PGBOUNCER1_PORT -U postgres pgbouncer)
  pgbouncer2  postgresql://$SERVICE_ROLE@127.0.0.1:$PGBOUNCER2_PORT/$DB_NAME   (admin: psql -h 127.0.0.1 -p $PGBOUNCER2_PORT -U postgres pgbouncer)
  decide      http://$decide_addr   (/flags?v=2, /flags/definitions, /healthz, /readyz, /metrics)
  sample data team token $DEMO_TOKEN, secret $DEMO_SECRET, 50 flags, $PERSONS persons (user-1 .. user-$PERSONS)

Ask the decide service, as a PostHog SDK does:

  curl -s -X POST 'http://$decide_addr/flags?v=2' -H 'Content-Type: application/json' \\
       -d '{"token": "$DEMO_TOKEN", "distinct_id": "user-42", "person_properties": {"plan": "enterprise"}}'

  curl -s -H 'Authorization: Bearer $DEMO_SECRET' 'http://$decide_addr/flags/definitions?token=$DEMO_TOKEN'

Read the flags in a browser with posthog-js (docs/web.md), from a page bootstrapped by its server:

  (cd examples/web && npm ci && FLAG_DECIDE_URL=http://$decide_addr POSTHOG_TOKEN=$DEMO_TOKEN node server.mjs)
  then open http://127.0.0.1:3000/?user=user-42

Ask a standby in SQL:

  psql -h 127.0.0.1 -p $STANDBY1_PORT -U postgres $DB_NAME -c \\
    "SELECT flag_eval.decide('$DEMO_TOKEN', 'user-42')::jsonb -> 'flags' -> 'paid-plan'"

  psql -h 127.0.0.1 -p $STANDBY1_PORT -U postgres $DB_NAME -c "
    SELECT f.key, count(*) FILTER (WHERE flag_eval.flag_eval(
               f.definition || jsonb_build_object('key', f.key), d.distinct_id, p.properties)) AS enabled,
           count(*) AS persons
    FROM flag_eval.teams t
    JOIN flag_eval.flags f ON f.team_id = t.id
    JOIN flag_eval.persons p ON p.team_id = t.id
    JOIN flag_eval.person_distinct_ids d ON d.team_id = t.id AND d.person_id = p.id
    WHERE t.api_token = '$DEMO_TOKEN' AND f.key IN ('paid-plan', 'staff', 'rollout-50')
      AND d.distinct_id LIKE 'user-%'
    GROUP BY f.key ORDER BY f.key"

Stop it all: make down (deploy/down.sh); state: deploy/status.sh
EOF
