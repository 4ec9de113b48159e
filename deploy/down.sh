#!/usr/bin/env bash
# deploy/down.sh [--purge]: stops flag_eval's local topology (what `make down` runs): flag-decide,
# both PgBouncers, both standbys, the primary. Only processes deploy/up.sh started are stopped:
# flag-decide and PgBouncer by their pid files (checked against their command lines), the
# clusters with pg_ctl on their data directories. Half-started topologies are fine; so is
# nothing running at all.
#
#   --purge   then delete the data directory (FLAG_EVAL_DATA, default <repo>/.data): the next
#             deploy/up.sh starts from scratch (initdb, base backups, sample data).
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=0
for arg in "$@"; do
    case $arg in
        --purge) purge=1 ;;
        -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (usage: deploy/down.sh [--purge])" ;;
    esac
done

if [[ ! -d $FLAG_EVAL_DATA ]]; then
    log "nothing to stop: $FLAG_EVAL_DATA does not exist"
    exit 0
fi
check_account
lock_data_dir
failed=0

# Clients first (flag-decide, then the poolers), then the standbys, the primary last: nothing
# loses its upstream while it still runs (no reconnect storms in the logs).
if pid=$(decide_pid); then
    stop_pid "$pid" 10 flag-decide
    log "decide: stopped (pid $pid)"
fi
as_user rm -f "$DECIDE_PIDFILE"

# Both at once: each PgBouncer takes a second or two to notice SIGTERM (immediate shutdown;
# SIGINT would wait for its clients to leave).
pgbouncer_pids=()
for n in 1 2; do
    if pid=$(pgbouncer_pid "$n"); then
        pgbouncer_pids[n]=$pid
        kill -TERM "$pid" 2>/dev/null || true
    fi
done
for n in "${!pgbouncer_pids[@]}"; do
    stop_pid "${pgbouncer_pids[$n]}" 10 "pgbouncer$n"
    log "pgbouncer$n: stopped (pid ${pgbouncer_pids[$n]})"
done
as_user rm -f "$RUN_DIR/pgbouncer1.pid" "$RUN_DIR/pgbouncer2.pid"

for name in standby1 standby2 primary; do
    dir=$FLAG_EVAL_DATA/$name
    if cluster_running "$dir"; then
        if as_user "$PG_BINDIR/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null; then
            log "$name: stopped"
        else
            log "$name: pg_ctl stop failed (log: $LOG_DIR/$name.log)"
            failed=1
        fi
    fi
done

if ((purge)); then
    if ((failed)); then
        die "not purging $FLAG_EVAL_DATA: something did not stop"
    fi
    # The lock file goes with the directory; this script holds it until it exits.
    rm -rf -- "$FLAG_EVAL_DATA"
    log "purged $FLAG_EVAL_DATA"
fi
exit "$failed"
