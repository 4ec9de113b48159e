"""bench/report/unleash.py [--check] [--plots DIR] OUTDIR: the markdown section "flag-decide
against unleash-server" from the raw outputs of bench/field/unleash_bench.sh (OUTDIR/unleash/).

  (default)    prints the section: requests/s, p50, p90, p99 of each run, the ratios
               flag-decide/Unleash, the goal verdict (>= 3x the throughput and a lower p99), the
               CPU time per request of each part (the server, PostgreSQL, the PgBouncers, wrk), the
               database-stopped table, the plots, the flags Unleash cannot express
  --plots DIR  also draws DIR/unleash_latency_cdf.png and DIR/unleash_dbstop.png with gnuplot
  --check      exits 1 when a normal run of either side failed requests (HTTP >= 400, socket
               errors, timeouts) or a run is missing

Standard library only (Debian's /usr/bin/python3).
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

sys.dont_write_bytecode = True  # run alone, importing common must not leave bench/report/__pycache__
from common import print_failed, read_kv, wrk_result  # noqa: E402

RUNS = [("unleash", "Unleash GET /api/frontend"),
        ("decide_local", "flag-decide POST /flags?v=2, request properties (local)"),
        ("decide_stored", "flag-decide POST /flags?v=2, stored persons (reference)")]
DBSTOP_RUNS = [("dbstop_unleash", "Unleash", "primary"),
               ("dbstop_decide_local", "flag-decide, local", "primary + both standbys"),
               ("dbstop_decide_stored", "flag-decide, stored", "primary + both standbys")]
GOAL_RATIO = 3.0
# The server under test in each run: the key of its ticks in the CPU snapshots.
SERVER = {"unleash": "unleash", "decide_local": "decide", "decide_stored": "decide"}
PARTS = ("server", "postgres", "pgbouncer", "wrk")


def read_wrk(path):
    """wrk output -> {result: {...}, percentiles: [(p, us)], status: {second: {code: n}}}."""
    run = {"result": None, "percentiles": [], "status": defaultdict(dict)}
    if not os.path.exists(path):
        return run
    with open(path) as f:
        for line in f:
            if line.startswith("wrk_result "):
                run["result"] = wrk_result(line)
            elif line.startswith("wrk_percentile "):
                m = re.match(r"wrk_percentile p=([0-9.]+) us=(\d+)", line)
                run["percentiles"].append((float(m.group(1)), int(m.group(2))))
            elif line.startswith("wrk_status "):
                m = re.match(r"wrk_status second=(-?\d+) status=(\d+) count=(\d+)", line)
                run["status"][int(m.group(1))][int(m.group(2))] = int(m.group(3))
    return run


def failures(result):
    return int(sum(result.get(k, 0) for k in ("status_errors", "connect_errors", "read_errors",
                                               "write_errors", "timeouts")))


def read_samples(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ms(us):
    return f"{us / 1000:.2f}"


def cpu_usage(s, name):
    """CPUs busy on average during run `name`, by part, as bench/report/service.py's cpu_usage:
    {server, postgres, pgbouncer, wrk, machine, rest}; {} when a snapshot is missing. "rest" is the
    machine less the parts, so the server not under test counts there."""
    a = read_kv(os.path.join(s, f"cpu_{name}_before.txt"))
    b = read_kv(os.path.join(s, f"cpu_{name}_after.txt"))
    gen = read_kv(os.path.join(s, f"loadgen_{name}.txt"))
    needed = (SERVER[name], "pgbouncer", "postgres", "machine_busy", "machine_total", "clk_tck", "time_ns")
    if not all(k in a and k in b for k in needed):
        return {}
    wall = (int(b["time_ns"]) - int(a["time_ns"])) / 1e9
    tck = int(b["clk_tck"])
    nproc = int(read_kv(os.path.join(s, "setup.txt")).get("nproc", "1"))
    out = {part: (int(b[key]) - int(a[key])) / tck / wall
           for part, key in (("server", SERVER[name]), ("postgres", "postgres"), ("pgbouncer", "pgbouncer"))}
    if gen:
        out["wrk"] = (float(gen["user"]) + float(gen["system"])) / wall
    total = int(b["machine_total"]) - int(a["machine_total"])
    out["machine"] = (int(b["machine_busy"]) - int(a["machine_busy"])) / total * nproc if total > 0 else 0.0
    out["rest"] = max(0.0, out["machine"] - sum(out.get(k, 0.0) for k in PARTS))
    return out


def describe_samples(samples, stop_at, stop_done):
    """What the sampler saw before the stop began and after it ended: statuses, answers, digests."""
    def summary(rows):
        if not rows:
            return "no samples"
        statuses = defaultdict(int)
        for r in rows:
            statuses[r["status"]] += 1
        parts = [", ".join(f"{n}x {s if s else 'no answer'}" for s, n in sorted(statuses.items()))]
        ok = [r for r in rows if r["status"] == 200]
        if ok:
            digests = sorted({r["digest"] for r in ok})
            enabled = sorted({r["enabled"] for r in ok})
            parts.append(f"enabled {'/'.join(map(str, enabled))}")
            failed = sorted({r["failed"] for r in ok if r["failed"] is not None})
            if failed:
                parts.append(f"failed {'/'.join(map(str, failed))}")
            if any(r["errors"] for r in ok):
                parts.append("errorsWhileComputingFlags")
            parts.append(f"{len(digests)} distinct answer{'s' if len(digests) > 1 else ''}")
        return "; ".join(parts)
    before = [r for r in samples if r["t"] < stop_at]
    after = [r for r in samples if r["t"] >= stop_done]
    same = "-"
    # "same": every good answer after the stop is the one most often given before it
    ok_before = [r["digest"] for r in before if r["status"] == 200]
    ok_after = {r["digest"] for r in after if r["status"] == 200}
    if ok_before and ok_after:
        usual = max(set(ok_before), key=ok_before.count)
        same = "yes" if ok_after == {usual} else "no"
    return summary(before), summary(after), same


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def draw_plots(plot_dir, data_dir, runs, dbstops, events):
    os.makedirs(plot_dir, exist_ok=True)
    os.makedirs(data_dir, exist_ok=True)
    curves = []
    for name, label in RUNS:
        pts = runs[name]["percentiles"]
        if not pts:
            continue
        path = os.path.join(data_dir, f"{name}.dat")
        with open(path, "w") as f:
            for p, us in pts:
                f.write(f"{us / 1000:.3f} {p}\n")
        curves.append(f"'{path}' using 1:2 with linespoints title '{label}'")
    cdf = os.path.join(plot_dir, "unleash_latency_cdf.png")
    gnuplot(f"""set terminal png size 900,540
