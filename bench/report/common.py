"""What the modules of bench/report/ share (report.py, preview.py, field_eval.py, service.py,
unleash.py), each defined here once: reading what the benchmark scripts write (key=value files,
JSON, pgbench's summary and -l logs, wrk's result line, Google Benchmark's JSON), nearest-rank
percentiles, number formatting, a section's opening and the --check output.
Standard library only (Debian's /usr/bin/python3)."""
import json
import os
import re
import sys

# bench/: where RESULTS.md and the profiles it links to (PROFILE.md, DECIDE_PROFILE.md) live
BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- key=value files and JSON ----

def read_kv(path):
    """{key: value} of a file of key=value lines, both sides stripped; other lines are skipped,
    and a file that does not exist reads as {}."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                out[key.strip()] = value.strip()
    return out


def read_kv_all(path):
    """[(key, value)] of a key=value file, repeated keys kept."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [tuple(x.strip() for x in line.split("=", 1)) for line in f if "=" in line]


def read_json(path):
    """The JSON document in path, None when the file does not exist."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


# ---- pgbench ----

def read_pgbench(path):
    """tps, transactions, failed, clients, threads, latency_average_ms from pgbench's summary;
    {} when the file does not exist."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        text = f.read()
    for key, pattern, conv in (("tps", r"^tps = ([0-9.]+)", float),
                               ("transactions", r"^number of transactions actually processed: (\d+)", int),
                               ("failed", r"^number of failed transactions: (\d+)", int),
                               ("clients", r"^number of clients: (\d+)", int),
                               ("threads", r"^number of threads: (\d+)", int),
                               ("latency_average_ms", r"^latency average = ([0-9.]+) ms", float)):
        m = re.search(pattern, text, re.M)
        if m:
            out[key] = conv(m.group(1))
    return out


def read_latencies(directory):
    """Per-transaction latencies in microseconds from the pgbench -l logs in directory (field 3 of
    each line: client, transaction, latency, ...), file by file in name order; [] when it does not
    exist."""
    lat = []
    if not os.path.isdir(directory):
        return lat
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    lat.append(int(fields[2]))
    return lat


def percentile(sorted_values, p):
    """Nearest-rank percentile p (0-100) of an ascending list; None when it is empty."""
    if not sorted_values:
        return None
    k = -(-len(sorted_values) * p // 100) - 1
    return sorted_values[int(max(0, min(len(sorted_values) - 1, k)))]


def latency_summary_ms(sorted_us):
    """{mean_ms, p50_ms, p90_ms, p99_ms} of an ascending, non-empty list of latencies in µs."""
    out = {"mean_ms": sum(sorted_us) / len(sorted_us) / 1000}
    for p in (50, 90, 99):
        out[f"p{p}_ms"] = percentile(sorted_us, p) / 1000
    return out


# ---- wrk ----

def wrk_result(line):
    """{key: float} of the 'wrk_result key=value ...' line the wrk scripts print
    (bench/inputs/wrk/subjects.lua, print_result); None for any other line."""
    if not line.startswith("wrk_result "):
        return None
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}


# ---- Google Benchmark (build/bench/core_bench's JSON) ----

TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def benchmark_ns(b):
    """A Google Benchmark entry's real time in ns."""
    return b["real_time"] * TIME_UNIT_NS[b.get("time_unit", "ns")]


def core_benchmarks(data):
    """{benchmark: {"median": entry, "cv": entry, "runs": [entry, ...]}} of core_bench's JSON:
    each repetition under "runs", the median and cv aggregates under their names (either may be
    missing: a single repetition has no aggregates)."""
    res = {}
    for b in (data or {}).get("benchmarks", []):
        r = res.setdefault(b.get("run_name") or b["name"], {})
        agg = b.get("aggregate_name")
        if b.get("run_type") != "aggregate":
            r.setdefault("runs", []).append(b)
        elif agg in ("median", "cv"):
            r[agg] = b
    return res


def median_high(values, key=None):
    """The middle one of values ordered by key (the upper of the two middles for an even count);
    None when empty. For the repetitions of a benchmark without its median aggregate."""
    values = sorted(values, key=key)
    return values[len(values) // 2] if values else None


# ---- formatting and the report's frame ----

def fmt(x, digits=1):
    """x with thousands separators and digits decimals: 12,345.6."""
    return f"{x:,.{digits}f}"


def open_section(L, heading, directory, missing="not run"):
    """Appends the heading to the lines L; when the section's raw outputs (directory) are missing,
    also the line missing, and returns False."""
    L.append(heading)
    L.append("")
    if os.path.isdir(directory):
        return True
    L.append(missing)
    L.append("")
    return False


def print_failed(rows, line):
    """--check: prints line.format(label, value, expected) to stderr for each failed row
    (label, value, expected, ok); returns the exit status, 1 when any failed."""
    failed = [r for r in rows if not r[3]]
    for r in failed:
        print(line.format(*r[:3]), file=sys.stderr)
    return 1 if failed else 0
