#!/usr/bin/python3
"""Renders bench/field/field_eval.sh's results: flag_eval's core against posthog-node and flagd-core.

    field_eval.py OUTDIR           prints the markdown section
    field_eval.py --check OUTDIR   exits 1 when a correctness check failed

bench/report/report.py includes section() in RESULTS.md and checks() in its own --check.
Standard library only (Debian's /usr/bin/python3).
"""
import os
import sys

sys.dont_write_bytecode = True  # run alone, importing common must not leave bench/report/__pycache__
from common import benchmark_ns, core_benchmarks, fmt, median_high, print_failed, read_json, read_kv  # noqa: E402

# shape, flag file, the rule in words, flag_eval's core benchmark (SHA-1, as posthog-node hashes),
# the same flag with flag_eval's default bucketing (xxh3) where the flag does not name its own
SHAPES = [
    ("static", "static.json", "on for everyone, no filters", "BM_Evaluate_Static", None),
    ("three_filters_50", "three_filters_50.json", "plan exact [pro, enterprise], country exact US, age gte 21, 50 %",
     "BM_Evaluate_3Filters_50pct_Sha1", "BM_Evaluate_3Filters_50pct"),
    ("regex", "regex.json", "email regex `^[^@]+@(example|posthog)\\.com$`, 50 %", "BM_Evaluate_Regex", None),
    ("multivariate", "multivariate.json", "3 variants 34/33/33 with a payload", "BM_Evaluate_Multivariate_Sha1",
     "BM_Evaluate_Multivariate"),
]


def field_dir(out):
    return os.path.join(out, "field")


def core_timings(out):
    """{benchmark: {median, min, cv}} in ns from core_bench's JSON: bench/run.sh's OUTDIR/core.json,
    or OUTDIR/field/core.json when field_eval.sh ran alone."""
    data = read_json(os.path.join(field_dir(out), "core.json")) or read_json(os.path.join(out, "core.json")) or {}
    res = {}
    for name, b in core_benchmarks(data).items():
        r = res[name] = {"runs": [benchmark_ns(x) for x in b.get("runs", [])]}
        if "median" in b:
            r["median"] = benchmark_ns(b["median"])
        elif r["runs"]:
            r["median"] = median_high(r["runs"])
        if "cv" in b:
            r["cv"] = b["cv"]["real_time"]  # a fraction, not a time
        if r["runs"]:
            r["min"] = min(r["runs"])
    return res


def checks(out):
    """[(label, value, expected, ok)]; empty when bench/field/field_eval.sh did not run."""
    node = read_json(os.path.join(field_dir(out), "node.json"))
    if node is None:
        return []
    results = []
    for shape, *_ in SHAPES:
        s = node["shapes"].get(shape)
        if s is None:
            results.append((f"{shape}: evaluated in node", "missing", "present", False))
            continue
        ph, fd = s["posthog_node"]["agreement"], s["flagd_core"]["agreement"]
        results.append((f"{shape}: persons posthog-node answers differently from flag_eval", ph["disagreements"], 0,
                        ph["disagreements"] == 0))
        results.append((f"{shape}: persons posthog-node cannot decide locally where flag_eval's filters matched",
                        ph["undecided_elsewhere"], 0, ph["undecided_elsewhere"] == 0))
        results.append((f"{shape}: persons flag_eval's filters exclude that flagd-core's targeting includes",
                        fd["excluded_by_filters"] - fd["excluded_alike"], 0,
                        fd["excluded_by_filters"] == fd["excluded_alike"]))
    return results


def fmt_ns(x):
    if x is None:
        return "?"
    return fmt(x, 0) if x >= 100 else fmt(x)


def timing_cell(t):
    """'median (min–max), CV' of a node timing."""
    if not t:
        return "not run"
    return f"{fmt_ns(t['median_ns'])} ({fmt_ns(t['min_ns'])}–{fmt_ns(t['max_ns'])}), {t['cv'] * 100:.0f} %"


def ratio(a, b):
    return fmt(a / b) if a and b else ""


def shares_text(shares):
    return ", ".join(f"{k} {v * 100:.1f} %" for k, v in sorted(shares.items()))


