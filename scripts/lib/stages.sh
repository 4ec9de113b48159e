# Test stages for the drivers of `make test` (scripts/run-tests.sh) and `make test-sanitize`
# (scripts/test-sanitize.sh), sourced by both:
#   stage NAME CMD...   runs CMD with its output shown as is, counts its tests and adds them to
#                       $passed and $failed; a failing stage sets $stage_failed.
#   count LOG           the passed/failed tests in a stage's output: GoogleTest cases,
#                       pg_regress files, TAP assertions, fuzz targets.
# A stage that fails without reporting counts (a build error) counts as one failure.
# shellcheck shell=bash

passed=0
failed=0
stage_failed=0

count() {  # count LOG: prints "PASSED FAILED" for the stage output in LOG
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
    # test/fuzz/run.sh closes with "fuzz: P passed, F failed" (one per target).
    p=$((p + $(grep -oP '^fuzz: \K[0-9]+(?= passed, [0-9]+ failed$)' "$log" | awk '{s+=$1} END {print s+0}')))
    f=$((f + $(grep -oP '^fuzz: [0-9]+ passed, \K[0-9]+(?= failed$)' "$log" | awk '{s+=$1} END {print s+0}')))
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
