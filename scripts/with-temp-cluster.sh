#!/usr/bin/env bash
# with-temp-cluster.sh CMD [ARGS...]
#
# Runs CMD against a throw-away PostgreSQL 15 cluster, then stops the cluster and
# removes it, and exits with CMD's status.
#
# - The cluster lives in a fresh temp directory owned by the unprivileged
#   `postgres` account (PostgreSQL refuses to run as root); its unix socket is
#   in that directory and it listens on a free TCP port of 127.0.0.1 (never
#   5432; several of these clusters can run at once).
# - CMD runs as the invoking user with PGHOST=127.0.0.1 PGPORT=<port>
#   PGUSER=postgres PGDATABASE=postgres (authentication: trust, loopback only),
#   plus FLAG_EVAL_PG_DATA, FLAG_EVAL_PG_SOCKDIR and FLAG_EVAL_PG_LOG.
#
# Environment:
#   FLAG_EVAL_PG_SETTINGS     extra postgresql.conf lines, appended last
#                             (e.g. $'shared_preload_libraries = \'flag_eval\'\nwork_mem = 64MB')
#   FLAG_EVAL_PG_INITDB_OPTS  extra initdb options (word-split)
#   FLAG_EVAL_PG_TMPROOT      where the temp directory is made (default /tmp;
#                             the postgres account must be able to reach it)
#   FLAG_EVAL_PG_START_TIMEOUT seconds to wait for the server (default 60)
#   FLAG_EVAL_PG_BINDIR       PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

BINDIR=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}
TMPROOT=${FLAG_EVAL_PG_TMPROOT:-/tmp}
START_TIMEOUT=${FLAG_EVAL_PG_START_TIMEOUT:-60}
PG_OS_USER=postgres

log() { echo "with-temp-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

[[ -x $BINDIR/initdb && -x $BINDIR/pg_ctl && -x $BINDIR/pg_isready ]] \
    || die "PostgreSQL 15 binaries not found in $BINDIR (run scripts/install-deps.sh)"
id -u "$PG_OS_USER" >/dev/null 2>&1 \
    || die "no '$PG_OS_USER' account (run scripts/install-deps.sh)"

# Run a command as the postgres account, from a directory it can read.
as_pg() {
    if [[ $(id -un) == "$PG_OS_USER" ]]; then
        (cd "$TMPDIR_PG" && "$@")
    else
        (cd "$TMPDIR_PG" && runuser -u "$PG_OS_USER" -- "$@")
    fi
}

TMPDIR_PG=$(mktemp -d "$TMPROOT/flag_eval_pg.XXXXXX")
PGDATA_DIR=$TMPDIR_PG/data
SERVER_LOG=$TMPDIR_PG/server.log
chmod 0700 "$TMPDIR_PG"
if [[ $(id -u) -eq 0 ]]; then
    chown "$PG_OS_USER:" "$TMPDIR_PG"
fi
STARTED=0

postmaster_pid() {
    # First line of postmaster.pid, if the server wrote one.
    local pid
    pid=$(head -n1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
}

# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    if [[ -f $PGDATA_DIR/postmaster.pid ]]; then
        local pid
        pid=$(postmaster_pid || true)
        if ! as_pg "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null 2>&1; then
            # Only this cluster's own postmaster, by the pid its data dir recorded.
            if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
                log "pg_ctl stop failed; sending SIGQUIT to postmaster $pid"
                kill -QUIT "$pid" 2>/dev/null || true
                local i
                for ((i = 0; i < 100; i++)); do
                    kill -0 "$pid" 2>/dev/null || break
                    sleep 0.1
                done
                if kill -0 "$pid" 2>/dev/null; then
                    kill -KILL "$pid" 2>/dev/null || true
                fi
            fi
        fi
    fi
    rm -rf -- "$TMPDIR_PG"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- initdb ----
# shellcheck disable=SC2086  # FLAG_EVAL_PG_INITDB_OPTS is word-split on purpose
if ! as_pg "$BINDIR/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 --no-sync ${FLAG_EVAL_PG_INITDB_OPTS:-} \
        >"$TMPDIR_PG/initdb.log" 2>&1; then
    cat "$TMPDIR_PG/initdb.log" >&2
    die "initdb failed"
fi

# postgresql.conf = initdb's file + our block, rewritten on each start attempt.
cp "$PGDATA_DIR/postgresql.conf" "$TMPDIR_PG/postgresql.conf.initdb"
write_conf() {
    local port=$1
    {
        cat "$TMPDIR_PG/postgresql.conf.initdb"
        echo
        echo "# ---- with-temp-cluster.sh ----"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$TMPDIR_PG'"
        echo "shared_preload_libraries = ''"
        echo "fsync = off"
        echo "logging_collector = off"
        if [[ -n ${FLAG_EVAL_PG_SETTINGS:-} ]]; then
            echo "# ---- FLAG_EVAL_PG_SETTINGS ----"
            printf '%s\n' "$FLAG_EVAL_PG_SETTINGS"
        fi
    } >"$PGDATA_DIR/postgresql.conf"
}

# Is something listening on 127.0.0.1:$1? (bash's /dev/tcp; no extra tools)
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
    # Below Linux's ephemeral range (32768-60999), away from 5432.
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 12000))
        port_in_use "$port" || { echo "$port"; return 0; }
    done
    return 1
}

# ---- start, retrying on another port if one was taken meanwhile ----
PORT=
for attempt in 1 2 3 4 5; do
    PORT=$(pick_port) || die "found no free TCP port"
    write_conf "$PORT"
    as_pg truncate -s 0 "$SERVER_LOG"
    if as_pg "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$SERVER_LOG" -w -t "$START_TIMEOUT" start \
            >"$TMPDIR_PG/pg_ctl.log" 2>&1; then
        STARTED=1
        break
    fi
    if grep -q "Address already in use" "$SERVER_LOG" && ! postmaster_pid >/dev/null; then
        log "port $PORT was taken (attempt $attempt); trying another"
        continue
    fi
    break
done

if [[ $STARTED -ne 1 ]]; then
    log "PostgreSQL failed to start (data dir $PGDATA_DIR, port $PORT)"
    cat "$TMPDIR_PG/pg_ctl.log" >&2 || true
    echo "---- server log ----" >&2
    cat "$SERVER_LOG" >&2 || true
    exit 1
fi

# ---- wait until it accepts connections over TCP, with a deadline ----
deadline=$((SECONDS + START_TIMEOUT))
until "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -t 2; do
    if ((SECONDS >= deadline)); then
        log "server on port $PORT not ready after ${START_TIMEOUT}s"
        echo "---- server log ----" >&2
        cat "$SERVER_LOG" >&2 || true
        exit 1
    fi
    pid=$(postmaster_pid || true)
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
        log "server exited while starting"
        echo "---- server log ----" >&2
        cat "$SERVER_LOG" >&2 || true
        exit 1
    fi
    sleep 0.1
done
log "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') ready on 127.0.0.1:$PORT (data $PGDATA_DIR)"

# ---- run CMD as the invoking user ----
unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGDATA PGPASSWORD PGPASSFILE PGOPTIONS
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
export FLAG_EVAL_PG_DATA=$PGDATA_DIR FLAG_EVAL_PG_SOCKDIR=$TMPDIR_PG FLAG_EVAL_PG_LOG=$SERVER_LOG

set +e
"$@"
status=$?
set -e

if [[ $status -ne 0 ]]; then
    log "command exited with status $status; last lines of the server log:"
    tail -n 30 "$SERVER_LOG" >&2 || true
fi
exit "$status"
