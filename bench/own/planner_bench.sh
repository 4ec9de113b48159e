#!/usr/bin/env bash
# bench/own/planner_bench.sh [OUTDIR]
#
# A join whose plan changes for the better (issue 18): what the planner support function of
# flag_eval 0.3.0 (docs/reference.md, "What the planner expects") is worth in a query that joins
# the persons in a 1 % rollout to their orders. Prints a markdown section on stdout (also
# OUTDIR/section.md, part 5b of bench/RESULTS.md); raw outputs (plans, timings) go to OUTDIR
# (default: a temporary directory, removed at the end).
#
#   persons  BENCH_PERSONS rows as in section 1 (bench/inputs/sql/setup.sql), primary key on id
#   orders   5 per person on average: person_id uniformly random (orders arrive in time order,
#            not person order), created_at spread over 2024, amount; primary key on id and the
#            index a customer's order history would use, orders (person_id) INCLUDE (amount,
#            created_at)
#   flag     a pure 1 % rollout ("new-checkout")
#
# The same query is planned three ways, from the same data and statistics:
#   after     flag_eval(<constant flag>, ...) with 0.3.0: the support function estimates 1 %
#   0.2.0     the same C function declared as 0.2.0 declared it (no support function, COST 1;
#             schema flag_eval_020 of this throw-away database): PostgreSQL's flat third
#   (SELECT)  0.3.0 with the flag as a non-constant, flag_eval((SELECT :'flag'::jsonb), ...): a
#             third too, what a flag that is not a constant still gets
# and each answer is checked against the others. Each query: 1 warm-up + BENCH_RUNS measured
# runs, round-robin, with parallel query on (the default), then off; median of the measured runs
# (psql \timing). Every table read is prewarmed into shared buffers.
#
# The plan change needs the tables at their default size: with BENCH_PERSONS=100000 the nested
# loop and the hash join cost about the same, and the planner may pick the hash join with either
# estimate (a smaller size is for trying the script out).
#
# Run it alone (it starts its own throw-away cluster with bench/cluster.conf, as bench/run.sh does
# for section 1; flag_eval 0.3.0 must be installed):
#   bench/own/planner_bench.sh
#   BENCH_PERSONS=100000 BENCH_RUNS=5 bench/own/planner_bench.sh   # smaller and shorter
#
# Environment: BENCH_PERSONS (default 1000000), BENCH_RUNS (default 9), BENCH_ORDERS_PER_PERSON
# (default 5).
# shellcheck disable=SC2028  # the echoed backslashes are psql meta-commands, meant literally
set -euo pipefail
[[ -z ${1:-} ]] || set -- "$(realpath -m -- "$1")"  # OUTDIR as given, before the cd
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ -z ${FLAG_EVAL_PG_DATA:-} ]]; then
    # Not inside scripts/with-temp-cluster.sh yet: start a throw-away cluster with the benchmark
    # settings and run again inside it.
    FLAG_EVAL_PG_SETTINGS="$(cat bench/cluster.conf)"
    export FLAG_EVAL_PG_SETTINGS
    exec scripts/with-temp-cluster.sh bench/own/planner_bench.sh "$@"
fi

PERSONS=${BENCH_PERSONS:-1000000}
RUNS=${BENCH_RUNS:-9}
PER_PERSON=${BENCH_ORDERS_PER_PERSON:-5}
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "planner_bench: $1 must be a positive number, not '$2'" >&2; exit 2; }; }
positive BENCH_PERSONS "$PERSONS"
positive BENCH_RUNS "$RUNS"
positive BENCH_ORDERS_PER_PERSON "$PER_PERSON"
PSQL=${FLAG_EVAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql
PY=/usr/bin/python3  # Debian's, as bench/run.sh
FLAG='{"key": "new-checkout", "filters": {"groups": [{"properties": [], "rollout_percentage": 1}]}}'

if [[ -n ${1:-} ]]; then
    OUT=$1
    mkdir -p "$OUT"
else
    OUT=$(mktemp -d /tmp/planner_bench.XXXXXX)
    trap 'rm -rf -- "$OUT"' EXIT
fi

log() { echo "planner_bench: $*" >&2; }
psql_bench() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -v flag="$FLAG" "$@"; }

