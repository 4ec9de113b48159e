#!/usr/bin/env bash
# run-tap.sh [TEST.pl ...]
#
# Runs the TAP tests (test/t/*.pl by default) with prove, as the unprivileged `postgres`
# account: PostgreSQL::Test::Cluster runs initdb and pg_ctl as the current user, and PostgreSQL
# refuses to run as root. `make tap` installs the extension first, then calls this.
#
# - prove's working area (TESTDIR, whose tmp_check/ holds the nodes, and TMPDIR, where the
#   framework puts the nodes' unix sockets) is a fresh /tmp/flag_eval_tap.XXXXXX owned by
#   postgres, removed afterwards; the test and server logs are copied to the log directory (below) first.
# - the npm packages of test/sdk (posthog-node, puppeteer-core) and examples/web (posthog-js, the
#   page 017 drives) are installed first (scripts/install-npm-deps.sh: npm ci, skipped while
#   package-lock.json is unchanged).
# - Every node a test starts, the framework stops in its END block, failures included; PgBouncer
#   and flag-decide, FlagEval::Test::Process's END block. If prove itself is killed (or overruns
#   FLAG_EVAL_TAP_TIMEOUT), whatever still runs is stopped here: postmasters by the data
#   directories of this run, PgBouncer and flag-decide by their pid files. Anything found then
#   fails the run.
#
# Environment:
#   PG_CONFIG                 pg_config of the server (default /usr/lib/postgresql/15/bin/pg_config)
#   PROVE_FLAGS               extra prove flags (e.g. --verbose)
#   PG_TEST_TIMEOUT_DEFAULT   the framework's per-wait deadline in seconds (default 60)
#   FLAG_EVAL_TAP_TIMEOUT     deadline for the whole prove run in seconds (default 1200: a guard
#                             against a hang, which a busy machine must not trip; ~130 s on a quiet one)
#   PG_TEST_NOCLEAN           keep the working area (its path is printed)
#   FLAG_EVAL_TAP_LOGDIR      where the logs are kept (default build/tap/log)
#   FLAG_DECIDE               the flag-decide binary the tests start (default build/flag-decide)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PERLDIR=$(dirname "$("$PG_CONFIG" --pgxs)")/../test/perl
PG_OS_USER=postgres
LOGDIR=${FLAG_EVAL_TAP_LOGDIR:-$REPO/build/tap/log}

log() { echo "run-tap: $*" >&2; }
die() { log "$*"; exit 1; }

[[ -f $PERLDIR/PostgreSQL/Test/Cluster.pm ]] \
    || die "PostgreSQL::Test::Cluster not found in $PERLDIR (Debian package postgresql-client-15; run scripts/install-deps.sh)"
perl -MIPC::Run -e 1 2>/dev/null || die "perl module IPC::Run missing (Debian package libipc-run-perl)"
command -v prove >/dev/null || die "prove not found (Debian package perl)"
id -u "$PG_OS_USER" >/dev/null 2>&1 || die "no '$PG_OS_USER' account (run scripts/install-deps.sh)"

# The npm packages some tests drive (test/sdk: posthog-node); quick when already installed.
scripts/install-npm-deps.sh test/sdk examples/web \
    || die "could not install the npm packages of test/sdk and examples/web"

