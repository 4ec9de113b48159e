#!/usr/bin/python3
"""Turns the raw outputs of bench/run.sh into bench/RESULTS.md: the entry point of bench/report/.

    report.py OUTDIR           prints RESULTS.md
    report.py --check OUTDIR   exits 1 when the correctness checks failed

Sections 1 (population scan), 2 (decide()) and 3 (core evaluation) are written here; the other
sections come from the modules next to this file, one a section (each also runs alone):
    preview.py     2b, preview() against the released version's (bench/own/preview_bench.sh)
    field_eval.py  in 3, posthog-node and flagd-core (bench/field/field_eval.sh)
    service.py     4, the decide service over HTTP (bench/own/service_bench.sh)
    unleash.py     4b, flag-decide against unleash-server (bench/field/unleash_bench.sh)
Part 5 (SQL at scale) is copied from the section.md each of its scripts writes (SCALE_FOLDERS).
and what they share from common.py. Standard library only (Debian's /usr/bin/python3).
"""
import os
import re
import statistics
import sys

sys.dont_write_bytecode = True  # importing the next modules must not leave bench/report/__pycache__
from common import (  # noqa: E402
    BENCH_DIR, benchmark_ns, core_benchmarks, fmt, latency_summary_ms, median_high, open_section, print_failed,
    read_json, read_kv, read_kv_all, read_latencies, read_pgbench)
import field_eval  # noqa: E402
import preview  # noqa: E402
import service  # noqa: E402
import unleash  # noqa: E402

CORE_GOAL_NS = 200.0
# Part 5's folders under OUTDIR, in order, each holding the section.md its script wrote.
SCALE_FOLDERS = ("index", "planner", "shards")
SCAN_GOAL_RATIO = 1.0

QUERIES = [
    # name, label, what it is
    ("plain", "`count(*)`, no predicate", "reference: the scan alone"),
    ("native", "native jsonb predicate", "baseline: the 3 filters in SQL, no bucketing"),
    ("native_c", "native predicate, `lower(... COLLATE \"C\")`", "stricter floor: ASCII case folding"),
    ("flag_3f_50", "`flag_eval`, 3 filters, 50 %", "**the goal's query**"),
    ("flag_3f_100", "`flag_eval`, 3 filters, 100 %", "same filters, no hashing"),
    ("flag_rollout_50", "`flag_eval`, pure 50 % rollout", "no filters, hash every row"),
    ("native_bucket_50", "native predicate + `flag_bucket() <= 0.5`", "the 50 % flag written in SQL"),
    ("variant_control", "`flag_variant` = 'control', 3 variants", "hash every row, pick a variant"),
    ("variant_aggregate", "`flag_variant_counts`, 3 variants", "the whole breakdown in one aggregate; rows: control"),
]

CORE = [
    # benchmark, label
    ("BM_Evaluate_3Filters_50pct", "`evaluate_flag`, 3 filters, 50 % (**the goal's flag**)"),
    ("BM_Evaluate_3Filters_100pct", "`evaluate_flag`, 3 filters, 100 %"),
    ("BM_Evaluate_Rollout_50pct", "`evaluate_flag`, pure 50 % rollout"),
    ("BM_Evaluate_Multivariate", "`evaluate_flag`, multivariate (3 variants, payload)"),
    ("BM_Baseline_3Lookups", "baseline: 3 `JsonPropertySource::get` (plan, country, age)"),
    ("BM_Baseline_ShortCircuitLookups", "baseline: the lookups the 3-filter flag makes (stops at the first miss)"),
    ("BM_Baseline_Hash01", "baseline: `hash01` (xxh3) alone"),
]
CORE_BASELINE = "BM_Baseline_3Lookups"


def read_timings(path):
    """{query: [(run, ms, count)]} from psql output with \\timing and '@@ name run' markers."""
    runs = {}
    current = None
    count = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("@@ "):
                _, name, run = line.split()
                current = (name, int(run))
                count = None
            elif line.startswith("Time:"):
                ms = float(re.match(r"Time:\s*([0-9.]+)\s*ms", line).group(1))
                runs.setdefault(current[0], []).append((current[1], ms, count))
            elif re.fullmatch(r"-?\d+", line) and current:
                count = int(line)
    return runs


def read_plans(path):
    """{query: 'serial' | 'Gather, N workers'}."""
    plans, current = {}, None
    if not os.path.exists(path):
        return plans
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("@@ "):
                current = line.split()[1]
                plans[current] = []
            elif current:
                plans[current].append(line)
    out = {}
    for q, lines in plans.items():
        text = "\n".join(lines)
        m = re.search(r"Workers Planned:\s*(\d+)", text)
        out[q] = f"Gather, {m.group(1)} workers" if m else "serial"
    return out


def checks(out):
    c = read_kv(os.path.join(out, "checks.txt"))
    def num(k):
        return int(c[k]) if k in c else None
    results = [
        ("`flag_eval` 3 filters at 100 % selects the same count as the native predicate",
         num("flag_3f_100"), num("native"), num("flag_3f_100") is not None and num("flag_3f_100") == num("native")),
        ("the `COLLATE \"C\"` native predicate selects the same count",
         num("native_c"), num("native"), num("native_c") is not None and num("native_c") == num("native")),
        ("... and the same persons (rows where they differ)",
         num("disagreements_3f_100"), 0, num("disagreements_3f_100") == 0),
        ("`flag_eval` 3 filters at 50 % = native predicate AND `flag_bucket('bench-3-filters', distinct_id) <= 0.5`",
         num("flag_3f_50"), num("native_bucket_50"), num("flag_3f_50") is not None and num("flag_3f_50") == num("native_bucket_50")),
        ("`flag_eval` pure 50 % rollout = `flag_bucket('bench-rollout', distinct_id) <= 0.5`",
         num("flag_rollout_50"), num("bucket_rollout_50"), num("flag_rollout_50") is not None and num("flag_rollout_50") == num("bucket_rollout_50")),
        ("`flag_variant_counts` (the aggregate) = `GROUP BY flag_variant`, 3 variants",
         c.get("variant_counts_breakdown"), c.get("flag_variants"),
         c.get("variant_counts_breakdown") is not None and c.get("variant_counts_breakdown") == c.get("flag_variants")),
    ]
    return c, results + field_checks(out, c)