# The queries: the canary's monthly revenue (headline) and its total. FLAG_CALL is replaced by
# each way of calling the flag.
declare -A QUERY=(
    [monthly]="SELECT date_trunc('month', o.created_at) AS month, count(*) AS orders, sum(o.amount) AS revenue
  FROM persons p JOIN orders o ON o.person_id = p.id
 WHERE FLAG_CALL
 GROUP BY 1 ORDER BY 1"
    [total]="SELECT count(*) AS orders, sum(o.amount) AS revenue
  FROM persons p JOIN orders o ON o.person_id = p.id
 WHERE FLAG_CALL"
)
QUERY_NAMES=(monthly total)
declare -A CALL=(
    [after]="flag_eval.flag_eval(:'flag'::jsonb, p.distinct_id, p.properties)"
    [v020]="flag_eval_020.flag_eval(:'flag'::jsonb, p.distinct_id, p.properties)"
    [subselect]="flag_eval.flag_eval((SELECT :'flag'::jsonb), p.distinct_id, p.properties)"
)
CALL_NAMES=(after v020 subselect)
sql_of() { echo "${QUERY[$1]//FLAG_CALL/${CALL[$2]}}"; }

# ---- setup ----
log "loading $PERSONS persons and $((PERSONS * PER_PERSON)) orders"
start=$SECONDS
psql_bench -v n="$PERSONS" -v per_person="$PER_PERSON" <<'SQL' >/dev/null
\i bench/inputs/sql/setup.sql
ALTER TABLE persons ADD PRIMARY KEY (id);
CREATE TABLE orders AS
SELECT o AS id,
       1 + ((hashint8extended(o, 42) & 9223372036854775807) % :n) AS person_id,
       timestamptz '2024-01-01 00:00:00+00' + (o - 1) * (interval '366 days' / (:n * :per_person)) AS created_at,
       round(5 + (hashint8extended(o, 43) & 1023) / 10.0, 2) AS amount
FROM generate_series(1, :n * :per_person) AS o;
ALTER TABLE orders ADD PRIMARY KEY (id);
CREATE INDEX orders_person_id ON orders (person_id) INCLUDE (amount, created_at);
VACUUM (FREEZE, ANALYZE) orders;
SELECT pg_prewarm('persons'), pg_prewarm('orders'), pg_prewarm('orders_person_id');
-- flag_eval() as 0.2.0 declared it (sql/flag_eval--0.2.0.sql): the same C function, no support
-- function, the default COST 1.
CREATE SCHEMA flag_eval_020;
CREATE FUNCTION flag_eval_020.flag_eval(flag jsonb, distinct_id text, properties jsonb DEFAULT '{}')
RETURNS boolean
AS '$libdir/flag_eval', 'flag_eval_enabled'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
SQL
load_seconds=$((SECONDS - start))
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

settings=$(psql_bench <<'SQL'
SELECT 'server_version=' || current_setting('server_version');
SELECT 'extension_version=' || extversion FROM pg_extension WHERE extname = 'flag_eval';
SELECT 'support=' || (prosupport <> 0) FROM pg_proc WHERE oid = 'flag_eval.flag_eval(jsonb, text, jsonb)'::regprocedure;
SELECT 'persons=' || count(*) FROM persons;
SELECT 'orders=' || count(*) FROM orders;
SELECT 'sizes=' || format('persons %s, orders %s, orders_person_id %s', pg_size_pretty(pg_table_size('persons')),
       pg_size_pretty(pg_table_size('orders')), pg_size_pretty(pg_relation_size('orders_person_id')));
SELECT 'shared_buffers=' || current_setting('shared_buffers');
SELECT 'random_page_cost=' || current_setting('random_page_cost');
SELECT 'canary=' || count(*) FROM persons p WHERE flag_eval.flag_eval(:'flag'::jsonb, p.distinct_id, p.properties);
SQL
)
echo "$settings" >"$OUT/setup.txt"
setting() { sed -n "s/^$1=//p" <<<"$settings"; }
[[ $(setting support) == true ]] || { log "the installed flag_eval has no planner support function (0.3.0 or later needed)"; exit 1; }

# ---- the three ways give the same answers ----
for q in "${QUERY_NAMES[@]}"; do
    for c in "${CALL_NAMES[@]}"; do
        echo "$(sql_of "$q" "$c");" | psql_bench >"$OUT/answer_${q}_$c.txt"
        cmp -s "$OUT/answer_${q}_after.txt" "$OUT/answer_${q}_$c.txt" \
            || { log "$q: the answer with $c differs from the constant flag's"; exit 1; }
    done
