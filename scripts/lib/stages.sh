# Test stages for the drivers of `make test` (scripts/run-tests.sh) and `make test-sanitize`
# (scripts/test-sanitize.sh), sourced by both:
#   stage NAME KIND CMD...  runs CMD with its output shown as is, counts its tests into $passed
#                           and $failed, and records in $not_run what it should have run but did
#                           not. A failing stage sets $stage_failed.
#   closing_line LABEL      the last line: "LABEL: N passed, N failed", and when any test did
#                           not run, which stage and how many instead (never one failure for a
#                           dead stage: a count that hides hundreds of tests is not a count).
#
# KIND says what the stage runs, so that what did not run can be told from what ran:
#   none              no tests (a build): failing makes the run incomplete
#   gtest:BINARY      GoogleTest cases, the expected ones listed by BINARY --gtest_list_tests
#   regress:N         N pg_regress files
#   tap:FILE...       TAP files (prove); assertions are counted, files are what can go missing
#   fuzz:N            N libFuzzer targets
#   lint:N            N checks of scripts/lint.sh
#   nested            a driver with stages of its own (test-sanitize.sh): its "not run:" lines
# shellcheck shell=bash

# shellcheck disable=SC2034  # stage_failed is read by the drivers
passed=0 failed=0 stage_failed=0 incomplete_stages=0
not_run=()  # what the stages did not run that they should have: "STAGE: what"

# count LOG: prints "PASSED FAILED" for the stage output in LOG: GoogleTest cases, pg_regress
# files, TAP assertions, fuzz targets.
count() {
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
    # test/fuzz/run.sh and scripts/lint.sh close with "fuzz: P passed, F failed" (one per target)
    # and "lint: P passed, F failed" (one per check).
    p=$((p + $(grep -oP '^(fuzz|lint): \K[0-9]+(?= passed, [0-9]+ failed$)' "$log" | awk '{s+=$1} END {print s+0}')))
    f=$((f + $(grep -oP '^(fuzz|lint): [0-9]+ passed, \K[0-9]+(?= failed$)' "$log" | awk '{s+=$1} END {print s+0}')))
    # prove (TAP): "Files=N, Tests=M" counts the assertions run. On failure its summary report
    # has one "FILE (Wstat: … Tests: T Failed: F)" line per failing file: F assertions failed,
    # and a file that died or broke its plan with F = 0 counts as one failure (what it did not
    # run is told by missing_tap, below).
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

# What a stage of KIND did not run, given its LOG and its counts P and F; prints nothing when
# it ran everything.
missing() {
    local kind=$1 log=$2 p=$3 f=$4
    case $kind in
        none) ;;
        gtest:*) missing_gtest "${kind#gtest:}" "$log" "$p" "$f" ;;
        regress:*) missing_units "${kind#regress:}" "$(grep -oP '^\s*(All \K[0-9]+(?= tests passed)|[0-9]+ of \K[0-9]+(?= tests failed))' "$log" | head -1)" "pg_regress files" ;;
        fuzz:*) missing_units "${kind#fuzz:}" "$(closing_units fuzz "$log")" "fuzz targets" ;;
        lint:*) missing_units "${kind#lint:}" "$(closing_units lint "$log")" "lint checks" ;;
        tap:*) missing_tap "$log" "${kind#tap:}" ;;
        nested) grep -oP '^not run: \K.*' "$log" ;;
    esac
}

# What the last "PREFIX: P passed, F failed" line in LOG counted (P + F).
closing_units() {  # closing_units PREFIX LOG
    grep -oP "^$1: \\K[0-9]+ passed, [0-9]+(?= failed$)" "$2" | awk -F', ' '{print $1 + $2}' | tail -1
}

missing_units() {  # missing_units EXPECTED RAN WHAT
    local expected=$1 ran=${2:-0}
    ((ran >= expected)) || echo "$((expected - ran)) of $expected $3 did not run"
}

missing_gtest() {  # missing_gtest BINARY LOG P F
    local binary=$1 log=$2 p=$3 f=$4 expected skipped
    if [[ ! -x $binary ]]; then
        echo "no test ran: $binary was not built"
        return
    fi
    expected=$("$binary" --gtest_list_tests 2>/dev/null | grep -c '^  ')
    skipped=$(grep -oP '^\[  SKIPPED \] \K[0-9]+(?= tests?, listed below)' "$log" | awk '{s+=$1} END {print s+0}')
    if ((skipped > 0)); then
        echo "$skipped of $expected GoogleTest cases were skipped (listed above)"
    elif ((p + f < expected)); then
        echo "$((expected - p - f)) of $expected GoogleTest cases did not run"
    fi
}

# TAP files that prove never reported, and files that died before their plan.
missing_tap() {  # missing_tap LOG FILE...
    local log=$1 file files absent=()
    read -r -a files <<<"$2"
    # prove starts each file's report with its path and a row of dots
    for file in "${files[@]}"; do
        grep -qE "^${file//./\\.} \.+" "$log" || absent+=("$(basename "$file")")
    done
    if ((${#absent[@]})); then
        echo "${#absent[@]} of ${#files[@]} TAP files did not run: ${absent[*]}"
    fi
    # prove's summary under each failing file: "Parse errors: Bad plan.  You planned X tests but
    # ran Y." or "No plan found in TAP output" (a file that died before done_testing).
    awk '
        /^[^ ].*\(Wstat: / { file = $1 }
        /Parse errors: Bad plan\.  You planned [0-9]+ tests but ran [0-9]+\./ {
            match($0, /planned [0-9]+/); planned = substr($0, RSTART + 8, RLENGTH - 8)
            match($0, /ran [0-9]+/); ran = substr($0, RSTART + 4, RLENGTH - 4)
            printf "%s died: %d of its %d planned assertions did not run\n", file, planned - ran, planned
        }
        /Parse errors: No plan found in TAP output/ {
            printf "%s died before its plan: an unknown number of its assertions did not run\n", file
        }' "$log"
}

stage() {  # stage NAME KIND CMD...
    local name=$1 kind=$2 log status p f line lacking=()
    shift 2
    printf '\n==== %s ====\n' "$name"
    log=$(mktemp)
    "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    read -r p f < <(count "$log")
    mapfile -t lacking < <(missing "$kind" "$log" "$p" "$f")
    if [[ $status -ne 0 && $kind == none ]]; then
        lacking+=("failed (exit $status): the stages that need it cannot run their tests")
    elif [[ $status -ne 0 && $f -eq 0 && ${#lacking[@]} -eq 0 ]]; then
        # Every test passed but the stage failed (a sanitizer report, a server left running):
        # its output says why; it is one failed check.
        f=1
        echo "---- $name exited $status although no test failed: counted as one failure (see above)"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [[ $status -eq 0 ]] || stage_failed=1
    ((${#lacking[@]} == 0)) || incomplete_stages=$((incomplete_stages + 1))
    for line in "${lacking[@]}"; do
        not_run+=("$name: $line")
        echo "not run: $name: $line"
    done
    rm -f "$log"
    echo "---- $name: $p passed, $f failed (exit $status)"
}

closing_line() {  # closing_line LABEL
    local line
    printf '\n'
    if ((${#not_run[@]} == 0)); then
        echo "$1: $passed passed, $failed failed"
        return
    fi
    echo "INCOMPLETE: these tests did not run, so the counts below are not the whole suite:"
    for line in "${not_run[@]}"; do echo "  not run: $line"; done
    echo "$1: $passed passed, $failed failed; INCOMPLETE: $incomplete_stages stage(s) did not run all their tests (listed above)"
}
