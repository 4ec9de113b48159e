"""Figures per fault from the load's records, the drill's assertions, and the Markdown report
(docs/resilience.md).

A fault's window runs from its injection until the drill stopped observing after clearing it.
"Seconds to full" is measured from the moment the fault was cleared (the restarted server accepts
connections, the signal or RESUME was sent, ...) to the completion of the last answer in the
window that was not full (degraded, wrong, or not a 200); 0 when every answer after clearing was
full.
"""

import os
import platform
import subprocess
from collections import Counter

FULL_WITHIN = 5.0  # seconds after clearing (the bound)
FRESH_WITHIN = 1.0  # seconds from a flag edit on the primary to every answer and the SDK feed


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def window_stats(records, start, end, cleared, clear_start=None):
    """Figures for the records sent in [start, end)."""
    rows = [r for r in records if start <= r[0] < end]
    latencies = sorted(r[1] for r in rows)
    statuses = Counter(r[2] for r in rows)
    degraded = sum(r[3] for r in rows)
    last_bad = max((r[0] + r[1] for r in rows if r[2] != 200 or r[3] or r[5]), default=None)
    to_full = 0.0 if cleared is None or last_bad is None or last_bad <= cleared else last_bad - cleared
    since_clearing_began = None
    if clear_start is not None:
        since_clearing_began = 0.0 if last_bad is None or last_bad <= clear_start else last_bad - clear_start
    by_kind = Counter(r[7] for r in rows)
    degraded_by_kind = Counter(r[7] for r in rows if r[3])
    return {
        "requests": len(rows),
        "rate": len(rows) / (end - start) if end > start else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "degraded": degraded,
        "degraded_pct": 100.0 * degraded / len(rows) if rows else 0.0,
        "gave_up": sum(r[8] for r in rows),
        "degraded_by_kind": {k: f"{degraded_by_kind[k]}/{by_kind[k]}" for k in sorted(by_kind)},
        "failed_flags": sum(r[4] for r in rows),
        "wrong": sum(r[5] for r in rows),
        "local_bad": sum(r[6] for r in rows),
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "max_ms": 1000 * (latencies[-1] if latencies else 0.0),
        "seconds_to_full": to_full,
        "seconds_to_full_since_clearing_began": since_clearing_began,
        # the slowest requests: seconds after the window's start, latency ms, kind, status, degraded
        "slowest": [(round(r[0] - start, 3), round(1000 * r[1], 1), r[7], r[2], r[3])
                    for r in sorted(rows, key=lambda r: -r[1])[:5]],
        "failed_per_degraded": (sum(r[4] for r in rows) / degraded) if degraded else 0.0,
    }


