#!/usr/bin/env bash
# deploy/status.sh: what of the local topology runs, on which port, and how far the standbys are
# behind the primary. Exit status 0 when every part runs, 1 otherwise. Changes nothing.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGPASSWORD PGPASSFILE PGOPTIONS

if [[ ! -d $FLAG_EVAL_DATA ]]; then
    echo "not set up: $FLAG_EVAL_DATA does not exist (deploy/up.sh)"
    exit 1
fi
check_account
# The ports the topology was started with, which may differ from this shell's defaults.
if [[ -f $TOPOLOGY_ENV ]]; then
    # shellcheck disable=SC1090
    source "$TOPOLOGY_ENV"
    for v in PRIMARY_PORT STANDBY1_PORT STANDBY2_PORT PGBOUNCER1_PORT PGBOUNCER2_PORT DECIDE_HOST DECIDE_PORT DB_NAME; do
        running_var=RUNNING_$v
        [[ -n ${!running_var:-} ]] && printf -v "$v" '%s' "${!running_var}"
    done
fi

all_up=1
row() { printf '  %-11s %-22s %s\n' "$1" "$2" "$3"; }
down() { row "$1" "$2" "stopped"; all_up=0; }

echo "flag_eval local topology ($FLAG_EVAL_DATA)"
for s in "primary $PRIMARY_DIR $PRIMARY_PORT" "standby1 $STANDBY1_DIR $STANDBY1_PORT" "standby2 $STANDBY2_DIR $STANDBY2_PORT"; do
    read -r name dir port <<<"$s"
    if cluster_running "$dir"; then
        detail="running (pid $(head -n1 "$dir/postmaster.pid"))"
        if [[ $name == standby* ]]; then
            lag=$(as_user "$PG_BINDIR/psql" -X -tA -h "$RUN_DIR" -p "$port" -U postgres -d postgres -c \
                "SELECT coalesce(round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::text || ' s since the last replayed commit', 'nothing replayed yet') || ', replay ' || pg_last_wal_replay_lsn()" 2>/dev/null || echo "not answering")
            detail+=", $lag"
        fi
        row "$name" "127.0.0.1:$port" "$detail"
    else
        down "$name" "127.0.0.1:$port"
    fi
done
for n in 1 2; do
    port_var=PGBOUNCER${n}_PORT
    if pid=$(pgbouncer_pid "$n"); then
        row "pgbouncer$n" "127.0.0.1:${!port_var}" "running (pid $pid)"
    else
        down "pgbouncer$n" "127.0.0.1:${!port_var}"
    fi
done
if pid=$(decide_pid); then
    ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$(decide_address)/readyz" 2>/dev/null || true)
    row decide "$DECIDE_HOST:$DECIDE_PORT" "running (pid $pid), /readyz ${ready:-no answer}"
else
    down decide "$DECIDE_HOST:$DECIDE_PORT"
fi
((all_up)) || exit 1