# ---- section 1, against the field (issue 6): (a) the native predicate, (b) plain SQL with sha1
# bucketing, (c) COPY export + posthog-node local evaluation; bench/own/pg_bench.sh measures them ----

FIELD_ROLLOUT_GOAL = 5.0    # flag_eval at least 5x faster than (b) on the pure rollout
FIELD_NODE_GOAL = 100.0     # ... and at least 100x faster than (c), per row

FIELD_SHAPES = [
    # shape, label, flag_eval xxh3 query, flag_eval sha1 query, (b) query, bench/inputs/flags file for (c)
    ("3f_50", "3 filters, 50 % (`three_filters_50`)", "flag_3f_50", "flag_3f_50_sha1", "sql_3f_50", "three_filters_50"),
    ("rollout_50", "pure 50 % rollout (`rollout_50`)", "flag_rollout_50", "flag_rollout_50_sha1", "sql_rollout_50", "rollout_50"),
    ("variants", "3 variants, `GROUP BY` variant (`multivariate`)", "flag_variants", "flag_variants_sha1", "sql_variants",
     "multivariate"),
]


def node_result(out, flag_file):
    """export_eval.mjs's output for one shape, plus the pipeline's wall time; {} when not run."""
    r = read_kv(os.path.join(out, f"node_{flag_file}.txt"))
    variants = " ".join(f"{k[len('variant.'):]}={v}" for k, v in sorted(r.items()) if k.startswith("variant."))
    if variants:
        r["variants"] = variants
    return r


def node_selected(shape, r):
    """What posthog-node selected, in the form of the matching check (a count, or control=N ...)."""
    return r.get("variants") if shape == "variants" else (int(r["on"]) if "on" in r else None)


def field_checks(out, c):
    """(b) and (c) select exactly the persons flag_eval's sha1 flags select."""
    def num(k):
        try:
            return int(c[k])
        except (KeyError, ValueError):
            return None
    results = []
    for shape, label, _, sha1, sql, flag_file in FIELD_SHAPES:
        kind = int if shape != "variants" else str
        a, b = c.get(sha1), c.get(sql)
        a, b = (kind(a) if a is not None else None), (kind(b) if b is not None else None)
        results.append((f"{label}: `flag_eval` sha1 = (b) plain SQL sha1 bucketing", a, b, a is not None and a == b))
        d = num(f"disagreements_{sql}")
        results.append(("... and the same persons (rows where they differ)", d, 0, d == 0))
        r = node_result(out, flag_file)
        mine = c.get(f"node_{sha1}")
        mine = kind(mine) if mine is not None else None
        theirs = node_selected(shape, r)
        rows_ok = r.get("rows") is not None and r.get("rows") == c.get("node_rows")
        results.append((f"{label}: (c) posthog-node on the first {c.get('node_rows', '?')} persons "
                        f"({r.get('rows', '?')} evaluated) = `flag_eval` sha1 on the same rows",
                        theirs, mine, rows_ok and mine is not None and theirs == mine))
    return results


def median_ms(timings, query):
    measured = [ms for run, ms, _ in timings.get(query, []) if run > 0]
    return (statistics.median(measured), min(measured), max(measured)) if measured else None


def read_results(path):
    """{query: the text of its result} from a timings file (the last run's)."""
    res, current = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("@@ "):
                current = line.split()[1]
            elif current and line and not line.startswith("Time:"):
                res[current] = line
    return res


