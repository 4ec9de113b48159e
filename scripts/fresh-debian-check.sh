#!/usr/bin/env bash
# scripts/fresh-debian-check.sh [options]: does flag_eval set itself up on a machine that has
# nothing but Debian 12? Run as root on a Debian 12 host. It
#
#   1. installs debootstrap (and gpgv, debian-archive-keyring) on the host if they are missing;
#   2. builds a new Debian 12 (bookworm, amd64, debootstrap's default variant) root in a new
#      directory, from the mirror the host's apt sources name;
#   3. copies in the host's apt sources (and the keyrings they name), its CA certificates and
#      /etc/resolv.conf: that is how the host reaches the network, and a fresh machine on the same
#      network would be set up the same way. Nothing else of the host goes in;
#   4. mounts /proc, /sys, /dev, /dev/pts and a new /dev/shm (PostgreSQL's dynamic shared memory
#      is POSIX shared memory) into the root;
#   5. installs only git and make in it, and clones this repository's committed HEAD (not the
#      working tree: uncommitted changes are not checked) to /srv/flag_eval, alone: nothing beside it;
#   6. runs, in the root, with a clean environment and no stdin as a fresh login would, the
#      selected steps, each timed and logged on the host:
#        up       make up
#        request  one POST /flags?v=2 to the service make up started: 200 and a JSON body with
#                 "flags" (with the curl make up's dependency installer installed)
#        down     make down
#        test     make test (about 25 minutes; its "tests: N passed, N failed" line is reported)
#   7. whatever way it ends: kills every process whose root is the new root (and nothing else),
#      unmounts everything under the root, checks that nothing is mounted there any more, and only
#      then removes the root (unless --keep);
#   8. prints each step with pass/fail and seconds, the "tests:" line, and where the logs are.
#
# Exit status 0 only when every step (preparation and the selected ones) passed.
#
# Options (environment variable in brackets):
#   --steps LIST       comma-separated, in this order, from up,request,down,test; default all.
#                      "none" stops after the preparation (root, mounts, git + make, clone).
#                      [FRESH_STEPS]
#   --root DIR         the root to build; it must not exist or be empty; it is removed at the end
#                      unless --keep. Default: a new /var/tmp/flag_eval-fresh.XXXXXX. [FRESH_ROOT]
#   --keep             keep the root afterwards, for debugging (processes are still stopped and
#                      everything unmounted). [FRESH_KEEP=1]
#   --logs DIR         where the logs go (created). Default: a new
#                      /var/tmp/flag_eval-fresh-logs.XXXXXX. [FRESH_LOGS]
#   --mirror URL       Debian mirror for debootstrap. Default: the host's apt source for
#                      bookworm. [FRESH_MIRROR]
#   --cache-dir DIR    debootstrap's package cache: a second run downloads nothing for the base
#                      system (the root itself is still new). Default /var/cache/flag_eval-fresh.
#                      [FRESH_CACHE_DIR]
#   --no-cache         download everything. [FRESH_CACHE_DIR=""]
#   --step-timeout S   stop a step after S seconds (0: never). Default 7200. [FRESH_STEP_TIMEOUT]
#   -v, --verbose      show the steps' output as well as logging it
#   -h, --help
#
# Examples:
#   scripts/fresh-debian-check.sh --steps up,request,down   # the set-up part, ~10 minutes
#   scripts/fresh-debian-check.sh                           # everything, ~35 minutes
#
# The steps get PATH, HOME=/root, LANG=C.UTF-8 and TERM, nothing else of the caller's
# environment (no http_proxy, CI, PG*, ...): a README command must work from a plain root login.
#
# shellcheck disable=SC2317  # functions run through run_step "$@" and the EXIT trap look unreachable
set -euo pipefail
# The clone must be traversable by the unprivileged postgres account, whatever the caller's umask.
umask 022
# Each background step gets a process group of its own, so that it can be stopped as a whole.
set -m

readonly SUITE=bookworm ARCH=amd64 CLONE_DIR=/srv/flag_eval
readonly ALL_STEPS=(up request down test)
readonly CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly KILL_GRACE=15 # seconds between SIGTERM and SIGKILL

