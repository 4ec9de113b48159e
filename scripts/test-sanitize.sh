#!/usr/bin/env bash
# test-sanitize.sh [STAGE ...]
#
# `make test-sanitize`: the unit and integration tests under AddressSanitizer and
# UndefinedBehaviorSanitizer (g++ $SANITIZE below; any report is fatal). Stages, all by default:
#   build     the sanitized binaries in build/sanitize (unit_tests, decide_tests, flag-decide), a
#             private copy of the PostgreSQL installation in build/sanitize/pg, and the extension
#             built with UBSan from a copy of the sources (build/sanitize/ext) and installed there
#   unit      core unit tests (GoogleTest), leak checking on
#   service   service unit tests (GoogleTest, throw-away cluster), leak checking on
#   regress   pg_regress against a throw-away cluster of the private installation
#   tap       the TAP tests with the private installation and the sanitized flag-decide
#   reports   fails on a sanitizer report of flag-decide (build/sanitize/reports) or in the TAP
#             logs (build/sanitize/tap/log); pg_regress's server log is searched by `regress`
# Closes with "test-sanitize: N passed, N failed" (counted as in scripts/run-tests.sh, what did not
# run named as there).
#
# Why a private PostgreSQL installation: the sanitized flag_eval.so must never replace the one
# installed in /usr/lib/postgresql/15/lib, which other clusters on this machine load. PostgreSQL
# finds $libdir and its share directory relative to its binary, so a copy works in place. A
# UBSan report in a backend ends it (the test sees the crash) and is searched for in the logs.
#
# Environment:
#   FLAG_EVAL_MAKE_LOCK    a lock file to hold around each build (flock), for shared machines
#   FLAG_EVAL_TAP_TIMEOUT  deadline for the TAP run in seconds (default here 1200)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
REPO=$PWD

SANITIZE='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer'
OUT=build/sanitize
SYSTEM_PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_ROOT=$REPO/$OUT/pg                      # DESTDIR-style: $PG_ROOT/usr/lib/postgresql/15/...
PG_BINDIR=$PG_ROOT$("$SYSTEM_PG_CONFIG" --bindir)
EXT_DIR=$OUT/ext
# The extension inside the server gets UBSan only. ASan would need its runtime preloaded into
# the uninstrumented postgres binary, and there it initializes too late: postgres's libraries
# (libgpg-error, libp11-kit, ... through libldap and gnutls) run constructors first, ASan starts
# inside one of them while glibc holds its locale lock (newlocale, bindtextdomain), and the
# server then hangs at its first bindtextdomain() (GCC 12's libasan and clang 14's alike). The
# engine (src/core) runs under ASan in the unit tests and in flag-decide in the TAP tests.
EXT_SANITIZE='-fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer'
REPORTS=$REPO/$OUT/reports
UNIT_ASAN_OPTIONS=detect_leaks=1
UNIT_UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Reported as sanitizer findings wherever they appear in a log.
REPORT_PATTERN='ERROR: (Address|Leak)Sanitizer|runtime error:'

# shellcheck source=scripts/lib/stages.sh
source scripts/lib/stages.sh

locked() {  # locked CMD...: CMD under $FLAG_EVAL_MAKE_LOCK when set
    if [[ -n ${FLAG_EVAL_MAKE_LOCK:-} ]]; then
        flock "$FLAG_EVAL_MAKE_LOCK" "$@"
    else
        "$@"
    fi
}

build_binaries() {
    locked make --no-print-directory -j"$(nproc)" BUILD="$OUT" SANITIZE="$SANITIZE" \
        "$OUT/unit_tests" "$OUT/decide_tests" "$OUT/flag-decide"
}

# A fresh copy of the system's PostgreSQL 15 (about 60 MB; copied on every run so it never
# lags behind a package upgrade).
make_private_postgres() {
    rm -rf -- "$PG_ROOT"
    mkdir -p "$PG_ROOT/usr/lib/postgresql" "$PG_ROOT/usr/share/postgresql" || return 1
    cp -a /usr/lib/postgresql/15 "$PG_ROOT/usr/lib/postgresql/" || return 1
    cp -a /usr/share/postgresql/15 "$PG_ROOT/usr/share/postgresql/" || return 1
    # The system's flag_eval bitcode would feed JIT inlining with the unsanitized code.
    rm -rf -- "$PG_ROOT/usr/lib/postgresql/15/lib/bitcode/flag_eval"*
    [[ $("$PG_BINDIR/pg_config" --pkglibdir) == "$PG_ROOT/usr/lib/postgresql/15/lib" ]] || {
        echo "test-sanitize: the copy of PostgreSQL in $PG_ROOT does not locate its own libdir" >&2
        return 1
    }
}

