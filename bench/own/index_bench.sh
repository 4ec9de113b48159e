#!/usr/bin/env bash
# bench/own/index_bench.sh OUTDIR
#
# The GIN pre-filter (docs/reference.md, What the planner expects): a flag on a property key few
# persons have, over BENCH_PERSONS persons with a GIN index on properties, counted through the
# index (the planner's choice) and as a sequential scan (enable_bitmapscan off), both in the same
# run, round-robin, with parallel query off and on. Checked: both count the same persons, and the
# planner chose the index. Runs inside scripts/with-temp-cluster.sh; bench/run.sh calls it, and
# run alone it starts its own cluster with the settings of bench/cluster.conf. Writes
# OUTDIR/index/section.md (section 5a of bench/RESULTS.md) and the raw timings beside it.
#
# The persons are section 1's (bench/inputs/sql/load_persons.sql); one in BENCH_INDEX_RARE_EVERY
# (default 1000) also gets the key beta_invite.
#
# Environment: BENCH_PERSONS (default 1000000), BENCH_RUNS (default 9), BENCH_INDEX_RARE_EVERY.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

OUT=${1:?usage: index_bench.sh OUTDIR}
if [[ -z ${FLAG_EVAL_PG_DATA:-} ]]; then
    export FLAG_EVAL_PG_SETTINGS=${FLAG_EVAL_PG_SETTINGS:-"$(cat bench/cluster.conf)"}
    exec scripts/with-temp-cluster.sh "$PWD/bench/own/index_bench.sh" "$@"
fi

PERSONS=${BENCH_PERSONS:-1000000}
RUNS=${BENCH_RUNS:-9}
RARE_EVERY=${BENCH_INDEX_RARE_EVERY:-1000}
PSQL=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql
D=$OUT/index
FLAG='{"key": "beta-invitees", "filters": {"groups": [{"properties": [
  {"key": "beta_invite", "type": "person", "operator": "is_set", "value": "is_set"},
  {"key": "plan", "type": "person", "value": ["pro", "enterprise"]}], "rollout_percentage": 50}]}}'
QUERY="SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'flag'::jsonb, distinct_id, properties)"

log() { echo "index_bench: $*" >&2; }
psql_bench() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -v flag="$(tr -s '\n ' '  ' <<<"$FLAG")" "$@"; }
# The settings of each way to run the query.
declare -A WAY=(
    [index_serial]="SET max_parallel_workers_per_gather = 0; SET enable_bitmapscan = on;"
    [scan_serial]="SET max_parallel_workers_per_gather = 0; SET enable_bitmapscan = off;"
    [index_parallel]="RESET max_parallel_workers_per_gather; SET enable_bitmapscan = on;"
    [scan_parallel]="RESET max_parallel_workers_per_gather; SET enable_bitmapscan = off;"
)
WAYS=(index_serial scan_serial index_parallel scan_parallel)

rm -rf "$D"
mkdir -p "$D"
log "loading $PERSONS persons, one in $RARE_EVERY with beta_invite, and a GIN index"
start=$SECONDS
psql_bench -v n="$PERSONS" -v every="$RARE_EVERY" <<'SQL' >/dev/null
\i bench/inputs/sql/setup.sql
UPDATE persons SET properties = properties || jsonb_build_object('beta_invite', 'code-' || id)
WHERE id % :every = 0;
CREATE INDEX persons_properties ON persons USING gin (properties);
VACUUM ANALYZE persons;
SELECT pg_prewarm('persons'), pg_prewarm('persons_properties');
SQL
{
    echo "load_seconds=$((SECONDS - start))"
    psql_bench -c "SELECT 'index_size=' || pg_size_pretty(pg_relation_size('persons_properties'))"
    psql_bench -c "SELECT 'with_key=' || count(*) FROM persons WHERE properties ? 'beta_invite'"
} >"$D/setup.txt"