def assertions_for(row, latency_bound_ms, latency_why, is_fault=True, strict=True):
    """The drill's promises for one window, as (ok, text). `strict`: the full drill, on a quiet
    machine; the short form runs beside other work, where an answer may miss its deadline only
    because no core was free."""
    title = row["title"]
    s = row["stats"]
    out = []
    if row.get("healthy_route_remains"):
        if strict:
            out.append((s["degraded"] == 0,
                        f"{title}: no degraded answer while a healthy route remains ({s['degraded']})"))
        else:
            out.append((s["gave_up"] == 0,
                        f"{title}: no answer gave up on stored data before its deadline while a healthy "
                        f"route remains ({s['gave_up']} of {s['degraded']} degraded)"))
    answered = s["statuses"].get("200", 0)
    out.append((s["requests"] > 0 and answered == s["requests"],
                f"{title}: every request answered 200 ({answered} of {s['requests']}; {fmt_statuses(s['statuses'])})"))
    if row.get("busy") and strict:
        # Spinning processes starve the load generator as much as the service: the bound holds
        # for the service's own time (its histogram), not for what the starved client measured.
        slow = row.get("server_slower_than_100ms")
        out.append((slow == 0, f"{title}: the service itself answered every request within 100 ms "
                               f"(its /metrics histogram: {slow} slower; client-side max {s['max_ms']:.1f} ms)"))
    else:
        out.append((s["max_ms"] <= latency_bound_ms,
                    f"{title}: max latency {s['max_ms']:.1f} ms <= {latency_why} = {latency_bound_ms:.0f} ms"))
    out.append((s["wrong"] == 0, f"{title}: every answered flag is correct ({s['wrong']} wrong)"))
    for where, f in sorted((row.get("freshness") or {}).items()):
        if not f["edits"]:
            continue  # the primary took no edit in this window (it was down)
        if strict:
            ok = f["not_seen"] == 0 and f["p99_s"] <= FRESH_WITHIN
            out.append((ok, f"{title}: flag edits reach the {where} within {FRESH_WITHIN:g} s "
                            f"(p99 {fmt_seconds(f['p99_s'])} over {f['edits']} edits, {f['not_seen']} not seen)"))
        else:
            out.append((f["not_seen"] == 0, f"{title}: every flag edit reached the {where} "
                                            f"({f['edits']} edits, {f['not_seen']} not seen within 10 s)"))
    out.append((s["local_bad"] == 0,
                f"{title}: flags that need no stored data are always answered and correct "
                f"({s['local_bad']} failed or wrong)"))
    if is_fault:
        out.append((s["seconds_to_full"] <= FULL_WITHIN,
                    f"{title}: full answers {s['seconds_to_full']:.2f} s after the fault cleared "
                    f"(<= {FULL_WITHIN:g} s)"))
    return out


def fmt_seconds(value):
    return "–" if value is None else f"{value:.2f} s"


def freshness_note(freshness):
    """One line on the flag edits of a window, or None."""
    parts = []
    for where, f in sorted(freshness.items()):
        if f["edits"]:
            parts.append(f"{where} p50 {fmt_seconds(f['p50_s'])}, max {fmt_seconds(f['max_s'])}"
                         + (f", {f['not_seen']} not seen" if f["not_seen"] else ""))
    edits = max((f["edits"] for f in freshness.values()), default=0)
    overtaken = max((f.get("overtaken", 0) for f in freshness.values()), default=0)
    note = f"{edits} flag edits on the primary reached the " + "; the ".join(parts) if parts else ""
    if overtaken:
        on_the_way = (f"{overtaken} flag edits still on their way" if overtaken != 1
                      else "1 flag edit still on its way")
        also = f"{on_the_way} when a fault took the databases away, not counted here"
        note = f"{note} ({also})" if note else also
    return note or None


def fmt_statuses(statuses):
    return ", ".join(f"{'no answer' if k == '0' else k}: {v}" for k, v in statuses.items()) or "none"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    distro = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"') + ", "
    except OSError:
        pass
    pg = subprocess.run(["/usr/lib/postgresql/15/bin/postgres", "--version"], capture_output=True,
                        text=True).stdout.strip()
    return f"{distro}{platform.machine()}, {os.cpu_count()} cores ({cpu}){mem}; {pg}"


