# shellcheck shell=bash disable=SC2034  # the settings are used by the scripts that source this
# Shared by deploy/up.sh, deploy/down.sh and deploy/status.sh: the topology's settings (ports,
# paths) and the helpers that run things as the unprivileged account and manage pid files.
# Sourced, never run. Every setting can be overridden from the environment (see deploy/up.sh).

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$DEPLOY_DIR/.." && pwd)
# live_pid, stop_pid (pid files checked against command lines)
# shellcheck source=scripts/lib/pids.sh
source "$REPO_DIR/scripts/lib/pids.sh"

# ---- settings ----
FLAG_EVAL_DATA=${FLAG_EVAL_DATA:-$REPO_DIR/.data}
# Below Linux's ephemeral range (32768-60999) or above it: a port inside it can be held by the
# local end of any outgoing connection on the machine, and then a server cannot listen there.
PRIMARY_PORT=${PRIMARY_PORT:-15432}
STANDBY1_PORT=${STANDBY1_PORT:-15433}
STANDBY2_PORT=${STANDBY2_PORT:-15434}
PGBOUNCER1_PORT=${PGBOUNCER1_PORT:-64321}
PGBOUNCER2_PORT=${PGBOUNCER2_PORT:-64322}
DECIDE_HOST=${DECIDE_HOST:-127.0.0.1}
DECIDE_PORT=${DECIDE_PORT:-8000}
PERSONS=${PERSONS:-100000}
DB_NAME=${DB_NAME:-app}
SERVICE_ROLE=${SERVICE_ROLE:-flag_decide}
DEMO_TOKEN=${DEMO_TOKEN:-phc_demo}
DEMO_SECRET=${DEMO_SECRET:-phs_demo}
RUN_AS=${RUN_AS:-postgres}
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PGBOUNCER_BIN=${PGBOUNCER_BIN:-/usr/sbin/pgbouncer}
DECIDE_BIN=${DECIDE_BIN:-$REPO_DIR/build/flag-decide}
DECIDE_SETTINGS=${DECIDE_SETTINGS:-}   # extra config.json members ("key": value, ...), see up.sh
START_TIMEOUT=${START_TIMEOUT:-60}   # seconds, per server start and for /readyz

# ---- layout of the data directory (owned by $RUN_AS, mode 0700) ----
RUN_DIR=$FLAG_EVAL_DATA/run          # unix sockets of every server, pid files of PgBouncer and decide
LOG_DIR=$FLAG_EVAL_DATA/log
PRIMARY_DIR=$FLAG_EVAL_DATA/primary
STANDBY1_DIR=$FLAG_EVAL_DATA/standby1
STANDBY2_DIR=$FLAG_EVAL_DATA/standby2
PGBOUNCER_DIR=$FLAG_EVAL_DATA/pgbouncer
DECIDE_DIR=$FLAG_EVAL_DATA/decide
DECIDE_CONFIG=$DECIDE_DIR/config.json
DECIDE_PIDFILE=$RUN_DIR/flag-decide.pid
TOPOLOGY_ENV=$FLAG_EVAL_DATA/topology.env   # the ports the running topology was started with

log() { echo "deploy: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a command as $RUN_AS (PostgreSQL and PgBouncer refuse root), from a directory it can read.
# Without fd 9, the data directory's lock: a server started here must not hold it after we exit.
as_user() {
    if [[ $(id -un) == "$RUN_AS" ]]; then
        (cd "$FLAG_EVAL_DATA" && "$@") 9>&-
    else
        (cd "$FLAG_EVAL_DATA" && runuser -u "$RUN_AS" -- "$@") 9>&-
    fi
}

check_account() {
    id -u "$RUN_AS" >/dev/null 2>&1 || die "no '$RUN_AS' account (run scripts/install-deps.sh)"
    if [[ $(id -un) != "$RUN_AS" && $(id -u) -ne 0 ]]; then
        die "run as root or as '$RUN_AS' (servers run as the unprivileged account '$RUN_AS')"
    fi
}

# Holds an exclusive lock on the data directory for the rest of the script: two up/down runs
# must not start or stop the same servers at once.
lock_data_dir() {
    as_user touch "$FLAG_EVAL_DATA/.lock"
    exec 9>>"$FLAG_EVAL_DATA/.lock"
    flock -w 600 9 || die "another deploy script holds $FLAG_EVAL_DATA/.lock"
}

# Is something listening on 127.0.0.1:$1? (bash's /dev/tcp; no extra tools)
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cluster_running() { # $1 = data directory
    [[ -f $1/PG_VERSION ]] && as_user "$PG_BINDIR/pg_ctl" -D "$1" status >/dev/null 2>&1
}

pgbouncer_pid() { # $1 = 1 or 2
    live_pid "$RUN_DIR/pgbouncer$1.pid" "$PGBOUNCER_DIR/pgbouncer$1.ini"
}

decide_pid() {
    live_pid "$DECIDE_PIDFILE" "$DECIDE_CONFIG"
}

# host:port to reach flag-decide at (a wildcard listen address is reached on the loopback).
decide_address() {
    case $DECIDE_HOST in
        0.0.0.0) echo "127.0.0.1:$DECIDE_PORT" ;;
        ::) echo "[::1]:$DECIDE_PORT" ;;
        *:*) echo "[$DECIDE_HOST]:$DECIDE_PORT" ;;
        *) echo "$DECIDE_HOST:$DECIDE_PORT" ;;
    esac
}

# psql as the superuser over the primary's unix socket (trust), quiet, stopping at the first error.
psql_primary() {
    as_user "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$PRIMARY_PORT" -U postgres "$@"
}
