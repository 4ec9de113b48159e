"""bench/field/unleash/sample_answers.py: one request every INTERVAL seconds for SECONDS seconds, one JSON
line per answer on stdout: {"t": seconds since --epoch (default: its own start), "status": HTTP status or 0 when no answer,
"ms": latency, "enabled": flags on, "failed": flags marked failed, "errors": errorsWhileComputingFlags,
"digest": 12 hex digits of the sorted (flag, enabled, variant) list}. It runs next to wrk while
bench/field/unleash_bench.sh stops the database, to show what the answers contain before and after.

  sample_answers.py --url URL --seconds S [--interval 0.1] [--epoch UNIX_SECONDS] [--header 'Name: value'] [--body JSON]

With --body it POSTs (flag-decide's /flags?v=2), otherwise it GETs (Unleash's /api/frontend).
Standard library only (Debian's /usr/bin/python3).
"""
import argparse
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request


def digest_of(status, body):
    """Summary of one answer: flag-decide's {flags: {...}} or Unleash's {toggles: [...]}."""
    row = {"status": status, "enabled": None, "failed": None, "errors": None, "digest": None}
    try:
        doc = json.loads(body)
    except ValueError:
        return row
    if isinstance(doc, dict) and isinstance(doc.get("flags"), dict):
        flags = doc["flags"].values()
        items = sorted((f.get("key"), bool(f.get("enabled")), f.get("variant")) for f in flags)
        row["enabled"] = sum(1 for f in flags if f.get("enabled"))
        row["failed"] = sum(1 for f in flags if f.get("failed"))
        row["errors"] = bool(doc.get("errorsWhileComputingFlags"))
    elif isinstance(doc, dict) and isinstance(doc.get("toggles"), list):
        items = sorted((t.get("name"), bool(t.get("enabled")), (t.get("variant") or {}).get("name"))
                       for t in doc["toggles"])
        row["enabled"] = sum(1 for t in doc["toggles"] if t.get("enabled"))
    else:
        return row
    row["digest"] = hashlib.sha256(json.dumps(items).encode()).hexdigest()[:12]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body")
    parser.add_argument("--epoch", type=float, help="the run's start (time.time()), so that t lines up with the stop")
    args = parser.parse_args()
    headers = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep:
            parser.error(f"--header must be 'Name: value', not {header!r}")
        headers[name.strip()] = value.strip()
    data = None
    if args.body is not None:
        data = args.body.encode()
        headers.setdefault("Content-Type", "application/json")
    start = time.monotonic()
    offset = time.time() - args.epoch if args.epoch is not None else 0.0  # t of our own start
    next_at = start
    while (now := time.monotonic()) - start < args.seconds:
        request = urllib.request.Request(args.url, data=data, headers=headers)
        sent = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        except (urllib.error.URLError, OSError):
            status, body = 0, b""
        row = {"t": round(offset + sent - start, 3), "ms": round((time.monotonic() - sent) * 1000, 2)}
        row.update(digest_of(status, body))
        print(json.dumps(row), flush=True)
        next_at += args.interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
