"""What bench/'s report generators share (report.py, service_report.py, unleash_report.py):
reading the key=value files the benchmark scripts write, and nearest-rank percentiles.
Standard library only (Debian's /usr/bin/python3)."""
import os


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