def markdown_table(rows):
    head = ("| fault | held s | requests | HTTP statuses | degraded | wrong flags | DB-free flags failed/wrong "
            "| p50 ms | p99 ms | max ms | s to full | routes seen down |\n"
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
    lines = []
    for row in rows:
        s = row["stats"]
        held = f"{row['held']:.1f}" if row.get("held") is not None else "–"
        to_full = f"{s['seconds_to_full']:.2f}" if row.get("held") is not None else "–"
        lines.append(
            f"| {row['title']} | {held} | {s['requests']} | {fmt_statuses(s['statuses'])} "
            f"| {s['degraded_pct']:.1f} % | {s['wrong']} | {s['local_bad']} "
            f"| {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | {to_full} "
            f"| {', '.join(row.get('routes_down', [])) or '–'} |")
    return head + "\n".join(lines) + "\n"


def aggregate_rows(rows):
    """The rows of each fault as one (a soak repeats them): counts summed, latencies and times to
    full at their worst, the title with the number of times."""
    by_title = {}
    for row in rows:
        by_title.setdefault(row["title"], []).append(row)
    out = []
    for title, same in by_title.items():
        stats = [r["stats"] for r in same]
        statuses = Counter()
        for s in stats:
            statuses.update(s["statuses"])
        requests = sum(s["requests"] for s in stats)
        degraded = sum(s["degraded"] for s in stats)
        held = [r["held"] for r in same if r.get("held") is not None]
        out.append({
            "title": f"{title} (x{len(same)})" if len(same) > 1 else title,
            "held": sum(held) if held else None,
            "routes_down": sorted(set().union(*(r.get("routes_down", []) for r in same))),
            "notes": [], "restore_s": None,
            "stats": {"requests": requests, "statuses": dict(sorted(statuses.items())), "degraded": degraded,
                      "degraded_pct": 100.0 * degraded / requests if requests else 0.0,
                      "wrong": sum(s["wrong"] for s in stats), "local_bad": sum(s["local_bad"] for s in stats),
                      "p50_ms": max(s["p50_ms"] for s in stats), "p99_ms": max(s["p99_ms"] for s in stats),
                      "max_ms": max(s["max_ms"] for s in stats),
                      "seconds_to_full": max(s["seconds_to_full"] for s in stats),
                      "degraded_by_kind": {}},
        })
    return out


def soak_table(soak):
    names = {"rss_kib": "flag-decide resident memory, KiB", "descriptors": "flag-decide open descriptors",
             "sockets": "flag-decide sockets (clients, pools, probes)",
             "database_connections": "flag_decide sessions on the three servers"}
    lines = ["| measure | first minute (median) | last minute (median) | max | flat |", "|---|---:|---:|---:|---|"]
    for key, f in soak.items():
        lines.append(f"| {names.get(key, key)} | {f['first']} | {f['last']} | {f['max']} | "
                     f"{'yes' if f['flat'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def results_by_pass(result):
    """Markdown: per pass, its title, its table and the notes of its rows (a soak: one row per
    fault, and its resources)."""
    parts = []
    for number, plan in enumerate(result["passes"]):
        rows = [row for row in result["rows"] if row.get("pass", 0) == number]
        if not rows:
            continue
        if plan.get("soak"):
            heading = f"### Pass {number + 1}: {plan['title']}\n\n"
            parts.append(heading + markdown_table(aggregate_rows(rows)) + "\n"
                         + (soak_table(result["soak"]) if result.get("soak") else ""))
            continue
        notes = []
        for row in rows:
            extra = list(row.get("notes", []))
            if row.get("restore_s") is not None:
                extra.append(f"clearing took {row['restore_s']:.2f} s, answers were full "
                             f"{row['stats']['seconds_to_full_since_clearing_began']:.2f} s after it began")
            extra.append("degraded answers by subject kind: " +
                         ", ".join(f"{k} {v}" for k, v in row["stats"]["degraded_by_kind"].items()))
            notes.append(f"- **{row['title']}**: " + "; ".join(extra) + ".")
        heading = f"### Pass {number + 1}: {plan['title']}\n\n" if len(result["passes"]) > 1 else ""
        parts.append(heading + markdown_table(rows) + "\n" + "\n".join(notes) + "\n")
    return "\n".join(parts)


def write_markdown(path, result, fault_classes):
    failed = [text for ok, text in result["assertions"] if not ok]
    descriptions = "\n".join(f"| {f.title} | {f.description} |" for f in fault_classes)
    settings = result["settings"]
    passes = result["passes"]
    if len(passes) > 1:
        load_rate = (f"first at {passes[0]['title'].removeprefix('at ')}, then, with a process spinning on "
                     f"each core, at {passes[1]['rate']:g} requests/s (the promotion, which discards the "
                     f"primary, runs in the last pass only)")
    else:
        load_rate = passes[0]["title"].removeprefix("at ")
    text = f"""# Resilience: the decide service under failure drills

What happens to `/flags?v=2` traffic while the databases behind `flag-decide` fail, measured by
the failure drill (`test/drill/`). Reproduce this table with:

```sh
{result['command']}
```

(`make drill` builds and installs first; the short form runs inside `make test` as
`test/t/020_drill_short.pl`.) Measured {result['date']} on {result['machine']}.

{'All assertions held.' if not failed else f'**{len(failed)} of the assertions failed** (listed below the table).'}

## Set-up

The drill starts its own topology with `deploy/up.sh` on free ports and a data directory of its
own: a primary, two streaming standbys, a PgBouncer (transaction pooling) in front of each
standby, and `flag-decide` with routes pgbouncer1, pgbouncer2, standby1, standby2, primary,
`request_deadline_ms` {settings['deadline_ms']}, `max_replica_lag_ms` {settings['max_lag_ms']}, the
other settings at their defaults; {settings['persons']} persons of `deploy/sample_data.sql`
(team `phc_demo`, 50 flags).

Load: {settings['workers']} worker processes, each on one keep-alive connection, together at a
fixed pace (open loop), {load_rate}. The capacity is what the same workers get with every
database up when each sends its next request as soon as the last is answered (closed loop); on
this machine they share its cores with the service, the databases and the poolers. They cycle
over {settings['subjects']}:
stored persons (`user-<i>`, most flags need the database; every fourth request carries an
`$anon_distinct_id`, so the service also writes experience-continuity overrides on the primary),
visitors (`visitor-<i>`, the request carries every property the flags read; only the static
cohort and the continuity flag need the database) and guests (`guest-<i>`, asking only for the
flags the service answers without the database). The expected answer of every subject is
`flag_eval.decide()` on the primary before any fault, itself checked against
`flag_evaluate_all(definitions(token), context)` on the same data for every flag
`flag_evaluate_all` can decide from a context (all but the static-cohort and continuity flags).
Which flags need no stored data is observed, not assumed: a second `flag-decide` with no
reachable database, started from the first one's definitions snapshot, answers every subject
once; what it does not fail needs no database.

Per request the load records its latency (client side: send to last byte), the HTTP status,
whether the answer was degraded (`errorsWhileComputingFlags`, some flag `failed: true`), and
every answered flag whose `enabled`, `variant` or payload differs from the expected answer.

Each fault is injected, held for {settings['hold']:g} s, cleared, and watched until answers have
been full for a while. A row covers the requests sent from the injection to the end of that
watch. **s to full**: from the moment the fault was cleared (the server restarted accepts
connections, the signal or `RESUME` was sent, the sleepers were terminated, replay resumed, the
promotion finished) until the last answer that was not full. **Routes seen down**: routes the
service's `/metrics` showed down or with an open circuit breaker during the window (sampled every
100 ms).

The drill asserts, for every row: every request answered 200; latency never above the deadline
plus 50 ms ({settings['deadline_ms'] + 50} ms); every answered flag correct; flags that need no
stored data never failed or wrong; full answers within {FULL_WITHIN:g} s after the fault cleared;
no degraded answer at all where a route to a healthy server remained (every fault but "every
database down" and the promotion); and per fault that the fault took effect (listed in the
notes).

## Results

{results_by_pass(result)}"""
    if failed:
        text += "\n### Failed assertions\n\n" + "\n".join(f"- {t}" for t in failed) + "\n"
        failing_rows = [row for row in result["rows"] if row.get("problems")]
        if failing_rows:
            text += "\nWhat the load saw in those windows (first problems of each):\n\n"
            for row in failing_rows:
                text += f"- pass {row['pass'] + 1}, {row['title']}:\n" + "".join(
                    f"  - {p}\n" for p in row["problems"])
        elif result.get("problems"):
            text += "\nFirst problems the load saw:\n\n" + "\n".join(
                f"- {p}" for p in result["problems"][:20]) + "\n"
    text += f"""
## The faults

| fault | what the drill does |
|---|---|
{descriptions}
"""
    # Everything from "## Findings" on is written by hand (what the figures mean, what to fix):
    # kept from the previous version of the file.
    try:
        with open(path) as f:
            previous = f.read()
        at = previous.find("\n## Findings\n")
        if at >= 0:
            text += previous[at:]
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(text)
