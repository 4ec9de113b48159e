#!/usr/bin/env bash
# Runs every test stage of `make test` in order and closes with one line, "tests: N passed,
# N failed", summed over the stages (GoogleTest cases, pg_regress files, TAP assertions), which CI
# reads (fuzz targets count one each).
# A stage that fails without reporting counts (a build error) counts as one failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/stages.sh
source scripts/lib/stages.sh

stage "build" make --no-print-directory -j"$(nproc)" all decide
stage "core unit tests (GoogleTest)" make --no-print-directory -j"$(nproc)" unit
stage "service unit tests (GoogleTest, throw-away cluster)" make --no-print-directory -j"$(nproc)" decide-unit
stage "SQL tests (pg_regress on a throw-away cluster)" make --no-print-directory regress
stage "TAP tests (primary + streaming standby)" make --no-print-directory tap
stage "fuzzing (libFuzzer, a short run per target)" make --no-print-directory -j"$(nproc)" fuzz-short
# The same unit and integration tests again under ASan + UBSan (scripts/test-sanitize.sh).
stage "sanitizers (make test-sanitize)" make --no-print-directory test-sanitize

printf '\n'
echo "tests: $passed passed, $failed failed"
exit $((stage_failed || failed > 0))