done

# ---- plans (EXPLAIN ANALYZE without per-node timing, whose overhead on 5M rows would distort the
# hash join's time; once each, JSON for the summary and text for the section) ----
for mode in parallel serial; do
    gather=$([[ $mode == serial ]] && echo 0 || echo DEFAULT)
    for q in "${QUERY_NAMES[@]}"; do
        for c in "${CALL_NAMES[@]}"; do
            for format in json text; do
                psql_bench >"$OUT/plan_${mode}_${q}_$c.$format" <<SQL
SET max_parallel_workers_per_gather = $gather;
EXPLAIN (ANALYZE, TIMING OFF, FORMAT $format) $(sql_of "$q" "$c");
SQL
            done
        done
    done
done

# ---- timings: run 0 is the warm-up ----
for mode in parallel serial; do
    log "timing, parallel query $([[ $mode == serial ]] && echo off || echo on): 1 warm-up + $RUNS runs of $((${#QUERY_NAMES[@]} * ${#CALL_NAMES[@]})) queries"
    {
        echo "SET max_parallel_workers_per_gather = $([[ $mode == serial ]] && echo 0 || echo DEFAULT);"
        echo "\\timing on"
        for ((run = 0; run <= RUNS; run++)); do
            for q in "${QUERY_NAMES[@]}"; do
                for c in "${CALL_NAMES[@]}"; do
                    echo "\\echo @@ ${q}_$c $run"
                    echo "$(sql_of "$q" "$c") \\g /dev/null"
                done
            done
        done
    } | psql_bench >"$OUT/timings_$mode.txt"
done

# ---- the section ----
reproduce="bench/own/planner_bench.sh"
[[ $PERSONS == 1000000 ]] || reproduce="BENCH_PERSONS=$PERSONS $reproduce"
[[ $RUNS == 9 ]] || reproduce="BENCH_RUNS=$RUNS $reproduce"
[[ $PER_PERSON == 5 ]] || reproduce="BENCH_ORDERS_PER_PERSON=$PER_PERSON $reproduce"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
export OUT RUNS load_seconds reproduce load_before load_after
"$PY" - <<'PY' | tee "$OUT/section.md"
import json, os, re, statistics

out = os.environ["OUT"]
runs = int(os.environ["RUNS"])
setup = dict(line.split("=", 1) for line in open(f"{out}/setup.txt").read().splitlines() if "=" in line)
queries = ["monthly", "total"]
calls = ["after", "v020", "subselect"]
call_label = {
    "after": "0.3.0, constant flag (support function)",
    "v020": "0.2.0's declaration, constant flag (flat third)",
    "subselect": "0.3.0, `(SELECT :'flag'::jsonb)` (flat third)",
}
query_label = {"monthly": "monthly revenue", "total": "total revenue"}


def timings(mode):
    times, name = {}, None
    for line in open(f"{out}/timings_{mode}.txt"):
        m = re.match(r"@@ (\S+) (\d+)", line)
        if m:
            name, run = m.group(1), int(m.group(2))
            continue
        m = re.match(r"Time: ([\d.]+) ms", line)
        if m and name and run > 0:
            times.setdefault(name, []).append(float(m.group(1)))
    return times


def plan(mode, q, c):
    return json.load(open(f"{out}/plan_{mode}_{q}_{c}.json"))[0]


def children(node):
    return [k for k in node.get("Plans", []) if k.get("Parent Relationship") not in ("InitPlan", "SubPlan")]


def shape(node):
    """Gather -> Nested Loop (Parallel Seq Scan on persons, Index Only Scan on orders): the join
    and the nodes under it, with the Gather above it; aggregates, sorts and hashes left out."""
    def name(n):
        s = ("Parallel " if n.get("Parallel Aware") else "") + n["Node Type"]
        return s + (" on " + n["Relation Name"] if "Relation Name" in n else "")

    def walk(n):
        kids = children(n)
        if n["Node Type"] in ("Nested Loop", "Hash Join", "Merge Join"):
            return name(n) + " (" + ", ".join(walk(k) for k in kids) + ")"
        if n["Node Type"] in ("Gather", "Gather Merge"):
            return name(n) + " → " + walk(kids[0])
        if kids and "Relation Name" not in n:
            return walk(kids[0])
        return name(n)
    return walk(node)


