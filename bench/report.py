#!/usr/bin/python3
"""Turns the raw outputs of bench/run.sh into bench/RESULTS.md.

    report.py OUTDIR           prints RESULTS.md
    report.py --check OUTDIR   exits 1 when the correctness checks failed

Standard library only (Debian's /usr/bin/python3).
"""
import json
import os
import re
import statistics
import sys

CORE_GOAL_NS = 200.0
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


def read_kv(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    return out


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
    ]
    return c, results


def fmt(x, digits=1):
    return f"{x:,.{digits}f}"


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
    path = os.path.join(out, "core.json")
    if not os.path.exists(path):
        return None, {}
    with open(path) as f:
        data = json.load(f)
    res = {}
    for b in data.get("benchmarks", []):
        name = b.get("run_name") or b["name"]
        agg = b.get("aggregate_name")
        if b.get("run_type") == "aggregate" and agg in ("median", "cv"):
            res.setdefault(name, {})[agg] = b
        elif b.get("run_type") != "aggregate":
            res.setdefault(name, {}).setdefault("runs", []).append(b)
    return data.get("context", {}), res


def core_table(res, lines):
    b = res.get(CORE_BASELINE, {})
    base = b.get("median") or (b["runs"][len(b["runs"]) // 2] if b.get("runs") else None)
    lines.append("| benchmark | median ns / evaluation | min ns | CV | ratio to 3 lookups | ratio to the goal (200 ns) | enabled share |")
    lines.append("|---|--:|--:|--:|--:|--:|--:|")
    medians = {}
    for name, label in CORE:
        r = res.get(name, {})
        m = r.get("median") or (r["runs"][len(r["runs"]) // 2] if r.get("runs") else None)
        if not m:
            lines.append(f"| {label} | not run | | | | | |")
            continue
        unit = m.get("time_unit", "ns")
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
        ns = m["real_time"] * scale
        medians[name] = ns
        cv = r.get("cv")
        cv_text = f"{cv['real_time'] * 100:.1f} %" if cv else ""
        base_ns = base["real_time"] * {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[base.get("time_unit", "ns")] if base else None
        ratio = f"{ns / base_ns:.2f}" if base_ns else ""
        share = m.get("enabled_share")
        share_text = f"{share * 100:.1f} %" if share is not None and name.startswith("BM_Evaluate") else ""
        runs = r.get("runs", [])
        min_text = fmt(min(x["real_time"] for x in runs) * scale) if runs else ""
        lines.append(f"| {label} | {fmt(ns)} | {min_text} | {cv_text} | {ratio} | {ns / CORE_GOAL_NS:.2f} | {share_text} |")
    return medians


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        _, results = checks(argv[2])
        failed = [r for r in results if not r[3]]
        for r in failed:
            print(f"bench: CHECK FAILED: {r[0]}: {r[1]} vs {r[2]}", file=sys.stderr)
        return 1 if failed else 0
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
             f"`bench/sql/load_persons.sql` (hashes of the id; 8 properties: plan, country, age, email, app_version, "
             f"signed_up_at, is_beta, tags), {setup.get('table_size', '?')}, "
             f"{setup.get('avg_properties_bytes', '?')} bytes of jsonb per row on average, loaded in "
             f"{setup.get('load_seconds', '?')} s. One row:")
    L.append("")
    L.append("```json")
    L.append(setup.get("sample_properties", "?"))
    L.append("```")
    L.append("")
    L.append("The flag (`bench/flags/three_filters_50.json`): plan exact [\"pro\", \"enterprise\"], country exact "
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

    # ---- part 2 ----
    L.append("## 2. Core evaluation (Google Benchmark)")
    L.append("")
    L.append("`build/bench/core_bench` (`bench/core_bench.cpp`): `flag_eval::evaluate_flag` with a "
             "`JsonPropertySource` and an `EvaluationContext` built per evaluation, over 1,024 precomputed persons "
             "in rotation (same distributions as the table above), the flags of `bench/flags/`. Median of "
             f"the repetitions; CV = coefficient of variation across them. (Google Benchmark prints \"Library was "
             f"built as DEBUG\": that is Debian's libbenchmark package, not this code, which is built with -O2.)")
    L.append("")
    core_medians = core_table(core, L) if core else {}
    if not core:
        L.append("not run")
    L.append("")

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
    if "BM_Evaluate_3Filters_50pct" in core_medians:
        ns = core_medians["BM_Evaluate_3Filters_50pct"]
        met = "**met**" if ns < CORE_GOAL_NS else "**not met**"
        base = core_medians.get(CORE_BASELINE)
        base_text = f" ({ns / base:.2f}× the 3 bare lookups)" if base else ""
        L.append(f"- Core evaluation under 200 ns per evaluation (3-filter 50 % flag): {met} — {fmt(ns)} ns{base_text}.")
    else:
        L.append("- Core evaluation: not measured.")
    if any(not r[3] for r in check_results):
        L.append("- **Correctness checks FAILED** (see the checks table): the figures compare different work.")
    L.append("")
    if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "PROFILE.md")):
        L.append("Where the time goes inside the backend, what three small changes to src/pg are worth, and why "
                 "`flag_eval`'s scan time moves between builds of the same source: [PROFILE.md](PROFILE.md) "
                 "(`bench/profile.sh`).")
        L.append("")
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
