#!/usr/bin/env bash
# Runs every test stage of `make test` in order and closes with one line, "tests: N passed,
# N failed", summed over the stages (GoogleTest cases, pg_regress files, TAP assertions, fuzz
# targets), which CI reads. A stage that could not run all its tests (a build error, a missing
# tool, a TAP file that died) fails the run, and the closing line names it and says how much did
# not run instead of counting it as one failure (scripts/lib/stages.sh).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit

# shellcheck source=scripts/lib/stages.sh
source scripts/lib/stages.sh

BUILD=${BUILD:-build}
regress_files=$(find test/sql -maxdepth 1 -name '*.sql' | wc -l)
tap_files=$(echo test/t/*.pl)
fuzz_targets=$(find test/fuzz -maxdepth 1 -name '*_fuzz.cpp' | wc -l)

stage "lint (clang-format, SQL literals, shellcheck)" lint:3 make --no-print-directory lint
stage "build" none make --no-print-directory -j"$(nproc)" all decide
stage "core unit tests (GoogleTest)" "gtest:$BUILD/unit_tests" make --no-print-directory -j"$(nproc)" unit
stage "service unit tests (GoogleTest, throw-away cluster)" "gtest:$BUILD/decide_tests" \
    make --no-print-directory -j"$(nproc)" decide-unit
stage "SQL tests (pg_regress on a throw-away cluster)" "regress:$regress_files" make --no-print-directory regress
stage "TAP tests (primary + streaming standby)" "tap:$tap_files" make --no-print-directory tap
stage "fuzzing (libFuzzer, a short run per target)" "fuzz:$fuzz_targets" \
    make --no-print-directory -j"$(nproc)" fuzz-short
# The same unit and integration tests again under ASan + UBSan (scripts/test-sanitize.sh).
stage "sanitizers (make test-sanitize)" nested make --no-print-directory test-sanitize

closing_line tests
exit $((stage_failed || failed > 0 || ${#not_run[@]} > 0))