steps_arg=${FRESH_STEPS:-up,request,down,test}
root_arg=${FRESH_ROOT:-}
keep=${FRESH_KEEP:-0}
logs_arg=${FRESH_LOGS:-}
mirror=${FRESH_MIRROR:-}
cache_dir=${FRESH_CACHE_DIR-/var/cache/flag_eval-fresh}
step_timeout=${FRESH_STEP_TIMEOUT:-7200}
verbose=0

say() { echo "fresh-debian-check: $*"; }
die() { echo "fresh-debian-check: error: $*" >&2; exit 2; }
usage() { sed -n '2,/^# shellcheck/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while (($#)); do
    case $1 in
        --steps) steps_arg=${2?--steps needs a value}; shift ;;
        --steps=*) steps_arg=${1#*=} ;;
        --root) root_arg=${2?--root needs a value}; shift ;;
        --root=*) root_arg=${1#*=} ;;
        --keep) keep=1 ;;
        --logs) logs_arg=${2?--logs needs a value}; shift ;;
        --logs=*) logs_arg=${1#*=} ;;
        --mirror) mirror=${2?--mirror needs a value}; shift ;;
        --mirror=*) mirror=${1#*=} ;;
        --cache-dir) cache_dir=${2?--cache-dir needs a value}; shift ;;
        --cache-dir=*) cache_dir=${1#*=} ;;
        --no-cache) cache_dir= ;;
        --step-timeout) step_timeout=${2?--step-timeout needs a value}; shift ;;
        --step-timeout=*) step_timeout=${1#*=} ;;
        -v | --verbose) verbose=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (--help lists the options)" ;;
    esac
    shift
done

# ---- preconditions ----
[[ $(id -u) -eq 0 ]] || die "run as root (debootstrap, chroot, mount)"
[[ $step_timeout =~ ^[0-9]+$ ]] || die "--step-timeout must be a number of seconds, not '$step_timeout'"
[[ $keep == 0 || $keep == 1 ]] || die "FRESH_KEEP must be 0 or 1"
[[ $(dpkg --print-architecture 2>/dev/null) == "$ARCH" ]] || die "the host must be $ARCH (the root is debootstrapped natively)"
grep -qs '^12\.' /etc/debian_version || say "warning: the host is not Debian 12 ($(cat /etc/debian_version 2>/dev/null || echo unknown)); carrying on"

selected=()
if [[ $steps_arg != none ]]; then
    IFS=, read -r -a wanted <<<"$steps_arg"
    for w in "${wanted[@]}"; do
        [[ " ${ALL_STEPS[*]} " == *" $w "* ]] || die "unknown step '$w' (steps: ${ALL_STEPS[*]}, or none)"
    done
    # Always in the canonical order, whatever order they were given in.
    for s in "${ALL_STEPS[@]}"; do
        [[ ",$steps_arg," == *",$s,"* ]] && selected+=("$s")
    done
fi

# The repository this script belongs to; -c safe.directory lets root clone a checkout owned by
# a developer (git refuses "dubious ownership" otherwise).
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(git -c safe.directory='*' -C "$script_dir" rev-parse --show-toplevel 2>/dev/null) \
    || die "$script_dir is not inside a git checkout"
head_sha=$(git -c safe.directory='*' -C "$repo_dir" rev-parse HEAD)

