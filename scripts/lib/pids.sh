# Processes by pid, for deploy/lib.sh (the local topology's PgBouncers and flag-decide) and
# scripts/run-tap.sh (its sweep of servers a test left running). Sourced; the caller defines log.
# shellcheck shell=bash

# Is process $1 alive, not a zombie, with $2 in its command line? A pid the kernel gave to another
# program after ours ended is never taken for ours.
is_ours() {
    [[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
    [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]] || return 1
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# The pid on the first line of file $1 if that process is ours by is_ours $2. Fails otherwise.
live_pid() {
    local pid
    pid=$(head -n1 "$1" 2>/dev/null || true)
    is_ours "$pid" "$2" || return 1
    echo "$pid"
}

# Waits until process $1 has exited, up to $2 seconds. Fails if it is still there.
wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# Stops process $1 (ours, checked by the caller): SIGTERM, then SIGKILL after $2 seconds.
# $3 names it in the log.
stop_pid() {
    local pid=$1 grace=$2 what=$3
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! wait_exit "$pid" "$grace"; then
        log "$what (pid $pid) ignored SIGTERM for ${grace}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_exit "$pid" 10 || log "$what (pid $pid) is still there"
    fi
}
