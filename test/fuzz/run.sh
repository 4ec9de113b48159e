#!/usr/bin/env bash
# Runs the libFuzzer targets built by `make fuzz-build` (build/fuzz/<target>).
#
#   test/fuzz/run.sh [TARGET...]        default: every test/fuzz/*_fuzz.cpp
#   FUZZ_SECONDS=120               fuzzing time per target
#   BUILD=build                    where the binaries are; corpora, logs and crashes go under it
#   FLAG_EVAL_CONFORMANCE_DIR      seed source, default test/conformance/posthog
#
# For each target: replay test/fuzz/regressions/<target>/ (inputs that once crashed), generate seeds
# from the conformance corpus into $BUILD/fuzz/corpus/<target>/ (kept between runs, so coverage
# accumulates), then fuzz for FUZZ_SECONDS with the target's dictionary. Leaks, ASan and UBSan
# reports, timeouts and out-of-memory all count as crashes.
#
# Output, one line per target, then a summary (counted by scripts/run-tests.sh):
#   fuzz: <target> ok (<N> runs, <T> s)
#   fuzz: <target> FAILED (<what>: <input file>)
#   fuzz: <P> passed, <F> failed
# Exit status: 0 when every target passed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit

FUZZ_SECONDS=${FUZZ_SECONDS:-120}
BUILD=${BUILD:-build}
CONFORMANCE_DIR=${FLAG_EVAL_CONFORMANCE_DIR:-test/conformance/posthog}
PYTHON=/usr/bin/python3

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for src in test/fuzz/*_fuzz.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

if ! "$PYTHON" test/fuzz/make_seeds.py "$CONFORMANCE_DIR" "$BUILD/fuzz/corpus" >/dev/null; then
    echo "fuzz: cannot generate seeds from $CONFORMANCE_DIR" >&2
    exit 2
fi

passed=0
failed=0

# The input libFuzzer saved for the failure recorded in LOG, or the replayed file it names.
failing_input() {
    local log=$1 file
    file=$(grep -oP 'Test unit written to \K\S+' "$log" | tail -1)
    [[ -z $file ]] && file=$(grep -oP '^Running: \K\S+' "$log" | tail -1)
    echo "${file:-unknown input}"
}

# What went wrong, in a word or two, from the sanitizer or libFuzzer report in LOG.
failure_kind() {
    local log=$1
    if grep -q 'ERROR: LeakSanitizer' "$log"; then echo leak
    elif grep -q 'ERROR: AddressSanitizer' "$log"; then echo "$(grep -oP 'ERROR: AddressSanitizer: \K\S+' "$log" | head -1)"
    elif grep -q 'runtime error:' "$log"; then echo "undefined behaviour"
    elif grep -q 'ERROR: libFuzzer: timeout' "$log"; then echo timeout
    elif grep -q 'out-of-memory' "$log"; then echo out-of-memory
    elif grep -q 'uncaught exception\|terminate called' "$log"; then echo "uncaught exception"
    else echo crash
    fi
}

fail() {  # fail TARGET LOG STAGE
    local target=$1 log=$2 stage=$3
    # The sanitizer's report, so that the failure can be read without opening the log.
    grep -B2 -A25 -m1 'ERROR: \|runtime error:\|terminate called' "$log" | sed 's/^/    /' >&2
    echo "fuzz: $target FAILED ($stage $(failure_kind "$log"): $(failing_input "$log"); log $log)"
    failed=$((failed + 1))
}

mkdir -p "$BUILD/fuzz/logs"
for target in "${targets[@]}"; do
    bin=$BUILD/fuzz/$target
    log=$BUILD/fuzz/logs/$target.log
    if [[ ! -x $bin ]]; then
        echo "fuzz: $target FAILED (not built: $bin; run make fuzz-build)"
        failed=$((failed + 1))
        continue
    fi
    options=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1)
    [[ -f test/fuzz/$target.dict ]] && options+=(-dict="test/fuzz/$target.dict")

    # 1. Every input that once crashed must pass (libFuzzer runs files given as arguments once).
    regressions=()
    if [[ -d test/fuzz/regressions/$target ]]; then
        while IFS= read -r -d '' file; do regressions+=("$file"); done \
            < <(find "test/fuzz/regressions/$target" -type f -print0 | sort -z)
    fi
    if [[ ${#regressions[@]} -gt 0 ]] && ! "$bin" "${options[@]}" "${regressions[@]}" >"$log" 2>&1; then
        fail "$target" "$log" regression
        continue
    fi

    # 2. Fuzz from the seeds and what earlier runs found.
    corpus=$BUILD/fuzz/corpus/$target
    artifacts=$BUILD/fuzz/artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    start=$(date +%s)
    if ! "$bin" "${options[@]}" -max_total_time="$FUZZ_SECONDS" -artifact_prefix="$artifacts/" \
        "$corpus" >"$log" 2>&1; then
        fail "$target" "$log" fuzzing
        continue
    fi
    runs=$(grep -oP 'stat::number_of_executed_units: \K[0-9]+' "$log" | tail -1)
    echo "fuzz: $target ok (${runs:-0} runs, $(($(date +%s) - start)) s)"
    passed=$((passed + 1))
done

echo "fuzz: $passed passed, $failed failed"
exit $((failed > 0))