for way in "${WAYS[@]}"; do
    {
        echo "${WAY[$way]}"
        echo "EXPLAIN (COSTS OFF) $QUERY;"
    } | psql_bench >"$D/plan_$way.txt"
    {
        echo "${WAY[$way]}"
        echo "$QUERY;"
    } | psql_bench >"$D/count_$way.txt"
done

log "timing: 1 warm-up + $RUNS runs of ${#WAYS[@]} ways"
{
    echo "\\timing on"
    for ((run = 0; run <= RUNS; run++)); do
        for way in "${WAYS[@]}"; do
            echo "${WAY[$way]}"
            echo "\\echo @@ $way $run"
            echo "$QUERY;"
        done
    done
} | psql_bench >"$D/timings.txt"

/usr/bin/python3 - "$D" "$PERSONS" "$RARE_EVERY" "$RUNS" <<'PY'
import os, re, statistics, sys
d, persons, every, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ways = ["index_serial", "scan_serial", "index_parallel", "scan_parallel"]
times = {w: [] for w in ways}
current = None
for line in open(os.path.join(d, "timings.txt")):
    m = re.match(r"@@ (\S+) (\d+)", line)
    if m:
        current = m.group(1) if int(m.group(2)) > 0 else None  # run 0 is the warm-up
        continue
    m = re.match(r"Time: ([\d.]+) ms", line)
    if m and current:  # the query's; the next way's SETs are timed after it
        times[current].append(float(m.group(1)))
        current = None
setup = dict(l.strip().split("=", 1) for l in open(os.path.join(d, "setup.txt")) if "=" in l)
counts = {w: open(os.path.join(d, f"count_{w}.txt")).read().strip() for w in ways}
plans = {w: open(os.path.join(d, f"plan_{w}.txt")).read() for w in ways}
def shape(plan):
    if "Bitmap Index Scan" in plan:
        return "Bitmap Index Scan (" + re.search(r"Index Cond: \((.*)\)", plan).group(1) + ")"
    return "Parallel Seq Scan" if "Parallel Seq Scan" in plan else "Seq Scan"
problems = []
if len(set(counts.values())) != 1:
    problems.append(f"the ways count different persons: {counts}")
for w in ("index_serial", "index_parallel"):
    if "Bitmap Index Scan" not in plans[w]:
        problems.append(f"{w}: the planner did not use the index")
med = {w: statistics.median(times[w]) for w in ways}
L = ["### 5a. The GIN pre-filter: a flag on a rare key", ""]
L.append(f"`bench/own/index_bench.sh` (in `make bench`; alone: `bash bench/own/index_bench.sh OUTDIR`): "
         f"section 1's {persons:,} persons, one in {every:,} ({setup['with_key']} persons) also given the key "
         f"`beta_invite`; a GIN index on `properties` (default `jsonb_ops`, {setup['index_size']}). The flag: "
         "`beta_invite` is_set AND plan exact [pro, enterprise], rollout 50 %. `flag_eval()` offers the planner the "
         "lossy index condition shown; the scan is the same query with `enable_bitmapscan = off`. Same measured runs, "
         f"round-robin ({runs} per way, after 1 warm-up), in one throw-away cluster (bench/cluster.conf).")
L.append("")
L.append("| parallel query | way | plan | persons kept | median ms (min–max) | scan / index |")
L.append("|---|---|---|--:|--:|--:|")
for mode in ("serial", "parallel"):
    for kind in ("index", "scan"):
        w = f"{kind}_{mode}"
        ratio = f"{med['scan_' + mode] / med[w]:.0f}x" if kind == "index" else ""
        L.append(f"| {'off' if mode == 'serial' else 'on'} | {kind} | {shape(plans[w])} | {counts[w]} | "
                 f"{med[w]:.1f} ({min(times[w]):.1f}–{max(times[w]):.1f}) | {ratio} |")
L.append("")
L.append("Checked in the same run: every way counts the same persons; the planner chose the index by itself."
         if not problems else "**CHECK FAILED**: " + "; ".join(problems))
open(os.path.join(d, "section.md"), "w").write("\n".join(L) + "\n")
print("\n".join(L))
sys.exit(1 if problems else 0)
PY