set output '{cdf}'
set title 'Latency CDF at the same wrk concurrency (percentiles 1 .. 99.9)'
set xlabel 'latency (ms, log scale)'
set ylabel 'percentile'
set logscale x
set key bottom right
set grid
plot {', '.join(curves)}
""")
    curves = []
    for name, label, _ in DBSTOP_RUNS:
        status = dbstops[name]["status"]
        if not status:
            continue
        path = os.path.join(data_dir, f"{name}_ok.dat")
        with open(path, "w") as f:
            for second in sorted(status):
                ok = sum(n for code, n in status[second].items() if code < 400)
                bad = sum(n for code, n in status[second].items() if code >= 400)
                f.write(f"{second} {ok} {bad}\n")
        curves.append(f"'{path}' using 1:2 with linespoints title '{label}: HTTP < 400'")
        curves.append(f"'{path}' using 1:3 with points title '{label}: HTTP >= 400'")
    stop_lines = "\n".join(
        f"set arrow from {events[n]},graph 0 to {events[n]},graph 1 nohead dashtype 2"
        for n, _, _ in DBSTOP_RUNS if n in events)
    dbstop = os.path.join(plot_dir, "unleash_dbstop.png")
    gnuplot(f"""set terminal png size 900,540
set output '{dbstop}'
set title 'Answers per second with the database stopped (dashed: the stop)'
set xlabel 'second of the run'
set ylabel 'answers per second (log scale)'
set logscale y
set key outside bottom center
set grid
{stop_lines}
plot {', '.join(curves)}
""")
    return cdf, dbstop


def checks(outdir):
    """(label, value, expected, ok) for each normal run: it exists and no request failed (as the
    other sections' checks, so bench/report/report.py --check gathers them all)."""
    s = os.path.join(outdir, "unleash")
    rows = []
    for name, label in RUNS:
        result = read_wrk(os.path.join(s, f"{name}.txt"))["result"]
        if result is None:
            rows.append((f"4b {label}: wrk result", "missing", "present", False))
        else:
            n = failures(result)
            rows.append((f"4b {label}: failed of {int(result['requests'])} requests", n, 0,
                         n == 0 and result["requests"] > 0))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--plots")
    args = parser.parse_args()
    s = os.path.join(args.outdir, "unleash")
    runs = {name: read_wrk(os.path.join(s, f"{name}.txt")) for name, _ in RUNS}
    dbstops = {name: read_wrk(os.path.join(s, f"{name}.txt")) for name, _, _ in DBSTOP_RUNS}

    if args.check:
        return print_failed(checks(args.outdir), "bench/report/unleash.py: {}: {} (expected {})")

    setup = read_kv(os.path.join(s, "setup.txt"))
    events, stop_done = {}, {}
    for name, _, _ in DBSTOP_RUNS:
        path = os.path.join(s, f"{name}_events.txt")
        if os.path.exists(path):
            kv = read_kv(path)
            events[name] = float(kv["stopped_at_s"])
            stop_done[name] = float(kv["stop_done_at_s"])
    translation_all = json.load(open(os.path.join(s, "translation_all.json")))
    translation = json.load(open(os.path.join(s, "translation.json")))

    out = []
    w = out.append
    w("## flag-decide against unleash-server\n")
    w(f"Run {setup.get('date', '?')}, commit {setup.get('commit', '?')}; reproduce with `make bench`, or "
      "`bench/field/unleash_bench.sh` alone (it prints this section).\n")
    w(f"unleash-server {setup.get('unleash_version')} (npm, Node {setup.get('node_version')}) and flag-decide "
      f"on one machine ({setup.get('nproc')} CPUs), Unleash's database on the same PostgreSQL "
      f"{setup.get('server_version')} primary as flag-decide's topology. "
      f"wrk -t {setup.get('threads')} -c {setup.get('connections')} -d {setup.get('seconds')}s after a "
      f"{setup.get('warmup_seconds')} s warm-up, one run after the other "
      f"(machine {setup.get('busy_share_before')}% busy before). Both sides evaluate the "
      f"{len(translation['flags'])} flags of team phc_bench_local (the sample flags that need nothing "
      f"stored, {setup.get('local_active_flags')} active) for subjects `visitor-<n>` whose properties come "
      "with the request: Unleash's frontend API takes them in the query string, flag-decide in the "
      "body. Unleash answers only the enabled toggles; flag-decide every flag, with reasons and "
      "payloads.\n")
    w("| run | requests/s | p50 ms | p90 ms | p99 ms | max ms | failed |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for name, label in RUNS:
        r = runs[name]["result"]
        if r is None:
            w(f"| {label} | missing | | | | | |")
            continue
        w(f"| {label} | {r['rps']:.0f} | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | "
          f"{ms(r['max_us'])} | {failures(r)} |")
    u, d = runs["unleash"]["result"], runs["decide_local"]["result"]
    if u and d:
        rps_ratio = d["rps"] / u["rps"]
        w("")
        w(f"flag-decide (local) / Unleash: **{rps_ratio:.1f}x** the requests per second; latency "
          f"p50 {d['p50_us'] / u['p50_us']:.2f}x, p90 {d['p90_us'] / u['p90_us']:.2f}x, "
          f"p99 {d['p99_us'] / u['p99_us']:.2f}x of Unleash's.")
        met = rps_ratio >= GOAL_RATIO and d["p99_us"] < u["p99_us"]
        w(f"Goal (at least {GOAL_RATIO:.0f}x the throughput with a lower p99): **{'met' if met else 'not met'}** "
          f"({d['rps']:.0f} against {u['rps']:.0f} requests/s = {rps_ratio:.1f}x; p99 {ms(d['p99_us'])} "
          f"against {ms(u['p99_us'])} ms).\n")

    if args.plots:
        cdf, dbstop_png = draw_plots(args.plots, os.path.join(s, "plot_data"), runs, dbstops, events)
        w(f"![latency CDF](plots/{os.path.basename(cdf)})\n")

    w("### CPU time per request\n")
    w("CPUs busy on average during each run (`/proc/<pid>/stat` right before and after it, as in section 4), "
      "divided by its requests/s: the server under test (unleash-server's node process and its children in "
      "Unleash's run, flag-decide in the others), PostgreSQL (the topology's three clusters with the "
      "processes their postmasters run, Unleash's queries on the primary included), both PgBouncers, wrk "
      "(from `/usr/bin/time`); \"rest\" is the machine's busy time from `/proc/stat` less these parts (the "
      "idle server, other work on this shared machine, the kernel outside these processes). "
      f"{setup.get('nproc', '?')} CPUs in all.\n")
    w("| run | requests/s | server µs | PostgreSQL µs | PgBouncers µs | wrk µs | parts µs | rest µs | "
      "whole machine, CPUs busy |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    per_request = {}  # run -> {part: µs of CPU per request}
    for name, label in RUNS:
        r, u = runs[name]["result"], cpu_usage(s, name)
        if r is None or not u or not r["rps"]:
            w(f"| {label} | missing | | | | | | | |")
            continue
        us = per_request[name] = {k: u.get(k, 0.0) / r["rps"] * 1e6 for k in PARTS + ("rest",)}
        w(f"| {label} | {r['rps']:.0f} | " + " | ".join(f"{us[k]:.0f}" for k in PARTS)
          + f" | {sum(us[k] for k in PARTS):.0f} | {us['rest']:.0f} | {u['machine']:.2f} |")
    if "unleash" in per_request and "decide_local" in per_request:
        pu, pd = per_request["unleash"]["server"], per_request["decide_local"]["server"]
        w("")
        w(f"unleash-server spends {pu:.0f} µs of CPU per request, flag-decide (local) {pd:.0f} µs: "
          f"**{pu / pd:.1f}x** as much.")
    w("")

    w(f"### The database stopped mid-run\n")
    w(f"Each run lasts {setup.get('dbstop_seconds')} s (wrk at the same concurrency, counting answers "
      "per status); a third of the way in, `pg_ctl stop -m immediate` stops the database. A sampler asks "
      "about one fixed subject every 100 ms and records what the answers contain (before: until the stop "
      "began; after: once pg_ctl returned).\n")
    w("| run | stopped | wrk before: answers/s, HTTP >= 400 | after | sampler before the stop | after the stop | same answer after |")
    w("|---|---|---|---|---|---|---|")
    for name, label, stopped in DBSTOP_RUNS:
        run = dbstops[name]
        if not run["status"] or name not in events:
            w(f"| {label} | {stopped} | missing | | | | |")
            continue
        stop_at = events[name]
        seconds = sorted(run["status"])
        def rate(sel):
            secs = [sec for sec in seconds if sel(sec)]
            ok = sum(n for sec in secs for code, n in run["status"][sec].items() if code < 400)
            bad = sum(n for sec in secs for code, n in run["status"][sec].items() if code >= 400)
            return f"{ok / max(len(secs), 1):.0f}/s, {bad}"
        # whole seconds only: the one with the stop in it belongs to neither side
        before = rate(lambda sec: sec + 1 <= stop_at)
        after = rate(lambda sec: sec >= stop_at + 1 and sec < seconds[-1])
        sb, sa, same = describe_samples(read_samples(os.path.join(s, f"{name}_samples.jsonl")), stop_at, stop_done[name])
        r = run["result"] or {}
        extra = f" (+{int(r.get('connect_errors', 0) + r.get('read_errors', 0) + r.get('timeouts', 0))} socket errors/timeouts)" \
            if r and (r.get('connect_errors', 0) + r.get('read_errors', 0) + r.get('timeouts', 0)) else ""
        w(f"| {label} | {stopped} at {stop_at:.1f} s | {before} | {after}{extra} | {sb} | {sa} | {same} |")
    if args.plots:
        w(f"\n![answers per second with the database stopped](plots/{os.path.basename(dbstop_png)})\n")

    w("### Flags Unleash cannot express as PostHog does\n")
    w("`bench/field/unleash/translate_flags.mjs` maps each condition set to a flexibleRollout strategy "
      "(rollout %, stickiness userId or the group type, groupId = the flag key) with constraints, "
      "multivariate flags to strategy variants, payloads to variant payloads. Every rollout buckets "
      "with Unleash's murmur3 instead of xxh3/sha1: the same share of subjects, not the same subjects. "
      f"Of the {len(translation_all['flags'])} sample flags (team phc_demo; the benchmark uses the "
      f"{len(translation['flags'])} of phc_bench_local):\n")
    for level in ("not equivalent", "approximate"):
        flags = [f for f in translation_all["flags"] if f["level"] == level]
        w(f"- **{level}** ({len(flags)}):")
        for f in flags:
            w(f"  - `{f['key']}`: {'; '.join(f['notes'])}")
    eq = [f["key"] for f in translation_all["flags"] if f["level"] == "equivalent"]
    w(f"- **equivalent** ({len(eq)}): {', '.join(f'`{k}`' for k in eq)}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