# A path we may mount under and later rm -rf: absolute, canonical, nothing mountinfo would escape
# (space, tab, newline, backslash), and not a system directory.
check_root_path() {
    local p=$1
    [[ $p == /* ]] || die "--root must be an absolute path, not '$p'"
    [[ $p != *[[:space:]\\]* ]] || die "--root must not contain white space or backslashes: '$p'"
    [[ $(realpath -m -- "$p") == "$p" ]] || die "--root must be a canonical path (no .., //, symlinks): '$p' is $(realpath -m -- "$p")"
    case $p in
        / | /bin* | /boot* | /dev* | /etc* | /home | /lib* | /proc* | /root | /run* | /sbin* | /sys* | /usr* | /var | /var/tmp | /tmp | /srv | /opt | /mnt | /media)
            die "refusing to use '$p' as the root" ;;
    esac
    (($(tr -cd / <<<"$p" | wc -c) >= 2)) || die "--root must be at least two levels deep: '$p'"
}

# ---- state, read by the cleanup ----
root=""           # the root, once created by us
keyring=""
root_created=0
step_pid=""       # the running step (its process group)
current_step=""   # its name, and when it started (ms)
current_start=0
current_log=""
mounted=()        # what we mounted, for the log; the cleanup trusts mountinfo, not this list
step_names=()
step_results=()   # pass / FAIL / not run
step_seconds=()
step_logs=()
tests_line=""
cleanup_failed=0
log_dir=""

# ---- logs ----
if [[ -n $logs_arg ]]; then
    mkdir -p -- "$logs_arg"
    log_dir=$(cd "$logs_arg" && pwd)
else
    log_dir=$(mktemp -d /var/tmp/flag_eval-fresh-logs.XXXXXX)
fi
chmod 0755 "$log_dir"

# ---- mount bookkeeping ----
# Every mount point at or under $root, in mount order, from /proc/self/mountinfo (field 5, with
# its octal escapes decoded). findmnt would do; this needs nothing but the kernel.
# With an empty $root every mount would match: each of these functions refuses to run then.
root_is_set() { [[ $root == /?*/?* ]] || { say "internal error: no root set"; return 1; }; }