def section(out, L):
    """Appends the section to the list of lines L."""
    L.append("### Against the field: posthog-node and flagd-core (same shapes, same persons)")
    L.append("")
    node = read_json(os.path.join(field_dir(out), "node.json"))
    if node is None:
        L.append("not run (`bench/field/field_eval.sh`)")
        L.append("")
        return
    core = core_timings(out)
    settings = node["settings"]
    pk = node["packages"]
    elapsed = read_kv(os.path.join(field_dir(out), "elapsed.txt"))
    L.append(f"`bench/field/field_eval.sh` (`bench/field/node/field_eval.mjs`, node {node['node']}): the same four flag shapes "
             f"evaluated by flag_eval's core (Google Benchmark, above), by posthog-node {pk['posthog-node']} local "
             f"evaluation and by `@openfeature/flagd-core` {pk['@openfeature/flagd-core']} (flagd's in-process "
             f"evaluator: JsonLogic targeting compiled to a function), over the same {settings['persons']:,} persons "
             f"(`core_bench --dump_field` writes them and flag_eval's answers; node reads both). flag_eval uses "
             f"SHA-1 bucketing here, the hash posthog-node uses, so both must give the same answer for every person.")
    L.append("")
    L.append(f"- posthog-node: `{node['posthog_path']}`; it is the public per-flag call (deprecated in this version "
             f"in favour of `evaluateFlags`, which evaluates every flag), it sends nothing. It hashes with WebCrypto "
             f"(`crypto.subtle.digest`, asynchronous, on libuv's thread pool), even at 100 %: its figures are mostly the wait for "
             f"that thread pool, and move with the machine's load far more than the others. It is timed two ways: "
             f"*sequential*, each evaluation awaited before the next (a handler that needs the answer to go on), and "
             f"*concurrent*, 1,024 evaluations in flight then awaited together (throughput).")
    L.append("- flagd-core: `FlagdCore.resolveBooleanEvaluation` / `resolveStringEvaluation` with rules written in "
             "flagd's JsonLogic (`bench/field/node/flagd_rules.mjs`), the evaluation context built once per person. flagd's "
             "`fractional` hashes with murmurhash3, so it puts the same share of persons in each bucket but not the "
             "same persons: it is compared by the share of persons answered alike, and by whether its targeting "
             "excludes the persons flag_eval's filters exclude (that part involves no hash).")
    L.append(f"- node timing: `process.hrtime.bigint()` around a batch of evaluations, persons in rotation, each "
             f"result folded into a checksum; {settings['warmup_seconds']} s of warm-up per evaluator, then "
             f"{settings['repetitions']} repetitions of about {settings['seconds']} s each, interleaved across "
             f"evaluators; median (min–max) of the repetitions and CV. flag_eval: the core benchmark's median and CV.")
    L.append("")
    L.append("| shape | rule (`bench/inputs/flags/`) | flagd-core's rule |")
    L.append("|---|---|---|")
    for shape, file, rule, _, _ in SHAPES:
        s = node["shapes"].get(shape, {})
        L.append(f"| {shape} | `{file}`: {rule} | {s.get('flagd_equivalent', '?')} |")
    L.append("")
    L.append("ns per evaluation; ratios to flag_eval's core (SHA-1) in this run:")
    L.append("")
    L.append("| shape | flag_eval core, SHA-1 (CV) | flag_eval core, xxh3 | posthog-node sequential (min–max), CV | "
             "posthog-node concurrent (min–max), CV | flagd-core (min–max), CV | posthog-node seq. / flag_eval | "
             "posthog-node conc. / flag_eval | flagd-core / flag_eval |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for shape, _, _, bench, xxh3_bench in SHAPES:
        s = node["shapes"].get(shape)
        if s is None:
            L.append(f"| {shape} | not run | | | | | | | |")
            continue
        c = core.get(bench, {})
        base = c.get("median")
        base_text = f"{fmt_ns(base)} ({c['cv'] * 100:.1f} %)" if base and "cv" in c else fmt_ns(base)
        xxh3 = core.get(xxh3_bench, {}).get("median") if xxh3_bench else None
        xxh3_text = fmt_ns(xxh3) if xxh3 else "(same flag: SHA-1)" if not xxh3_bench else "?"
        ph, fd = s["posthog_node"]["timing"], s["flagd_core"]["timing"]
        seq, conc, sync = ph.get("sequential"), ph.get("concurrent"), fd.get("sync")
        L.append(f"| {shape} | {base_text} | {xxh3_text} | {timing_cell(seq)} | {timing_cell(conc)} | "
                 f"{timing_cell(sync)} | {ratio(seq and seq['median_ns'], base)} | "
                 f"{ratio(conc and conc['median_ns'], base)} | {ratio(sync and sync['median_ns'], base)} |")
    L.append("")
    L.append("Answers, person by person, against flag_eval's:")
    L.append("")
    L.append("| shape | posthog-node: alike / undecided / different | flagd-core: share alike | "
             "flagd-core: excluded by the filters, also off | values, flag_eval | values, flagd-core |")
    L.append("|---|--:|--:|--:|---|---|")
    answers = read_json(os.path.join(field_dir(out), "flag_eval_answers.json")) or {"shapes": {}}
    for shape, *_ in SHAPES:
        s = node["shapes"].get(shape)
        if s is None:
            continue
        ph, fd = s["posthog_node"]["agreement"], s["flagd_core"]["agreement"]
        fe_shares = {}
        for a in answers["shapes"].get(shape, []):
            v = str(a["variant"]) if a["enabled"] and a["variant"] else "true" if a["enabled"] else "false"
            fe_shares[v] = fe_shares.get(v, 0) + 1 / len(answers["shapes"][shape])
        L.append(f"| {shape} | {ph['alike']} / {ph['undecided']} / {ph['disagreements']} | "
                 f"{fd['alike'] / fd['persons'] * 100:.1f} % | {fd['excluded_alike']} of {fd['excluded_by_filters']} | "
                 f"{shares_text(fe_shares)} | {shares_text(fd['value_shares'])} |")
    L.append("")
    undecided = sum(node["shapes"][s]["posthog_node"]["agreement"]["undecided"] for s, *_ in SHAPES if s in node["shapes"])
    if undecided:
        L.append(f"posthog-node leaves {undecided} answer(s) undecided: a person without a property a filter names "
                 f"(`age`, missing for about 10 % of persons) makes its local evaluation inconclusive, and with "
                 f"`onlyEvaluateLocally` it returns `undefined` (without it, it would ask the server, whose answer "
                 f"is `false`, flag_eval's). Those evaluations include the thrown and caught exception.")
        L.append("")
    failed = [r for r in checks(out) if not r[3]]
    L.append("Checks: " + ("all passed (posthog-node never answers differently from flag_eval; flagd-core's "
                          "targeting excludes everyone flag_eval's filters exclude)." if not failed else
                          "**FAILED**: " + "; ".join(f"{r[0]}: {r[1]} (expected {r[2]})" for r in failed) + "."))
    L.append("")
    if elapsed.get("elapsed_seconds"):
        L.append(f"`bench/field/field_eval.sh` took {elapsed['elapsed_seconds']} s of this run.")
        L.append("")


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        return print_failed(checks(argv[2]), "bench: CHECK FAILED: {}: {} vs {}")
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    L = []
    section(argv[1], L)
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
