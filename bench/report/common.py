"""What the modules of bench/report/ share (report.py, preview.py, field_eval.py, service.py,
unleash.py): reading the key=value files the benchmark scripts write, and nearest-rank percentiles.
Standard library only (Debian's /usr/bin/python3)."""
import os

# bench/: where RESULTS.md and the profiles it links to (PROFILE.md, DECIDE_PROFILE.md) live
BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def percentile(sorted_values, p):
    """Nearest-rank percentile p (0-100) of an ascending list; None when it is empty."""
    if not sorted_values:
        return None
    k = -(-len(sorted_values) * p // 100) - 1
    return sorted_values[int(max(0, min(len(sorted_values) - 1, k)))]