mounts_under_root() {
    local _ _mid _pid _dev _rootfs mp _rest decoded
    root_is_set || return 1
    while read -r _mid _pid _dev _rootfs mp _rest; do
        decoded=$(printf '%b' "$mp")
        if [[ $decoded == "$root" || $decoded == "$root"/* ]]; then
            printf '%s\n' "$decoded"
        fi
    done </proc/self/mountinfo
}

# Pids of processes whose root directory is $root (or below it): the processes running in the
# chroot, and only those. A process whose root cannot be read (a zombie, or gone) is skipped.
processes_in_root() {
    local d pid r
    root_is_set || return 1
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        r=$(readlink "$d/root" 2>/dev/null) || continue
        r=${r% (deleted)}
        if [[ $r == "$root" || $r == "$root"/* ]]; then
            echo "$pid"
        fi
    done
}

# SIGTERM, then SIGKILL after $KILL_GRACE seconds, to every process in the root; rescans on each
# poll, so a child forked meanwhile is caught too. Fails if any is left.
kill_root_processes() {
    local pids deadline
    mapfile -t pids < <(processes_in_root)
    ((${#pids[@]})) || return 0
    say "stopping ${#pids[@]} process(es) still running in the root: ${pids[*]}"
    deadline=$((SECONDS + KILL_GRACE))
    while ((${#pids[@]})) && ((SECONDS < deadline)); do
        kill -TERM "${pids[@]}" 2>/dev/null || true
        sleep 0.5
        mapfile -t pids < <(processes_in_root)
    done
    deadline=$((SECONDS + 10))
    while ((${#pids[@]})) && ((SECONDS < deadline)); do
        say "SIGKILL to ${pids[*]}"
        kill -KILL "${pids[@]}" 2>/dev/null || true
        sleep 0.5
        mapfile -t pids < <(processes_in_root)
    done
    if ((${#pids[@]})); then
        say "error: still running in the root: ${pids[*]}"
        return 1
    fi
}

# Stops the step that runs in the background (its whole process group: debootstrap, timeout
# wrappers, the chroot'ed command) when the script is interrupted.
stop_step() {
    local pid=$step_pid deadline
    [[ -n $pid ]] || return 0
    step_pid=""
    kill -TERM -- "-$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + KILL_GRACE))
    while kill -0 -- "-$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Unmounts everything under the root, innermost and latest first; then `umount -R` on what
# resisted; lazy unmounting only as the last resort. Fails unless mountinfo then shows nothing
# under the root.
unmount_root() {
    local mps i mp
    root_is_set || return 1
    mapfile -t mps < <(mounts_under_root)
    for ((i = ${#mps[@]} - 1; i >= 0; i--)); do
        umount -- "${mps[i]}" 2>/dev/null || true
    done
    mapfile -t mps < <(mounts_under_root)
    for mp in "${mps[@]}"; do
        say "umount -R $mp"
        umount -R -- "$mp" 2>/dev/null || true
    done
    mapfile -t mps < <(mounts_under_root)
    for ((i = ${#mps[@]} - 1; i >= 0; i--)); do
        say "warning: ${mps[i]} resists; lazy unmount"
        umount -l -- "${mps[i]}" 2>/dev/null || true
    done
    mapfile -t mps < <(mounts_under_root)
    if ((${#mps[@]})); then
        say "error: still mounted under $root: ${mps[*]}"
        return 1
    fi
}

# Files the project's own scripts log to inside the root, kept with our logs (owned by root
# here: the root's uids mean other accounts on the host), e.g. from-root/data_log/primary.log.
collect_root_logs() {
    local rel name dst
    for rel in .data/log build/tap/log build/regress build/sanitize/tap/log; do
        if [[ -d $root$CLONE_DIR/$rel ]]; then
            name=${rel#.}
            dst=$log_dir/from-root/${name//\//_}
            mkdir -p "$dst"
            cp -r --preserve=timestamps "$root$CLONE_DIR/$rel/." "$dst/" 2>/dev/null || true
        fi
    done
}

print_summary() { # print_summary EXIT-STATUS
    local i status=pass
    (($1 == 0)) || status=FAIL
    echo
    say "summary"
    printf '  %-14s %-11s %8s  %s\n' step result seconds log
    for i in "${!step_names[@]}"; do
        printf '  %-14s %-11s %8s  %s\n' "${step_names[i]}" "${step_results[i]}" "${step_seconds[i]}" "${step_logs[i]}"
        [[ ${step_results[i]} == pass ]] || status=FAIL
    done
    if [[ " ${selected[*]} " == *" test "* ]]; then
        echo "  make test: ${tests_line:-no \"tests:\" line (see the test log)}"
    fi
    echo "  repository: $repo_dir at ${head_sha:0:12} (committed HEAD, cloned to $CLONE_DIR in the root)"
    if [[ -n $root ]]; then
        if ((keep)) && ((!cleanup_failed)); then
            echo "  root: kept at $root (nothing mounted, nothing running; chroot $root after mounting /proc etc. yourself)"
        elif ((cleanup_failed)); then
            echo "  root: NOT removed: $root (see the errors above; nothing is deleted while anything is mounted or running there)"
        else
            echo "  root: removed ($root)"
        fi
    fi
    echo "  logs: $log_dir"
    echo "  result: $status"
}

cleanup() {
    local rc=$?
    set +e +m # +m: no job notices ("Terminated") for the step stopped here
    trap '' INT TERM # a second Ctrl-C must not leave /dev mounted under a directory about to go
    if [[ -n $current_step ]]; then
        step_names+=("$current_step"); step_results+=(interrupted); step_logs+=("$current_log")
        step_seconds+=("$(awk -v ms=$(($(now_ms) - current_start)) 'BEGIN { printf "%.1f", ms / 1000 }')")
    fi
    stop_step
    if [[ -n $root ]]; then
        kill_root_processes || cleanup_failed=1
        collect_root_logs
        unmount_root || cleanup_failed=1
        if ((!cleanup_failed)) && ((!keep)) && ((root_created)); then
            # Once more, right before deleting: nothing mounted and nothing running there.
            if [[ -n $(mounts_under_root) || -n $(processes_in_root) ]]; then
                say "error: something is mounted or running under $root again; not removing it"
                cleanup_failed=1
            else
                # --one-file-system: a last guard, rm never crosses into another file system.
                # Minutes, after make up, on a file system mounted with online discard.
                say "$(date +%T) removing $root ($(du -sh "$root" 2>/dev/null | cut -f1))"
                local rm_start=$SECONDS
                rm -rf --one-file-system -- "$root" || { say "error: could not remove $root"; cleanup_failed=1; }
                ((cleanup_failed)) || say "$(date +%T) removed in $((SECONDS - rm_start))s"
            fi
        fi
    fi
    # Steps selected but never reached.
    local s
    for s in "${selected[@]}"; do
        [[ " ${step_names[*]} " == *" $s "* ]] || { step_names+=("$s"); step_results+=("not run"); step_seconds+=("-"); step_logs+=("-"); }
    done
    if ((rc == 0)); then
        local r
        for r in "${step_results[@]}"; do [[ $r == pass ]] || rc=1; done
        ((cleanup_failed)) && rc=1
    fi
    print_summary "$rc"
    exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# ---- running steps ----
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# run_step NAME FUNCTION [ARGS...]: runs FUNCTION in the background, in a process group of its
# own, logging to $log_dir/NN-NAME.log; records pass/FAIL and seconds, and sets step_rc. It always
# returns 0: called as `run_step ... || x`, bash would run FUNCTION with `set -e` ignored.
# Polling with short sleeps lets a Ctrl-C reach the trap at once.
step_rc=0
run_step() {
    local name=$1 n log start rc=0 deadline=0 timed_out=0
    shift
    n=$((${#step_names[@]} + 1))
    log=$log_dir/$(printf '%02d' "$n")-$name.log
    say "$(date +%T) step $name (log: $log)"
    start=$(now_ms)
    current_step=$name current_start=$start current_log=$log
    if ((verbose)); then
        ("$@" 2>&1 | tee "$log") </dev/null &
    else
        "$@" >"$log" 2>&1 </dev/null &
    fi
    step_pid=$!
    ((step_timeout > 0)) && deadline=$((SECONDS + step_timeout))
    # Polling rather than a plain wait: it also enforces the step's deadline.
    while kill -0 "$step_pid" 2>/dev/null; do
        if ((deadline && SECONDS >= deadline)); then
            echo "fresh-debian-check: step $name: timed out after ${step_timeout}s" >>"$log"
            timed_out=1
            stop_step
            break
        fi
        sleep 0.2
    done
    if [[ -n $step_pid ]]; then
        wait "$step_pid" || rc=$?
        step_pid=""
    fi
    ((timed_out)) && rc=124
    current_step=""
    step_names+=("$name")
    step_logs+=("$log")
    step_seconds+=("$(awk -v ms=$(($(now_ms) - start)) 'BEGIN { printf "%.1f", ms / 1000 }')")
    if ((rc == 0)); then
        step_results+=(pass)
        say "$(date +%T) step $name: pass (${step_seconds[-1]}s)"
    else
        step_results+=(FAIL)
        say "$(date +%T) step $name: FAILED with status $rc (${step_seconds[-1]}s); the end of its log:"
        tail -n 25 "$log" | sed 's/^/    | /'
    fi
    step_rc=$rc
}

# in_root CMD [ARGS...]: CMD in the root, in $CLONE_DIR (or / before the clone), as a root login
# shell with a clean environment: env -i keeps nothing of ours; bash -l reads /etc/profile.
in_root() {
    # shellcheck disable=SC2016  # expanded by the shell in the root
    env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        chroot "$root" /bin/bash -lc 'cd -- "$1" 2>/dev/null || cd /; shift; exec "$@"' in_root "$CLONE_DIR" "$@"
}

# ---- preparation ----
# The mirror and keyring of the host's bookworm source: deb822 stanzas in sources.list.d/*.sources,
# one-line entries in sources.list and sources.list.d/*.list. Prints "URI<TAB>SIGNED-BY" lines
# for every enabled deb source (suites listed as the third column).
host_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             {
                 types = ""; uris = ""; suites = ""; signed = ""; enabled = "yes"
                 for (i = 1; i <= NF; i++) {
                     line = $i
                     if (line ~ /^#/ || line ~ /^[ \t]/ || index(line, ":") == 0) continue
                     key = tolower(substr(line, 1, index(line, ":") - 1))
                     val = substr(line, index(line, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", val)
                     if (key == "types") types = val
                     else if (key == "uris") uris = val
                     else if (key == "suites") suites = val
                     else if (key == "signed-by") signed = val
                     else if (key == "enabled") enabled = tolower(val)
                 }
                 if (enabled != "no" && (" " types " ") ~ / deb / && uris != "")
                     printf "%s\t%s\t%s\n", uris, signed, suites
             }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        awk '$1 == "deb" {
                 signed = ""; i = 2
                 if ($2 ~ /^\[/) {
                     for (; i <= NF; i++) {
                         if ($i ~ /^\[?signed-by=/) { s = $i; sub(/^\[?signed-by=/, "", s); sub(/\]$/, "", s); signed = s }
                         if ($i ~ /\]$/) { i++; break }
                     }
                 }
                 printf "%s\t%s\t%s\n", $i, signed, $(i + 1)
             }' "$f"
    done
}

prep_host_packages() {
    local p missing=()
    # gpgv and the archive keyring: debootstrap checks the Release signature with them.
    for p in debootstrap gpgv debian-archive-keyring; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        echo "host: debootstrap, gpgv and debian-archive-keyring are installed"
    else
        echo "host: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 update
        DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y --no-install-recommends "${missing[@]}"
    fi
    debootstrap --version
}

prep_debootstrap() {
    local args=(--arch="$ARCH")
    if [[ -n $cache_dir ]]; then
        mkdir -p "$cache_dir"
        args+=(--cache-dir="$cache_dir")
    fi
    [[ -n $keyring ]] && args+=(--keyring="$keyring")
    echo "debootstrap ${args[*]} $SUITE $root $mirror"
    debootstrap "${args[@]}" "$SUITE" "$root" "$mirror"
}

# The host's network setup, copied in; nothing else of the host.
prep_configure_root() {
    local f k
    # apt sources: exactly the host's (debootstrap's own sources.list would duplicate them).
    rm -f "$root/etc/apt/sources.list"
    [[ -f /etc/apt/sources.list ]] && cp -v /etc/apt/sources.list "$root/etc/apt/sources.list"
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && cp -v "$f" "$root/etc/apt/sources.list.d/"
    done
    # The keyrings they name (Signed-By paths; fingerprints and inline keys need no file).
    while read -r k; do
        if [[ $k == /* && -f $k ]]; then
            mkdir -p "$root$(dirname "$k")"
            cp -v "$k" "$root$k"
        fi
    done < <(host_sources | cut -f2 | tr -s ', ' '\n' | sort -u)
    # apt settings that are about reaching the network here (proxies, a frozen snapshot mirror
    # whose Release files are past Valid-Until); other apt tuning of the host stays out.
    for f in /etc/apt/apt.conf.d/*; do
        if [[ -f $f ]] && grep -qiE 'Acquire::[a-z]+::Proxy|Acquire::.*Proxy|Check-Valid-Until|Check-Date' "$f"; then
            cp -v "$f" "$root/etc/apt/apt.conf.d/"
        fi
    done
    # CA certificates: the host's bundle and hashed links (HTTPS works at once, e.g. npm behind an
    # intercepting proxy), and its local CAs, which update-ca-certificates keeps should the
    # ca-certificates package be installed (and the bundle regenerated) later.
    mkdir -p "$root/etc/ssl/certs" "$root/usr/local/share/ca-certificates"
    cp -a /etc/ssl/certs/. "$root/etc/ssl/certs/"
    [[ -d /usr/local/share/ca-certificates ]] && cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
    echo "copied /etc/ssl/certs ($(find /etc/ssl/certs -maxdepth 1 | wc -l) entries) and /usr/local/share/ca-certificates ($(find /usr/local/share/ca-certificates -type f 2>/dev/null | wc -l) files)"
    # The resolver (-L: it is often a symlink into /run, which the root does not have).
    rm -f "$root/etc/resolv.conf"
    cp -vL /etc/resolv.conf "$root/etc/resolv.conf"
    # Package scripts must start no daemons here: no init runs in a chroot to supervise them, and
    # the project never uses the packaged `main` cluster (make up and make test run their own).
    cat >"$root/usr/sbin/policy-rc.d" <<'EOF'
#!/bin/sh
# written by flag_eval's scripts/fresh-debian-check.sh: no init runs in this chroot, so package
# scripts start no daemons (101: action forbidden); the project never uses the packaged clusters.
exit 101
EOF
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    echo "wrote /usr/sbin/policy-rc.d (exit 101)"
}

# Mounts are made here, in the script itself (not in a background step): each is recorded, and
# made private so that nothing propagates back to the host's /dev or /proc.
do_mount() { # do_mount TARGET MOUNT-ARGS...
    local target=$root$1
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    mount --make-private "$target"
    mounted+=("$target")
}
prep_mounts() {
    do_mount /proc -t proc -o nosuid,nodev,noexec proc
    do_mount /sys -t sysfs -o nosuid,nodev,noexec sysfs
    # /dev without its submounts: /dev/pts bound on its own, /dev/shm a new tmpfs of the root's.
    do_mount /dev --bind /dev
    do_mount /dev/pts --bind /dev/pts
    do_mount /dev/shm -t tmpfs -o nosuid,nodev,mode=1777 shm
}

prep_base_packages() {
    # Our own preparation, so DEBIAN_FRONTEND is ours to set (make up gets no such help).
    # Only git and make: git needs no CA certificates for a local clone, and the host's are in.
    in_root env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 update
    in_root env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y --no-install-recommends git make
    in_root git --version
    in_root make --version | sed -n 1p  # sed reads it all: head could end make with SIGPIPE
}

prep_clone() {
    local dst=$root$CLONE_DIR got
    if [[ -n $(git -c safe.directory='*' -C "$repo_dir" status --porcelain 2>/dev/null) ]]; then
        echo "note: $repo_dir has uncommitted changes; they are not part of this check"
    fi
    mkdir -p "$(dirname "$dst")"
    git -c safe.directory='*' clone --no-local "$repo_dir" "$dst"
    got=$(git -C "$dst" rev-parse HEAD)
    if [[ $got != "$head_sha" ]]; then # the host is on a detached HEAD
        git -C "$dst" checkout -q --detach "$head_sha"
        got=$(git -C "$dst" rev-parse HEAD)
    fi
    [[ $got == "$head_sha" ]] || { echo "the clone is at $got, not $head_sha"; return 1; }
    # The clone stands alone, as on a developer's fresh machine.
    [[ ! -e $(dirname "$dst")/shared ]] || { echo "$(dirname "$dst")/shared exists"; return 1; }
    echo "cloned $repo_dir at $head_sha to $CLONE_DIR; beside it in $(dirname "$CLONE_DIR"): $(find "$(dirname "$dst")" -mindepth 1 -maxdepth 1 -printf '%f ')"
}

# ---- the steps ----
step_up() { in_root make up; }
step_down() { in_root make down; }
step_test() { in_root make test; }

step_request() {
    local out code body
    if ! in_root sh -c 'command -v curl' >/dev/null; then
        echo "curl is not installed in the root: make up's dependency installer did not install it"
        return 1
    fi
    # The README's request; -S -w --max-time only add an error message, the status and a bound.
    printf '%s\n' "in the root: curl -s -S --max-time 10 -w '\n%{http_code}' -X POST 'http://127.0.0.1:8000/flags?v=2' -d '{\"token\": \"phc_demo\", \"distinct_id\": \"user-42\"}'"
    out=$(in_root curl -s -S --max-time 10 -w '\n%{http_code}' -X POST 'http://127.0.0.1:8000/flags?v=2' \
        -d '{"token": "phc_demo", "distinct_id": "user-42"}') || { echo "curl failed"; return 1; }
    code=${out##*$'\n'}
    body=${out%$'\n'*}
    echo "HTTP status: $code"
    echo "body: $body"
    [[ $code == 200 ]] || { echo "expected HTTP 200"; return 1; }
    if command -v python3 >/dev/null; then
        python3 -c 'import json, sys
d = json.loads(sys.argv[1])
assert isinstance(d, dict) and isinstance(d.get("flags"), dict), "no \"flags\" object"
print("JSON with %d flags, errorsWhileComputingFlags=%s" % (len(d["flags"]), d.get("errorsWhileComputingFlags")))' "$body"
    else
        grep -q '"flags"' <<<"$body" || { echo 'no "flags" in the body'; return 1; }
    fi
}

# ---- main ----
say "logs in $log_dir"
prep_ok=1
run_step host-packages prep_host_packages
((step_rc == 0)) || prep_ok=0

if ((prep_ok)); then
    # The host's source for the suite itself (not -updates or -security): its first URI, and
    # the keyring file it names (debootstrap's default keyring otherwise).
    source_line=$(host_sources | awk -F'\t' -v s="$SUITE" '{ n = split($3, a, " "); for (i = 1; i <= n; i++) if (a[i] == s) { print; exit } }')
    if [[ -z $mirror ]]; then
        mirror=$(cut -f1 <<<"$source_line" | awk '{ print $1 }')
        mirror=${mirror:-http://deb.debian.org/debian}
    fi
    keyring=$(cut -f2 <<<"$source_line" | tr ',' ' ' | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) { print $i; exit } }')
    [[ -z $keyring || -f $keyring ]] || keyring=""
    say "mirror $mirror${keyring:+, keyring $keyring}${cache_dir:+, debootstrap cache $cache_dir}"

    if [[ -n $root_arg ]]; then
        check_root_path "$root_arg"
        if [[ -e $root_arg ]]; then
            [[ -d $root_arg && -z $(ls -A -- "$root_arg") ]] || die "--root $root_arg exists and is not an empty directory"
        fi
        [[ -z $(root=$root_arg mounts_under_root) ]] || die "something is mounted under $root_arg already"
        mkdir -p -- "$root_arg"
        root=$root_arg
    else
        root=$(mktemp -d /var/tmp/flag_eval-fresh.XXXXXX)
        check_root_path "$root"
    fi
    root_created=1
    chmod 0755 "$root" # mktemp's 0700 would keep the postgres account out of everything inside
    say "root $root"
    {
        echo "date: $(date -Is)"
        echo "host: $(uname -srm), Debian $(cat /etc/debian_version 2>/dev/null), $(nproc) cores"
        echo "repository: $repo_dir at $head_sha"
        echo "root: $root  mirror: $mirror  keyring: ${keyring:-debootstrap default}  cache: ${cache_dir:-none}"
        echo "steps: ${selected[*]:-none}"
    } >"$log_dir/run-info.txt"

    run_step debootstrap prep_debootstrap
    ((step_rc == 0)) || prep_ok=0
fi
if ((prep_ok)); then
    run_step configure-root prep_configure_root
    ((step_rc == 0)) || prep_ok=0
fi
if ((prep_ok)); then
    # In the foreground: the mounts must be made by this shell, which records them.
    n=$((${#step_names[@]} + 1))
    mount_log=$log_dir/$(printf '%02d' "$n")-mounts.log
    mount_start=$(now_ms)
    if prep_mounts >"$mount_log" 2>&1; then mount_rc=0; else mount_rc=$?; fi
    printf '%s\n' "${mounted[@]}" >>"$mount_log"
    step_names+=(mounts); step_logs+=("$mount_log")
    step_seconds+=("$(awk -v ms=$(($(now_ms) - mount_start)) 'BEGIN { printf "%.1f", ms / 1000 }')")
    if ((mount_rc == 0)); then
        step_results+=(pass); say "mounted ${mounted[*]}"
    else
        step_results+=(FAIL); prep_ok=0; say "mounting failed:"; sed 's/^/    | /' "$mount_log"
    fi
fi
if ((prep_ok)); then
    run_step base-packages prep_base_packages
    ((step_rc == 0)) || prep_ok=0
fi
if ((prep_ok)); then
    run_step clone prep_clone
    ((step_rc == 0)) || prep_ok=0
fi

if ((!prep_ok)); then
    say "the preparation failed; no step runs"
    exit 1
fi

# Each selected step runs even when an earlier one failed: they are separate checks (a failed
# request still wants `make down`, and `make test` needs nothing from `make up`).
for s in "${selected[@]}"; do
    run_step "$s" "step_$s"
    if [[ $s == test ]]; then
        tests_line=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed' "${step_logs[-1]}" | tail -n1 || true)
        say "make test: ${tests_line:-no \"tests:\" line}"
    fi
done
exit 0