# The extension is built by PGXS next to its sources, so it is built in a copy of them, never in
# the working tree (whose objects belong to the normal build). Only files whose content differs
# are copied (and so get a new timestamp): make rebuilds what changed, whatever its mtime in the
# working tree. -fwrapv (PostgreSQL's own flag) is left out so that UBSan sees signed overflow in
# src/pg as it does in src/core.
build_extension() {
    local f
    mkdir -p "$EXT_DIR" || return 1
    # Sources deleted from the working tree leave the copy too. The pg_regress tests are copied
    # with them, and test/conformance, which test/sql/conformance.sql reads relative to the build
    # directory.
    (cd "$EXT_DIR" && find Makefile flag_eval.control src sql test/sql test/expected test/conformance -type f \
        ! -name '*.o' ! -name '*.so' 2>/dev/null) | while IFS= read -r f; do
        [[ -e $f ]] || rm -f -- "$EXT_DIR/$f"
    done
    while IFS= read -r f; do
        cmp -s "$f" "$EXT_DIR/$f" || cp --parents -t "$EXT_DIR" "$f" || return 1
    done < <(find Makefile flag_eval.control src sql test/sql test/expected test/conformance -type f ! -name '*.o' ! -name '*.bc' ! -name '*.so')
    local args=(--no-print-directory -C "$EXT_DIR" PG_CONFIG="$SYSTEM_PG_CONFIG" with_llvm=no
        CXXFLAGS="-g -O1 $EXT_SANITIZE" COPT="$EXT_SANITIZE")
    locked make -j"$(nproc)" "${args[@]}" all || return 1
    locked make "${args[@]}" install DESTDIR="$PG_ROOT"
}

build_all() {
    build_binaries && make_private_postgres && build_extension
}

run_unit() {
    ASAN_OPTIONS=$UNIT_ASAN_OPTIONS UBSAN_OPTIONS=$UNIT_UBSAN_OPTIONS "$OUT/unit_tests"
}

run_service_unit() {
    ASAN_OPTIONS=$UNIT_ASAN_OPTIONS UBSAN_OPTIONS=$UNIT_UBSAN_OPTIONS \
        scripts/with-temp-cluster.sh "$OUT/decide_tests"
}

# A UBSan report kills the backend (the tests see the crash); the server log, which
# with-temp-cluster.sh removes afterwards, is searched for reports too. (UBSAN_OPTIONS cannot
# reach a backend: the runtime reads /proc/self/environ, which postgres overwrites with its
# process title, so reports go to the log with the defaults.)
run_regress() {
    mkdir -p "$EXT_DIR/build/regress"
    # shellcheck disable=SC2016  # expanded by the inner shell
    FLAG_EVAL_PG_BINDIR=$PG_BINDIR REPORT_PATTERN=$REPORT_PATTERN scripts/with-temp-cluster.sh \
        bash -c 'make --no-print-directory -C "$1" PG_CONFIG="$2" installcheck; status=$?
            if grep -E "$REPORT_PATTERN" "$FLAG_EVAL_PG_LOG"; then
                echo "sanitizer reports in the server log"; status=1
            fi
            exit $status' run_regress "$EXT_DIR" "$SYSTEM_PG_CONFIG"
}

# flag-decide runs as the postgres account under prove: its reports go to the reports directory
# too (with leak checking: it exits normally on SIGTERM).
run_tap() {
    PG_CONFIG=$PG_BINDIR/pg_config \
    FLAG_DECIDE=$REPO/$OUT/flag-decide \
    FLAG_EVAL_TAP_LOGDIR=$REPO/$OUT/tap/log \
    FLAG_EVAL_TAP_TIMEOUT=${FLAG_EVAL_TAP_TIMEOUT:-1200} \
    ASAN_OPTIONS=detect_leaks=1:log_path=$REPORTS/flag-decide \
    UBSAN_OPTIONS=$UNIT_UBSAN_OPTIONS:log_path=$REPORTS/flag-decide \
        scripts/run-tap.sh
}

# Sanitizer reports of flag-decide under prove (files in $REPORTS) and any in the TAP logs
# (the servers' among them).
check_reports() {
    local found=0 f
    for f in "$REPORTS"/*; do
        [[ -f $f ]] || continue
        found=1
        echo "---- sanitizer report $f ----"
        cat "$f"
    done
    if [[ -d $OUT/tap/log ]] && grep -rlE "$REPORT_PATTERN" "$OUT/tap/log"; then
        echo "---- sanitizer reports in the TAP logs above ($OUT/tap/log) ----"
        found=1
    fi
    if ((found)); then
        echo "sanitizer reports found"
        return 1
    fi
    echo "no sanitizer reports"
}

stages=("$@")
((${#stages[@]})) || stages=(build unit service regress tap reports)

# The reports directory is written by the postgres account (servers, flag-decide under prove).
rm -rf -- "$REPORTS"
mkdir -p "$REPORTS" && chmod 1777 "$REPORTS"

regress_files=$(find test/sql -maxdepth 1 -name '*.sql' | wc -l)
started=$SECONDS
for s in "${stages[@]}"; do
    case $s in
        build)   stage "build (sanitized, $OUT)" none build_all ;;
        unit)    stage "core unit tests (GoogleTest, sanitized)" "gtest:$OUT/unit_tests" run_unit ;;
        service) stage "service unit tests (GoogleTest, sanitized, throw-away cluster)" \
                     "gtest:$OUT/decide_tests" run_service_unit ;;
        regress) stage "SQL tests (pg_regress, sanitized extension)" "regress:$regress_files" run_regress ;;
        tap)     stage "TAP tests (sanitized extension and flag-decide)" "tap:$(echo test/t/*.pl)" run_tap ;;
        reports) stage "sanitizer reports of servers (TAP)" none check_reports ;;
        *) echo "test-sanitize: unknown stage '$s' (build unit service regress tap reports)" >&2; exit 2 ;;
    esac
done

echo "test-sanitize: $((SECONDS - started)) s"
closing_line test-sanitize
exit $((stage_failed || failed > 0 || ${#not_run[@]} > 0))