def persons_scan(node, divisor=1.0):
    """The persons scan's estimated and actual rows, in total over the processes that ran it (a
    parallel scan's figures are per process; the planner divides its estimate by workers +
    the leader's share, 1 - 0.3 x workers)."""
    if node["Node Type"] in ("Gather", "Gather Merge"):
        w = node["Workers Planned"]
        divisor = w + max(0.0, 1.0 - 0.3 * w)
    if node.get("Relation Name") == "persons":
        est = node["Plan Rows"] * (divisor if node.get("Parallel Aware") else 1)
        return est, node["Actual Rows"] * node["Actual Loops"]
    for k in children(node):
        found = persons_scan(k, divisor)
        if found:
            return found
    return None


def ms(x):
    return f"{x:,.1f}"


def n(x):
    return f"{round(x):,}"


print("### 5b. The planner: a join whose plan changes with the flag's estimate\n")
print(f"`persons`: {n(int(setup['persons']))} rows as in section 1, primary key on `id`; `orders`: {n(int(setup['orders']))} rows "
      "(person uniformly random, in time order over 2024), primary key on `id` and an index on "
      f"`(person_id) INCLUDE (amount, created_at)` ({setup['sizes']}; loaded in {os.environ['load_seconds']} s, "
      f"prewarmed, shared_buffers = {setup['shared_buffers']}, random_page_cost = {setup['random_page_cost']}). "
      f"The flag: a pure 1 % rollout, {n(int(setup['canary']))} persons.\n")
print("The canary's revenue by month (and, second query, in total):\n")
print("```sql\nSELECT date_trunc('month', o.created_at) AS month, count(*) AS orders, sum(o.amount) AS revenue\n"
      "  FROM persons p JOIN orders o ON o.person_id = p.id\n"
      " WHERE flag_eval.flag_eval(:'flag'::jsonb, p.distinct_id, p.properties)\n GROUP BY 1 ORDER BY 1;\n```\n")
print("Planned three ways from the same data and statistics: with flag_eval 0.3.0 and a constant flag (its "
      "support function estimates the rows kept); with the same C function declared as 0.2.0 declared it (no "
      "support function, COST 1: PostgreSQL's flat third, the release before); with 0.3.0 and the flag as a "
      "non-constant `(SELECT :'flag'::jsonb)` (a third too). All three give the same answers (checked). "
      f"1 warm-up + {runs} measured runs each, round-robin, median (min–max) ms; \"ratio\" = that median / the "
      "0.3.0 constant flag's.\n")
for mode in ("parallel", "serial"):
    t = timings(mode)
    title = "Parallel query on (the default)" if mode == "parallel" else "Parallel query off (`max_parallel_workers_per_gather = 0`)"
    print(f"**{title}**\n")
    print("| query | flag | plan (join) | persons kept: estimated / actual | median ms (min–max) | ratio |")
    print("|---|---|---|--:|--:|--:|")
    for q in queries:
        base = statistics.median(t[f"{q}_after"])
        for c in calls:
            p = plan(mode, q, c)
            est, act = persons_scan(p["Plan"])
            xs = t[f"{q}_{c}"]
            med = statistics.median(xs)
            print(f"| {query_label[q]} | {call_label[c]} | {shape(p['Plan'])} | {n(est)} / {n(act)} | "
                  f"{ms(med)} ({ms(min(xs))}–{ms(max(xs))}) | {med / base:.2f} |")
    print()
for c, label in (("after", "0.3.0, constant flag"), ("v020", "0.2.0's declaration (flat third)")):
    print(f"Monthly revenue, parallel query on, {label} (`EXPLAIN (ANALYZE, TIMING OFF)`, the flag shortened):\n")
    print("```")
    for line in open(f"{out}/plan_parallel_monthly_{c}.text").read().splitlines():
        line = re.sub(r"'\{\"key\".*?\}'::jsonb", "'<flag>'::jsonb", line)
        print(line.rstrip())
    print("```\n")
print(f"Server: PostgreSQL {setup['server_version']}, flag_eval {setup['extension_version']}; {os.cpu_count()} CPUs, "
      f"load average {os.environ['load_before']} before the timings, {os.environ['load_after']} after. "
      f"Reproduce: `{os.environ['reproduce']}`.")
PY
log "done"