if [[ $# -gt 0 ]]; then
    tests=("$@")
else
    tests=(test/t/*.pl)
fi
[[ -e ${tests[0]} ]] || die "no TAP tests in test/t"

as_pg() {
    if [[ $(id -un) == "$PG_OS_USER" ]]; then
        "$@"
    else
        runuser -u "$PG_OS_USER" -- "$@"
    fi
}

WORK=$(mktemp -d /tmp/flag_eval_tap.XXXXXX)
PIDDIR=$WORK/pids
mkdir "$PIDDIR"
chmod 0700 "$WORK"
[[ $(id -u) -ne 0 ]] || chown "$PG_OS_USER:" "$WORK" "$PIDDIR"

# is_ours, live_pid and stop_pid, shared with deploy/lib.sh
# shellcheck source=scripts/lib/pids.sh
source scripts/lib/pids.sh

# The last sweep: servers a test started that are still running because the test was killed (or
# its own clean-up failed). PgBouncer and flag-decide started by FlagEval::Test::Process leave
# $PIDDIR/<pid> naming their program; those deploy/up.sh starts (the drill's) leave *.pid files in
# their data directory under $WORK, and their command lines name it.
# shellcheck disable=SC2317
sweep_processes() {
    local pidfile pid
    for pidfile in "$PIDDIR"/*; do
        [[ -f $pidfile ]] || continue
        pid=$(basename "$pidfile")
        if is_ours "$pid" "$(cat "$pidfile")"; then
            log "stopping $(cat "$pidfile") (pid $pid), left running by a test"
            stop_pid "$pid" 5 "$(cat "$pidfile")"
            swept=$((swept + 1))
        fi
    done
    while IFS= read -r pidfile; do
        if pid=$(live_pid "$pidfile" "$WORK"); then
            log "stopping pid $pid ($pidfile), left running by a test"
            stop_pid "$pid" 5 "$pidfile"
            swept=$((swept + 1))
        fi
    done < <(find "$WORK" \( -name 'pgbouncer*.pid' -o -name 'flag-decide.pid' \) 2>/dev/null)
}

# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
    local status=$? pidfile datadir pid swept=0
    trap - EXIT INT TERM HUP
    sweep_processes
    # Nodes the framework could not stop (prove killed): stop them by their data directory.
    while IFS= read -r pidfile; do
        datadir=$(dirname "$pidfile")
        pid=$(live_pid "$pidfile" "$WORK") || continue  # a stale file: the server crashed or was killed
        log "stopping a server left running in $datadir"
        as_pg "$BINDIR/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null 2>&1 \
            || kill -KILL "$pid" 2>/dev/null || true
        swept=$((swept + 1))
    done < <(find "$WORK" -name postmaster.pid 2>/dev/null)
    # A process that outlived its test is a failure of that test's clean-up, even when every
    # assertion passed.
    if ((swept > 0)); then
        log "$swept server(s) outlived their test (stopped now); failing the run"
        ((status != 0)) || status=1
    fi
    if [[ -d $WORK/tmp_check/log ]]; then
        rm -rf "$LOGDIR"
        mkdir -p "$LOGDIR"
        cp -r "$WORK/tmp_check/log/." "$LOGDIR/" 2>/dev/null || true
    fi
    if [[ -n ${PG_TEST_NOCLEAN:-} ]]; then
        log "kept the working area $WORK"
    else
        rm -rf -- "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGDATA PGPASSWORD \
    PGPASSFILE PGOPTIONS
# PG_REGRESS is read by the framework only on Windows; PGXS's prove_installcheck sets it too.
# Not PGXS's prove_installcheck itself: it runs prove as the invoking user (root here), with
# tmp_check in the source tree.
status=0
# shellcheck disable=SC2086  # PROVE_FLAGS is word-split on purpose
as_pg env \
    PATH="$BINDIR:$PATH" \
    TESTDIR="$WORK" \
    FLAG_EVAL_PIDDIR="$PIDDIR" \
    TMPDIR="$WORK" \
    PG_REGRESS="$(dirname "$PERLDIR")/regress/pg_regress" \
    PG_TEST_TIMEOUT_DEFAULT="${PG_TEST_TIMEOUT_DEFAULT:-60}" \
    ${PG_TEST_NOCLEAN:+PG_TEST_NOCLEAN=1} \
    timeout -k 10 "${FLAG_EVAL_TAP_TIMEOUT:-1200}" \
    prove -I "$PERLDIR" -I test/t ${PROVE_FLAGS:-} "${tests[@]}" || status=$?

if [[ $status -ne 0 ]]; then
    [[ $status -ne 124 ]] || log "prove overran FLAG_EVAL_TAP_TIMEOUT=${FLAG_EVAL_TAP_TIMEOUT:-1200}s"
    for f in "$WORK"/tmp_check/log/*; do
        [[ -f $f ]] || continue
        echo "---- last lines of $(basename "$f") (all of it in $LOGDIR) ----" >&2
        tail -n 40 "$f" >&2
    done
fi
exit "$status"