def field_tables(out, persons, c, L):
    """Appends the 'against the field' tables; returns {mode: {query: median ms}} and the (c) figures."""
    med = {}
    for mode, title in (("serial", "parallel query off"), ("parallel", "parallel query on")):
        path = os.path.join(out, f"timings_{mode}.txt")
        if not os.path.exists(path):
            continue
        timings, results = read_timings(path), read_results(path)
        plans = read_plans(os.path.join(out, f"plans_{mode}.txt"))
        med[mode] = {q: m[0] for q in timings for m in [median_ms(timings, q)] if m}
        native = med[mode].get("native")
        L.append(f"**{title.capitalize()}** (median ms of the measured runs; (a) = the native predicate, "
                 f"{fmt(native) if native else '?'} ms):")
        L.append("")
        L.append("| shape | implementation | plan | selected | median ms (min–max) | ns / row | ratio to (a) | "
                 "(b) / this |")
        L.append("|---|---|---|--:|--:|--:|--:|--:|")
        for shape, label, xxh3, sha1, sql, _ in FIELD_SHAPES:
            b = med[mode].get(sql)
            for q, impl in ((xxh3, "`flag_eval`, xxh3 (the default)"), (sha1, "`flag_eval`, sha1 (PostHog's hash)"),
                            (sql, "(b) plain SQL: pgcrypto sha1 + jsonb operators")):
                m = median_ms(timings, q)
                if not m:
                    L.append(f"| {label} | {impl} | | | not run | | | |")
                    continue
                ratio_a = f"{m[0] / native:.2f}" if native else ""
                ratio_b = f"{b / m[0]:.2f}" if b and q != sql else ""
                L.append(f"| {label} | {impl} | {plans.get(q, '?')} | {results.get(q, '?')} | {fmt(m[0])} ({fmt(m[1])}–{fmt(m[2])}) | "
                         f"{fmt(m[0] * 1e6 / persons)} | {ratio_a} | {ratio_b} |")
        L.append("")

    # (c): per row, from the sample posthog-node evaluated
    exports = [float(v) for k, v in read_kv_all(os.path.join(out, "node_export.txt")) if k == "export_ms"]
    export_ms = statistics.median(exports) if exports else None
    node = {}
    rows_c = c.get("node_rows", "?")
    L.append(f"**(c) export + posthog-node**: `COPY (SELECT distinct_id, properties FROM persons WHERE id <= {rows_c}) "
             f"TO STDOUT` piped into `node bench/field/node/export_eval.mjs FLAG.json`, which parses each row and calls "
             f"posthog-node's `getFeatureFlag(key, distinct_id, {{personProperties, onlyEvaluateLocally: true, "
             f"sendFeatureFlagEvents: false}})` one row after the other, definitions served in process. "
             f"The first {rows_c} of {persons:,} persons (`BENCH_NODE_ROWS`), one pipeline per shape; times are "
             f"per row and extrapolated to {persons:,} rows. The export alone took "
             f"{fmt(export_ms) if export_ms is not None else '?'} ms (median of {len(exports)}). "
             f"\"flag_eval\" below is the sha1 flag's serial scan of the whole table, per row.")
    L.append("")
    L.append("| shape | rows evaluated | inconclusive (counted off) | pipeline µs / row | evaluation alone µs / row | "
             f"pipeline extrapolated to {persons:,} rows, s | `flag_eval` sha1 ns / row | pipeline / `flag_eval` | "
             "evaluation alone / `flag_eval` |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for shape, label, _, sha1, _, flag_file in FIELD_SHAPES:
        r = node_result(out, flag_file)
        rows = int(r.get("rows", "0") or 0)
        if not rows or "pipeline_ms" not in r:
            L.append(f"| {label} | not run | | | | | | | |")
            continue
        pipe_us = float(r["pipeline_ms"]) * 1e3 / rows
        eval_us = float(r["evaluate_ms"]) * 1e3 / rows
        mine = med.get("serial", {}).get(sha1)
        mine_ns = mine * 1e6 / persons if mine else None
        node[shape] = (pipe_us, eval_us, mine_ns)
        L.append(f"| {label} | {rows:,} | {r.get('inconclusive', '?')} | {fmt(pipe_us, 2)} | {fmt(eval_us, 2)} | "
                 f"{fmt(pipe_us * persons / 1e6)} | {fmt(mine_ns) if mine_ns else '?'} | "
                 f"{fmt(pipe_us * 1e3 / mine_ns, 0) if mine_ns else ''} | {fmt(eval_us * 1e3 / mine_ns, 0) if mine_ns else ''} |")
    L.append("")
    return med, node


def field_section(out, persons, c, L):
    """Section 1's 'against the field' subsection; returns what field_verdicts needs."""
    L.append("### Against the field: (a) native predicate, (b) plain SQL, (c) export + posthog-node")
    L.append("")
    L.append("Three flag shapes, each run by `flag_eval` with its default xxh3 bucketing and with "
             "`\"bucketing\": \"sha1\"` (PostHog's hash, so that (b) and (c) must select exactly the same persons: "
             "the checks table above compares them, person by person for (b)). (a) is the native jsonb predicate "
             "of the 3-filter flag without bucketing, the floor for every shape. (b) is what a team writes "
             "without this extension: the filters as jsonb operators (as (a)) plus PostHog's sha1 bucketing in "
             "SQL with pgcrypto (`bench/inputs/sql/sha1_bucketing.sql`, inlined by the planner):")
    L.append("")
    L.append("```sql")
    L.append("-- posthog_hash01(key, distinct_id, salt) =")
    L.append("--   ('x' || left(encode(digest(key || '.' || distinct_id || salt, 'sha1'), 'hex'), 15))::bit(60)::bigint::float8")
    L.append("--   / 1152921504606846975::float8")
    L.append("SELECT count(*) FROM persons WHERE <native predicate> AND posthog_hash01('bench-3-filters', distinct_id) <= 0.5;")
    L.append("SELECT count(*) FROM persons WHERE posthog_hash01('bench-rollout', distinct_id) <= 0.5;")
    L.append("SELECT variant, count(*) FROM (SELECT (ARRAY['control', 'test-a', 'test-b'])[1 + width_bucket(")
    L.append("         posthog_hash01('bench-multivariate', distinct_id, 'variant'), ARRAY[0.34, 0.34 + 0.33, 0.34 + 0.33 + 0.33])]")
    L.append("       AS variant FROM persons) v GROUP BY 1;  -- flag_eval: GROUP BY flag_variant(:'flag', distinct_id, properties)")
    L.append("```")
    L.append("")
    L.append("\"(b) / this\" is how many times faster than (b) a `flag_eval` row is (same shape, same parallel "
             "setting). Same measured runs, round-robin with the queries above.")
    L.append("")
    return field_tables(out, persons, c, L)


def field_verdicts(med, node, plans):
    """The issue's goals against the field, one line each, with figures. A goal is judged in each
    parallel setting; the line says which settings meet it."""
    V = []
    modes = [m for m in ("serial", "parallel") if m in med]
    if not modes:
        return ["- Against the field: not measured."]

    def par(m):
        return "parallel query off" if m == "serial" else "parallel query on"

    def verdict(ok):  # ok: {mode: bool}
        if all(ok.values()):
            return "**met**"
        if not any(ok.values()):
            return "**not met**"
        return "; ".join(f"{'**met**' if ok[m] else '**not met**'} with {par(m)}" for m in ok)

    def ratios(num, den):  # [(ratio, mode, shape)] of med[num query] / med[den query] per shape
        out = []
        for m in modes:
            for shape, _, xxh3, sha1, sql, _ in FIELD_SHAPES:
                q = {"xxh3": xxh3, "sha1": sha1, "sql": sql, "native": "native"}
                a, b = med[m].get(q[num]), med[m].get(q[den])
                if a and b:
                    out.append((a / b, m, shape))
        return out

    def listing(rs, digits=2, unit=""):
        return "; ".join(f"{shape} {r:.{digits}f}{unit} ({par(m)})" for r, m, shape in rs)

    # (a): no slower than the native predicate, every shape, the default (xxh3) flag; sha1 beside
    xxh3 = ratios("xxh3", "native")
    if xxh3:
        ok = {m: all(r <= SCAN_GOAL_RATIO for r, mm, _ in xxh3 if mm == m) for m in modes}
        serial_group = [m for m in modes if m == "parallel" and plans.get(m, {}).get("flag_variants") == "serial"]
        note = (" (`GROUP BY flag_variant(...)` keeps a serial plan with parallel query on: the planner expects "
                "one group per row for an expression it has no statistics on, and so for (b); (a) runs on 2 workers)"
                if serial_group else "")
        V.append(f"- `flag_eval` (default xxh3) no slower than (a) the native predicate, every shape: {verdict(ok)} — "
                 f"ratio to (a): {listing(xxh3)}{note}. With sha1 bucketing (a SHA-1 per row, which (a) does not "
                 f"compute): {listing(ratios('sha1', 'native'))}.")
    # (b): faster for every shape (both sides sha1), 5x on the pure rollout; the default beside
    same = ratios("sql", "sha1")
    if same:
        ok = {m: all(r > 1.0 for r, mm, _ in same if mm == m) for m in modes}
        V.append(f"- `flag_eval` faster than (b) plain SQL for every shape, both with sha1: {verdict(ok)} — "
                 f"(b) / `flag_eval`: {listing(same, unit='×')}. With the default xxh3 flag: "
                 f"{listing(ratios('sql', 'xxh3'), unit='×')}.")
    roll = [x for x in same if x[2] == "rollout_50"]
    roll_xxh3 = [x for x in ratios("sql", "xxh3") if x[2] == "rollout_50"]
    if roll:
        ok = {m: r >= FIELD_ROLLOUT_GOAL for r, m, _ in roll}
        ok_xxh3 = {m: r >= FIELD_ROLLOUT_GOAL for r, m, _ in roll_xxh3}
        s = med.get("serial", {})
        why = ""
        if "flag_rollout_50" in s and "flag_rollout_50_sha1" in s:
            why = (f" The two `flag_eval` rollouts differ only in the hash: sha1 takes "
                   f"{s['flag_rollout_50_sha1'] / s['flag_rollout_50']:.1f}× the xxh3 time with parallel query off.")
        V.append(f"- Pure rollout at least {FIELD_ROLLOUT_GOAL:.0f}× faster than (b): sha1 against sha1 {verdict(ok)} — "
                 + "; ".join(f"{r:.1f}× ({par(m)})" for r, m, _ in roll)
                 + f"; the default xxh3 flag {verdict(ok_xxh3) if ok_xxh3 else 'not measured'} — "
                 + "; ".join(f"{r:.1f}× ({par(m)})" for r, m, _ in roll_xxh3) + "." + why)
    # (c): per row, (c)'s whole pipeline against flag_eval's sha1 serial scan
    if node:
        per = [(pipe * 1e3 / ns, shape, pipe, ev, ns) for shape, (pipe, ev, ns) in node.items() if ns]
        low = min(per)
        why = ""
        if low[0] < FIELD_NODE_GOAL and low[1] == "3f_50":
            why = (": posthog-node hashes only the persons its filters let through (7 % here), so on this shape "
                   "its cost per row is mostly property matching, not SHA-1")
        V.append(f"- At least {FIELD_NODE_GOAL:.0f}× faster than (c) export + posthog-node, per row: "
                 f"{'**met**' if low[0] >= FIELD_NODE_GOAL else '**not met**'} — (c)'s pipeline per row / `flag_eval` "
                 f"sha1 per row (parallel query off): "
                 + "; ".join(f"{shape} {r:,.0f}× ({pipe:.2f} µs vs {ns:.0f} ns; posthog-node's evaluation alone "
                             f"{ev:.2f} µs, {ev * 1e3 / ns:,.0f}×)" for r, shape, pipe, ev, ns in per)
                 + (f"; short of {FIELD_NODE_GOAL:.0f}× by {FIELD_NODE_GOAL / low[0]:.1f}× on {low[1]}{why}"
                    if low[0] < FIELD_NODE_GOAL else "")
                 + ".")
    return V


def scan_table(timings, plans, persons, lines):
    med = {}
    for q, _, _ in QUERIES:
        measured = [ms for run, ms, _ in timings.get(q, []) if run > 0]
        if measured:
            med[q] = statistics.median(measured)
    native = med.get("native")
    plain = med.get("plain")
    lines.append("| query | plan | rows selected | median ms (min–max) | ns / row | ratio to native predicate | "
                 "ns / row above the plain scan | ratio above the plain scan |")
    lines.append("|---|---|--:|--:|--:|--:|--:|--:|")
    for q, label, what in QUERIES:
        rows = timings.get(q, [])
        measured = [ms for run, ms, _ in rows if run > 0]
        if not measured:
            lines.append(f"| {label} | | | not run | | | | |")
            continue
        m = med[q]
        count = rows[-1][2]
        ns_row = m * 1e6 / persons
        ratio = f"{m / native:.2f}" if native else ""
        above = (m - plain) * 1e6 / persons if plain is not None else None
        above_ratio = ""
        if plain is not None and native and native > plain and q != "plain":
            above_ratio = f"{(m - plain) / (native - plain):.2f}"
        lines.append(
            f"| {label} ({what}) | {plans.get(q, '?')} | {count:,} | {fmt(m)} ({fmt(min(measured))}–{fmt(max(measured))}) | "
            f"{fmt(ns_row)} | {ratio} | {fmt(above) if above is not None and q != 'plain' else ''} | {above_ratio} |")
    return med


def core_results(out):
    """core_bench's context and its benchmarks (common.core_benchmarks); None, {} when not run."""
    data = read_json(os.path.join(out, "core.json"))
    if data is None:
        return None, {}
    return data.get("context", {}), core_benchmarks(data)


def core_table(res, lines):
    b = res.get(CORE_BASELINE, {})
    base = b.get("median") or median_high(b.get("runs", []), key=benchmark_ns)
    lines.append("| benchmark | median ns / evaluation | min ns | CV | ratio to 3 lookups | ratio to the goal (200 ns) | enabled share |")
    lines.append("|---|--:|--:|--:|--:|--:|--:|")
    medians = {}
    for name, label in CORE:
        r = res.get(name, {})
        m = r.get("median") or median_high(r.get("runs", []), key=benchmark_ns)
        if not m:
            lines.append(f"| {label} | not run | | | | | |")
            continue
        ns = benchmark_ns(m)
        medians[name] = ns
        cv = r.get("cv")
        cv_text = f"{cv['real_time'] * 100:.1f} %" if cv else ""
        base_ns = benchmark_ns(base) if base else None
        ratio = f"{ns / base_ns:.2f}" if base_ns else ""
        share = m.get("enabled_share")
        share_text = f"{share * 100:.1f} %" if share is not None and name.startswith("BM_Evaluate") else ""
        runs = r.get("runs", [])
        min_text = fmt(min(benchmark_ns(x) for x in runs)) if runs else ""
        lines.append(f"| {label} | {fmt(ns)} | {min_text} | {cv_text} | {ratio} | {ns / CORE_GOAL_NS:.2f} | {share_text} |")
    return medians


# ---- section 2: decide() in the database (bench/own/decide_bench.sh) ----

DECIDE_GOAL_RATIO = 2.0
DECIDE_RUNS = [
    # name, label
    ("lookup", "bare lookup: `person_distinct_ids` JOIN `persons` by distinct id (**baseline**)"),
    ("decide", "`decide()`, 50 flags, one organization (**the goal's call**)"),
    ("decide_one", "diagnostic: the same `decide()`, answer limited to one flag (`flag_keys`)"),
]


def decide_results(out):
    """{(name, clients): {tps (median of the rounds), tps_min, tps_max, transactions, mean_ms, p50_ms, ...}}:
    pgbench's TPS per round, latencies of every transaction of every round."""
    d = os.path.join(out, "decide")
    res = {}
    if not os.path.isdir(d):
        return res
    rounds = {}
    for entry in sorted(os.listdir(d)):
        m = re.fullmatch(r"pgbench_(\w+?)_c(\d+)(?:_r\d+)?\.txt", entry)
        if m:
            rounds.setdefault((m.group(1), int(m.group(2))), []).append(read_pgbench(os.path.join(d, entry)))
    for (name, clients), runs in rounds.items():
        tps = [r["tps"] for r in runs if "tps" in r]
        r = {"rounds": len(runs), "clients": runs[0].get("clients", clients), "threads": runs[0].get("threads"),
             "transactions": sum(x.get("transactions", 0) for x in runs)}
        if tps:
            r.update(tps=statistics.median(tps), tps_min=min(tps), tps_max=max(tps))
        lat = sorted(read_latencies(os.path.join(d, f"log_{name}_c{clients}")))
        if lat:
            r["logged"] = len(lat)
            r.update(latency_summary_ms(lat))
        res[(name, clients)] = r
    return res


def decide_checks(out):
    d = os.path.join(out, "decide")
    if not os.path.isdir(d):
        return {}, []
    c = read_kv(os.path.join(d, "checks.txt"))
    s = read_kv(os.path.join(d, "setup.txt"))

    def num(k, src=c):
        try:
            return int(src[k])
        except (KeyError, ValueError):
            return None
    active = num("active_flags", s)
    answers = num("answers")
    results = [
        ("answers for 1,000 persons, each with an organization", answers, 1000, answers == 1000),
        ("flags per answer, fewest (= the team's active flags)", num("min_flags"), active,
         active is not None and num("min_flags") == active),
        ("flags per answer, most", num("max_flags"), active, active is not None and num("max_flags") == active),
        ("answers with `errorsWhileComputingFlags` not false", num("answers_with_errors"), 0, num("answers_with_errors") == 0),
        ("flags with `failed: true`", num("failed_flags"), 0, num("failed_flags") == 0),
        ("`paid-plan` (stored person properties) differs from the same filter in SQL", num("paid_plan_disagreements"), 0,
         num("paid_plan_disagreements") == 0),
        ("`cohort-paying-adults` (dynamic cohort) differs from the cohort's filters in SQL", num("cohort_disagreements"), 0,
         num("cohort_disagreements") == 0),
        ("`cohort-beta-testers` (static cohort) differs from `cohort_members`", num("static_cohort_disagreements"), 0,
         num("static_cohort_disagreements") == 0),
        ("`org-gold` (stored group properties) differs from the same rule in SQL + `flag_bucket`",
         num("group_disagreements"), 0, num("group_disagreements") == 0),
    ]
    return c, results


def decide_plan_scans(out):
    """The scan nodes of the bare lookup's plan (EXPLAIN), and the scans of one decide() call: its
    transaction's statistics (pg_stat_xact_user_tables), as [(table, seq_scan, idx_scan)]."""
    d = os.path.join(out, "decide")
    scans = {}
    p = os.path.join(d, "plan_lookup.txt")
    if os.path.exists(p):
        with open(p) as f:
            text = f.read()
        found = []
        for m in re.finditer(r"((?:Parallel )?(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan|Bitmap Index Scan)"
                             r")(?: using (\S+))? on (\S+)", text):
            found.append(f"{m.group(1)} on {m.group(3)}" + (f" ({m.group(2)})" if m.group(2) else ""))
        scans["lookup"] = found
    p = os.path.join(d, "scans_decide.txt")
    if os.path.exists(p):
        with open(p) as f:
            rows = [line.strip().split("|") for line in f]
        scans["decide"] = [(r[0], int(r[1]), int(r[2])) for r in rows if len(r) == 3 and r[1].isdigit() and r[2].isdigit()]
    return scans


def decide_section(out, L):
    """Appends section 2; returns the verdict line (or None)."""
    d = os.path.join(out, "decide")
    if not open_section(L, "## 2. decide() in the database", d):
        return None
    s = read_kv(os.path.join(d, "setup.txt"))
    c, results = decide_checks(out)
    res = decide_results(out)
    rounds, round_seconds = s.get("rounds", "?"), s.get("round_seconds", "?")
    persons = int(s.get("persons", "0") or 0)
    clients = sorted({k[1] for k in res})
    L.append(f"`bench/own/decide_bench.sh`, in its own throw-away cluster with the settings above. One team "
             f"(`bench/inputs/sql/load_decide.sql`): {persons:,} persons in `flag_eval.persons` (the distributions of "
             f"section 1), each with one distinct id `user-<n>` in `flag_eval.person_distinct_ids` "
             f"({s.get('persons_size', '?')} and {s.get('distinct_ids_size', '?')} with their indexes), "
             f"{s.get('groups', '?')} organizations (group type 0), two dynamic cohorts and a static one "
             f"({s.get('static_cohort_members', '?')} members); loaded with `generate_series`, VACUUM ANALYZE, "
             f"prewarmed, in {s.get('load_seconds', '?')} s. {s.get('active_flags', '?')} active flags: 12 pure "
             f"rollouts (5–100 %), 27 property-filter flags (exact, is_not, icontains, not_icontains, "
             f"icontains_multi, starts_with, ends_with, regex, not_regex, gt, gte, lt, semver_gte/lt/caret/tilde, "
             f"is_set, is_not_set, is_date_before, is_date_after absolute and relative; up to 3 filters per set, "
             f"up to 3 sets), 6 multivariate flags with payloads, 2 on dynamic cohorts, 1 on the static cohort, "
             f"1 group flag, 1 that depends on two others.")
    L.append("")
    L.append(f"Each transaction picks a random person (`\\set id random(1, {persons})`), and for `decide()` a random "
             f"organization of the 1,000:")
    L.append("")
    L.append("```sql")
    L.append("-- bench/own/lookup.pgbench (the baseline)")
    L.append("SELECT p.properties FROM flag_eval.person_distinct_ids d JOIN flag_eval.persons p ON p.id = d.person_id")
    L.append(" WHERE d.team_id = 1 AND d.distinct_id = 'user-' || :id;")
    L.append("-- bench/own/decide.pgbench")
    L.append("SELECT flag_eval.decide('phc_bench', 'user-' || :id, groups => ('{\"organization\": \"org-' || :org || '\"}')::jsonb);")
    L.append("-- bench/own/decide_one_flag.pgbench (diagnostic): the same, with flag_keys => '{rollout-50}'")
    L.append("```")
    L.append("")
    L.append(f"Command: `pgbench -n -M prepared -T {round_seconds} -c C -j J -D persons={persons} "
             f"-f bench/own/<script>.pgbench -l`, {rounds} rounds, each round every client count and script in turn "
             f"(after 3 s of each script as a warm-up). pgbench "
             f"runs on the same machine as the server, so with {max(clients, default='?')} clients both share the CPUs. TPS is pgbench's "
             f"(without connection time), median (min–max) of the rounds; mean, p50, p90 and p99 come from the "
             f"per-transaction logs (`-l`, every transaction of every round, nearest rank), which include each connection's first `decide()`, which compiles "
             f"the team's flags. A `decide()` answer is {c.get('avg_body_bytes', '?')} bytes of JSON on average "
             f"(every flag with its reason and metadata); a bare lookup returns about "
             f"{len(s.get('sample_properties', ''))} bytes. One flag of an answer:")
    L.append("")
    L.append("```json")
    L.append(s.get("sample_flag", "?"))
    L.append("```")
    L.append("")
    L.append("Checks in this run (1,000 persons spread over the table, each with an organization):")
    L.append("")
    L.append("| check | value | expected | |")
    L.append("|---|--:|--:|---|")
    for label, a, b, ok in results:
        L.append(f"| {label} | {a if a is not None else '?'} | {b if b is not None else '?'} | {'ok' if ok else '**FAILED**'} |")
    L.append("")
    if c.get("reasons"):
        L.append(f"Over those 50,000 flag answers: {float(c.get('enabled_share', 'nan')) * 100:.1f} % enabled, "
                 f"{c.get('with_payload', '?')} with a payload; reasons {c.get('reasons')}.")
        L.append("")

    L.append("| script | clients / threads | transactions | TPS (min–max) | mean ms | p50 ms | p90 ms | p99 ms | "
             "mean latency / lookup's | lookup's TPS / TPS |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for cl in clients:
        base = res.get(("lookup", cl), {})
        for name, label in DECIDE_RUNS:
            r = res.get((name, cl))
            if not r:
                continue
            lat_ratio = f"{r['mean_ms'] / base['mean_ms']:.2f}" if "mean_ms" in r and "mean_ms" in base else ""
            tps_ratio = f"{base['tps'] / r['tps']:.2f}" if "tps" in r and "tps" in base and r["tps"] else ""

            def ms(k):
                return f"{r[k]:.3f}" if k in r else "?"
            L.append(f"| {label} | {r.get('clients', cl)} / {r.get('threads', '?')} | {r.get('transactions', 0):,} | "
                     f"{r.get('tps', 0):,.0f} ({r.get('tps_min', 0):,.0f}–{r.get('tps_max', 0):,.0f}) | {ms('mean_ms')} | {ms('p50_ms')} | {ms('p90_ms')} | {ms('p99_ms')} | "
                     f"{lat_ratio} | {tps_ratio} |")
    L.append("")

    scans = decide_plan_scans(out)
    if scans.get("decide") or scans.get("lookup"):
        decide_scans = scans.get("decide", [])
        seq = sum(x[1] for x in decide_scans)
        L.append("Scans in this run: the bare lookup's plan reads " + ", ".join(scans.get("lookup", [])) + "; "
                 "one `decide()` call (a person with an organization; the counts of its transaction in "
                 "`pg_stat_xact_user_tables`) makes index lookups on "
                 + ", ".join(f"{t} ({i})" for t, _, i in decide_scans if i)
                 + (" and no sequential scan." if seq == 0 else
                    ", and sequential scans on " + ", ".join(f"{t} ({q})" for t, q, _ in decide_scans if q) + ".")
                 + " `decide()` runs its lookups itself (index_beginscan), with no query plan.")
        L.append("")
    if os.path.exists(os.path.join(BENCH_DIR, "DECIDE_PROFILE.md")):
        L.append("Where `decide()`'s time goes (perf on the backend, server-side timings, pg_stat_statements): "
                 "[DECIDE_PROFILE.md](DECIDE_PROFILE.md).")
        L.append("")

    # verdict: the latency ratio with one client, the throughput ratio with the most clients
    parts, met = [], True
    if ("decide", 1) in res and ("lookup", 1) in res and "mean_ms" in res[("decide", 1)]:
        r, b = res[("decide", 1)], res[("lookup", 1)]
        ratio = r["mean_ms"] / b["mean_ms"]
        met &= ratio <= DECIDE_GOAL_RATIO
        parts.append(f"1 client: mean {r['mean_ms']:.3f} ms vs {b['mean_ms']:.3f} ms, ratio {ratio:.2f} "
                     f"(p99 {r['p99_ms']:.3f} vs {b['p99_ms']:.3f} ms)")
    top = max(clients) if clients else None
    if top and top != 1 and ("decide", top) in res and ("lookup", top) in res:
        r, b = res[("decide", top)], res[("lookup", top)]
        ratio = b["tps"] / r["tps"]
        met &= ratio <= DECIDE_GOAL_RATIO
        parts.append(f"{top} clients: {r['tps']:,.0f} TPS vs {b['tps']:,.0f}, ratio {ratio:.2f}")
    if not parts:
        return "- decide(): not measured."
    one = res.get(("decide_one", 1))
    extra = ""
    if one and "mean_ms" in one and ("lookup", 1) in res:
        extra = (f" With the answer limited to one flag (same lookups, all 50 flags evaluated), "
                 f"{one['mean_ms'] / res[('lookup', 1)]['mean_ms']:.2f} with 1 client.")
    return (f"- `decide()` (50 flags) within 2× the bare lookup by distinct id: {'**met**' if met else '**not met**'} — "
            + "; ".join(parts) + "." + extra)


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        _, results = checks(argv[2])
        _, decide = decide_checks(argv[2])
        return print_failed(results + decide + service.checks(argv[2]) + field_eval.checks(argv[2])
                            + unleash.checks(argv[2]) + preview.checks(argv[2]), "bench: CHECK FAILED: {}: {} vs {}")
    out = argv[1]
    machine = read_kv(os.path.join(out, "machine.txt"))
    setup = read_kv(os.path.join(out, "setup.txt"))
    persons = int(setup.get("persons", "1000000"))
    ctx, core = core_results(out)
    c, check_results = checks(out)

    L = []
    L.append("# flag_eval benchmarks")
    L.append("")
    L.append("Written by `bench/run.sh` (run it with `make bench`); every figure below comes from one run, and each "
             "ratio compares two figures of that same run. Not a test: `make test` never runs it.")
    L.append("")
    L.append("## Run")
    L.append("")
    L.append(f"- command: `make bench`")
    L.append(f"- date: {machine.get('date', '?')}, commit {machine.get('commit', '?')}, "
             f"whole run {machine.get('elapsed_seconds', '?')} s; load average {machine.get('loadavg_before', '?')} "
             f"before, {machine.get('loadavg_after', '?')} after (other work on the machine shows up as noise: "
             f"see the min–max and CV columns)")
    mem_gb = int(machine.get("memory_kb", "0")) / 1024 / 1024
    L.append(f"- machine: {machine.get('nproc', '?')} CPUs (`nproc`), {machine.get('cpu', '?')}, "
             f"{mem_gb:.1f} GiB memory, {machine.get('kernel', '?')}")
    L.append(f"- PostgreSQL {setup.get('server_version', '?')}, throw-away cluster (`scripts/with-temp-cluster.sh`): "
             f"shared_buffers = {setup.get('shared_buffers', '?')}, jit = {setup.get('jit', '?')}, autovacuum off, "
             f"wal_level = minimal; the table is prewarmed (`pg_prewarm`) so every scan reads shared buffers")
    L.append(f"- core benchmark: {machine.get('compiler', '?')}, `-O2`, Google Benchmark"
             + (f", {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz" if ctx else ""))
    L.append("")

    # ---- part 1 ----
    L.append("## 1. Population scan in PostgreSQL")
    L.append("")
    L.append(f"`persons(id bigint, distinct_id text, properties jsonb)`: {persons:,} rows generated by "
             f"`bench/inputs/sql/load_persons.sql` with `bench/inputs/sql/person_properties.sql` (hashes of the id; 8 properties: plan, country, age, email, app_version, "
             f"signed_up_at, is_beta, tags), {setup.get('table_size', '?')}, "
             f"{setup.get('avg_properties_bytes', '?')} bytes of jsonb per row on average, loaded in "
             f"{setup.get('load_seconds', '?')} s. One row:")
    L.append("")
    L.append("```json")
    L.append(setup.get("sample_properties", "?"))
    L.append("```")
    L.append("")
    L.append("The flag (`bench/inputs/flags/three_filters_50.json`): plan exact [\"pro\", \"enterprise\"], country exact "
             "\"US\", age gte 21, rollout 50 %. Its native equivalent (no bucketing):")
    L.append("")
    L.append("```sql")
    L.append("SELECT count(*) FROM persons WHERE flag_eval.flag_eval(:'flag'::jsonb, distinct_id, properties);")
    L.append("SELECT count(*) FROM persons")
    L.append(" WHERE lower(properties->>'plan') IN ('pro', 'enterprise') AND lower(properties->>'country') = 'us'")
    L.append("   AND (properties->>'age')::float8 >= 21;")
    L.append("```")
    L.append("")
    L.append("Each query: 1 warm-up + the measured runs (round-robin over the queries), `\\timing` in psql, "
             "median of the measured runs. ns / row = median time / rows scanned. \"Above the plain scan\" "
             "subtracts the `count(*)` scan, leaving the cost of the predicate alone.")
    L.append("")
    L.append("Same people selected (checked in this run):")
    L.append("")
    L.append("| check | value | expected | |")
    L.append("|---|--:|--:|---|")
    for label, a, b, ok in check_results:
        L.append(f"| {label} | {a if a is not None else '?'} | {b if b is not None else '?'} | {'ok' if ok else '**FAILED**'} |")
    L.append("")

    medians = {}
    for mode, title in (("serial", "Parallel query off (`max_parallel_workers_per_gather = 0`): the primary comparison"),
                        ("parallel", "Parallel query on (the default, `max_parallel_workers_per_gather = "
                                     f"{setup.get('max_parallel_workers_per_gather_default', '?')}`)")):
        path = os.path.join(out, f"timings_{mode}.txt")
        L.append(f"### {title}")
        L.append("")
        if not os.path.exists(path):
            L.append("not run")
            L.append("")
            continue
        timings = read_timings(path)
        runs = max((r for rows in timings.values() for r, _, _ in rows), default=0)
        plans = read_plans(os.path.join(out, f"plans_{mode}.txt"))
        medians[mode] = scan_table(timings, plans, persons, L)
        L.append("")
        L.append(f"({runs} measured runs per query.)")
        L.append("")
    field_medians, field_node = field_section(out, persons, c, L)

    # ---- part 2 ----
    decide_verdict = decide_section(out, L)
    preview_verdict = preview.section(out, L)

    # ---- part 3 ----
    L.append("## 3. Core evaluation (Google Benchmark)")
    L.append("")
    L.append("`build/bench/core_bench` (`bench/own/core_bench.cpp`): `flag_eval::evaluate_flag` with a "
             "`JsonPropertySource` and an `EvaluationContext` built per evaluation, over 1,024 precomputed persons "
             "in rotation (same distributions as the table above), the flags of `bench/inputs/flags/`. Median of "
             f"the repetitions; CV = coefficient of variation across them. (Google Benchmark prints \"Library was "
             f"built as DEBUG\": that is Debian's libbenchmark package, not this code, which is built with -O2.)")
    L.append("")
    core_medians = core_table(core, L) if core else {}
    if not core:
        L.append("not run")
    L.append("")
    field_eval.section(out, L)

    # ---- part 4 ----
    service.section(out, L)
    unleash_section = os.path.join(out, "unleash", "section.md")
    if os.path.exists(unleash_section):  # written by bench/field/unleash_bench.sh (bench/report/unleash.py)
        L.append(open(unleash_section).read().replace("## flag-decide against unleash-server",
                                                      "## 4b. flag-decide against unleash-server", 1))
        L.append("")

    # ---- part 5: SQL at scale, each part written whole by its script ----
    scale_parts = [os.path.join(out, folder, "section.md") for folder in SCALE_FOLDERS]
    scale_parts = [p for p in scale_parts if os.path.exists(p)]
    if scale_parts:
        L.append("## 5. SQL at scale")
        L.append("")
        L.append("What the planner does with a flag, and how populations grow past one server "
                 "(docs/scaling.md). Each part's script checks its own answers and fails the run when they differ.")
        L.append("")
        for path in scale_parts:
            L.append(open(path).read())

    # ---- verdicts ----
    L.append("## Verdicts")
    L.append("")
    s = medians.get("serial", {})
    if "flag_3f_50" in s and "native" in s:
        ratio = s["flag_3f_50"] / s["native"]
        met = "**met**" if ratio <= SCAN_GOAL_RATIO else "**not met**"
        par = medians.get("parallel", {})
        par_text = ""
        if "flag_3f_50" in par and "native" in par:
            par_text = f"; with parallel query on, {par['flag_3f_50'] / par['native']:.2f}"
        c_text = ""
        if "native_c" in s:
            c_text = (f"; against the stricter `COLLATE \"C\"` predicate ({fmt(s['native_c'])} ms), "
                      f"{s['flag_3f_50'] / s['native_c']:.2f}")
        L.append(f"- Population scan, `flag_eval` no slower than the native predicate (ratio ≤ 1.0): {met} — "
                 f"{fmt(s['flag_3f_50'])} ms vs {fmt(s['native'])} ms for {persons:,} rows, ratio {ratio:.2f} "
                 f"with parallel query off{par_text}{c_text}.")
    else:
        L.append("- Population scan: not measured.")
    par = medians.get("parallel", {})
    if "variant_aggregate" in par and "native" in par:
        ratio = par["variant_aggregate"] / par["native"]
        L.append(f"- Variant breakdown in parallel no slower than the native predicate (parallel query on): "
                 f"{'**met**' if ratio <= 1.0 else '**not met**'} — `flag_variant_counts` {fmt(par['variant_aggregate'])} ms "
                 f"vs {fmt(par['native'])} ms, ratio {ratio:.2f} (`GROUP BY flag_variant` stays serial: see the field table).")
    L.extend(field_verdicts(field_medians, field_node,
                            {m: read_plans(os.path.join(out, f"plans_{m}.txt")) for m in ("serial", "parallel")}))
    if "BM_Evaluate_3Filters_50pct" in core_medians:
        ns = core_medians["BM_Evaluate_3Filters_50pct"]
        met = "**met**" if ns < CORE_GOAL_NS else "**not met**"
        base = core_medians.get(CORE_BASELINE)
        base_text = f" ({ns / base:.2f}× the 3 bare lookups)" if base else ""
        L.append(f"- Core evaluation under 200 ns per evaluation (3-filter 50 % flag): {met} — {fmt(ns)} ns{base_text}.")
    else:
        L.append("- Core evaluation: not measured.")
    L.append(decide_verdict or "- decide(): not measured.")
    L.append(preview_verdict)
    if any(not r[3] for r in check_results + decide_checks(out)[1] + service.checks(out)
           + preview.checks(out)):
        L.append("- **Correctness checks FAILED** (see the checks table): the figures compare different work.")
    L.append("")
    if os.path.exists(os.path.join(BENCH_DIR, "PROFILE.md")):
        L.append("Where the time goes inside the backend, what three small changes to src/pg are worth, and why "
                 "`flag_eval`'s scan time moves between builds of the same source: [PROFILE.md](PROFILE.md) "
                 "(`bench/own/profile.sh`).")
        L.append("")
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
