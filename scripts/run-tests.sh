#!/usr/bin/env bash
# Runs every test stage of `make test` in order and closes with one line, "tests: N passed,
# N failed", summed over the stages (GoogleTest cases, pg_regress files, TAP assertions), which CI
# reads.
# A stage that fails without reporting counts (a build error) counts as one failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

passed=0
failed=0
stage_failed=0

count() {  # count LOG: adds the stage's passed/failed tests to the totals
    local log=$1 p f
    p=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(grep -oP '^\[  FAILED  \] \K[0-9]+(?= tests?, listed below)' "$log" | awk '{s+=$1} END {print s+0}')
    p=$((p + $(grep -oP '^\s*All \K[0-9]+(?= tests passed)' "$log" | awk '{s+=$1} END {print s+0}')))
    local of
    of=$(grep -oP '^\s*\K[0-9]+ of [0-9]+(?= tests failed)' "$log" | head -1)
    if [[ -n $of ]]; then
        f=$((f + ${of%% of *}))
        p=$((p + ${of##* of } - ${of%% of *}))
    fi
    # prove (TAP): "Files=N, Tests=M" counts the assertions run. On failure its summary report
    # has one "FILE (Wstat: … Tests: T Failed: F)" line per failing file: F assertions failed,
    # and a file that died or broke its plan with F = 0 still counts as one failure. (The
    # "Failed X/Y subtests" lines count planned tests that never ran and miss such files.)
    local m
    m=$(grep -oP '^Files=[0-9]+, Tests=\K[0-9]+' "$log" | awk '{s+=$1} END {print s+0}')
    if grep -q '^Files=[0-9]*, Tests=' "$log"; then
        local tf tp
        read -r tf tp < <(grep -oP '\(Wstat: .*Tests: [0-9]+ Failed: \K[0-9]+(?=\))' "$log" \
            | awk '{f += ($1 > 0 ? $1 : 1); a += $1} END {print f+0, a+0}')
        f=$((f + tf))
        p=$((p + m - tp))
    fi
    echo "$p $f"
}

stage() {  # stage NAME CMD...
    local name=$1 log status p f
    shift
    printf '\n==== %s ====\n' "$name"
    log=$(mktemp)
    "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    read -r p f < <(count "$log")
    if [[ $status -ne 0 && $f -eq 0 ]]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    [[ $status -eq 0 ]] || stage_failed=1
    rm -f "$log"
    echo "---- $name: $p passed, $f failed (exit $status)"
}

stage "build" make --no-print-directory -j"$(nproc)" all decide
stage "core unit tests (GoogleTest)" make --no-print-directory -j"$(nproc)" unit
stage "service unit tests (GoogleTest, throw-away cluster)" make --no-print-directory -j"$(nproc)" decide-unit
stage "SQL tests (pg_regress on a throw-away cluster)" make --no-print-directory regress
stage "TAP tests (primary + streaming standby)" make --no-print-directory tap

printf '\n'
echo "tests: $passed passed, $failed failed"
exit $((stage_failed || failed > 0))
