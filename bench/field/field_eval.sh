#!/usr/bin/env bash
# bench/field/field_eval.sh OUTDIR — evaluation cost against the field (issue 6): the flag shapes
# static, three_filters_50, regex and multivariate (bench/inputs/flags/) in posthog-node local
# evaluation and in @openfeature/flagd-core (bench/field/node/field_eval.mjs), over the 1,024
# persons of core_bench, whose answers flag_eval gives (`core_bench --dump_field`). bench/run.sh
# calls it after the core benchmark, whose OUTDIR/core.json has flag_eval's timings of the same
# shapes; run alone (no OUTDIR/core.json), it times those four core benchmarks itself into
# OUTDIR/field/core.json. Raw results in OUTDIR/field/; bench/report/field_eval.py OUTDIR renders
# them.
#
# Environment: BENCH_CORE (default build/bench/core_bench), BENCH_CORE_REPETITIONS (default 9,
# alone only), FIELD_EVAL_REPETITIONS (default 9), FIELD_EVAL_SECONDS (per repetition and
# evaluator, default 0.25), FIELD_EVAL_WARMUP_SECONDS (default 0.5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

log() { echo "field_eval: $*" >&2; }

(($# == 1)) || { echo "usage: bench/field/field_eval.sh OUTDIR" >&2; exit 2; }
OUT=$1
BENCH_CORE=${BENCH_CORE:-build/bench/core_bench}
DIR=$OUT/field
started=$SECONDS

[[ -x $BENCH_CORE ]] || { log "$BENCH_CORE is missing: run \`make bench\` (or make build/bench/core_bench)"; exit 1; }
command -v node >/dev/null || { log "node not found (Debian package nodejs)"; exit 1; }
scripts/install-npm-deps.sh bench/field/node
rm -rf "$DIR"
mkdir -p "$DIR"

# The persons, and flag_eval's answers for them (SHA-1 bucketing, as posthog-node hashes).
FLAG_EVAL_BENCH_FLAGS=bench/inputs/flags "$BENCH_CORE" --dump_field="$DIR"

if [[ ! -f $OUT/core.json ]]; then
    log "no $OUT/core.json: timing the four shapes in the core"
    FLAG_EVAL_BENCH_FLAGS=bench/inputs/flags "$BENCH_CORE" \
        --benchmark_filter='^BM_Evaluate_(Static|Regex|3Filters_50pct_Sha1|Multivariate_Sha1|3Filters_50pct|Multivariate)$' \
        --benchmark_repetitions="${BENCH_CORE_REPETITIONS:-9}" \
        --benchmark_enable_random_interleaving=true \
        --benchmark_display_aggregates_only=true \
        --benchmark_out="$DIR/core.json" --benchmark_out_format=json >"$DIR/core.txt"
fi

# posthog-node warns once that getFeatureFlag is deprecated; the log keeps it.
node bench/field/node/field_eval.mjs "$DIR" bench/inputs/flags 2>&1 | tee "$DIR/node.log" | { grep -v '^\[PostHog\]' || true; } >&2
echo "elapsed_seconds=$((SECONDS - started))" >"$DIR/elapsed.txt"
log "done in $((SECONDS - started)) s"
