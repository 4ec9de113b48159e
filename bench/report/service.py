#!/usr/bin/python3
"""Section 4 of bench/RESULTS.md: the decide service under HTTP load (bench/own/service_bench.sh).

    service.py OUTDIR                      prints the section
    service.py --splice RESULTS.md OUTDIR  rewrites the section inside RESULTS.md
    service.py --check OUTDIR              exits 1 when a check of the run failed

bench/report/report.py includes the section (section(out, lines)) and the checks (checks(out)) in the
whole file. Standard library only (Debian's /usr/bin/python3).
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # run alone, importing common must not leave bench/report/__pycache__
from common import (  # noqa: E402
    latency_summary_ms, open_section, print_failed, read_kv, read_latencies, read_pgbench, wrk_result)

HEADING = "## 4. The decide service over HTTP"

RUNS = [
    # name, label
    ("select1", "(a) `SELECT 1` through PgBouncer 1 (**baseline**)"),
    ("stored", "(b) `POST /flags?v=2`, stored persons (`flag_eval.decide_outcomes()` for the flags that read stored data)"),
    ("local", "(c) `POST /flags?v=2`, every property in the request (no database)"),
    ("stored_1", "(b1) as (b), flag-decide on one event-loop thread"),
    ("local_1", "(c1) as (c), flag-decide on one event-loop thread"),
]
WRK_RUNS = [name for name, _ in RUNS if name != "select1"]


def read_select1(s):
    """Figures of the SELECT 1 run: pgbench's summary, percentiles from its -l logs (microseconds)."""
    path = os.path.join(s, "select1.txt")
    if not os.path.exists(path):
        return {}
    summary = read_pgbench(path)
    out = {key: summary[k] for k, key in (("tps", "rps"), ("transactions", "requests"), ("failed", "failed"))
           if k in summary}
    lat = sorted(read_latencies(os.path.join(s, "select1_log")))
    if lat:
        out.update(latency_summary_ms(lat))
        out["max_ms"] = lat[-1] / 1000
    out["errors"] = out.get("failed", 0)
    return out


def read_wrk(s, name):
    """The 'wrk_result key=value ...' line bench/inputs/wrk/flags.lua prints."""
    path = os.path.join(s, f"{name}.txt")
    if not os.path.exists(path):
        return {}
    for line in open(path):
        kv = wrk_result(line)
        if kv is not None:
            out = {"requests": int(kv["requests"]), "rps": kv["rps"],
                   "mean_ms": kv["mean_us"] / 1000, "max_ms": kv["max_us"] / 1000,
                   "status_errors": int(kv["status_errors"]),
                   "socket_errors": int(sum(kv[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))),
                   "bytes": int(kv["bytes"])}
            for p in (50, 90, 99):
                out[f"p{p}_ms"] = kv[f"p{p}_us"] / 1000
            out["errors"] = out["status_errors"] + out["socket_errors"]
            return out
    return {}


def read_metrics(path):
    """{'name{labels}': value} of a Prometheus text file."""
    out = {}
    if os.path.exists(path):
        for line in open(path):
            if line and not line.startswith("#"):
                parts = line.rsplit(None, 1)
                if len(parts) == 2:
                    try:
                        out[parts[0]] = float(parts[1])
                    except ValueError:
                        pass
    return out


def metrics_delta(s, before, after):
    """What the service counted between two /metrics snapshots, or {} when one is missing."""
    a = read_metrics(os.path.join(s, f"metrics_{before}.txt"))
    b = read_metrics(os.path.join(s, f"metrics_{after}.txt"))
    if not a or not b:
        return {}

    def d(key):
        return int(b.get(key, 0) - a.get(key, 0))
    flags_requests = {k: d(k) for k in b if k.startswith('flag_decide_requests_total{endpoint="flags"')}
    return {
        "local": d('flag_decide_flags_evaluated_total{source="local"}'),
        "database": d('flag_decide_flags_evaluated_total{source="database"}'),
        "failed": d('flag_decide_flags_evaluated_total{source="failed"}'),
        "degraded": d("flag_decide_degraded_answers_total"),
        "batches": sum(d(k) for k in b if k.startswith("flag_decide_route_batches_total{")),
        "batched": sum(d(k) for k in b if k.startswith("flag_decide_route_batched_queries_total{")),
        "answered": flags_requests.get('flag_decide_requests_total{endpoint="flags",status="200"}', 0),
        "not_200": sum(v for k, v in flags_requests.items() if 'status="200"' not in k),
    }


def cpu_usage(s, name):
    """CPUs busy on average during run `name`, by part: {decide, pgbouncer, postgres, loadgen, machine, other},
    and the transactions each PgBouncer passed on (pgbouncer1_transactions, pgbouncer2_transactions)."""
    a = read_kv(os.path.join(s, f"cpu_{name}_before.txt"))
    b = read_kv(os.path.join(s, f"cpu_{name}_after.txt"))
    gen = read_kv(os.path.join(s, f"loadgen_{name}.txt"))
    needed = ("decide", "pgbouncer", "postgres", "machine_busy", "machine_total", "clk_tck", "time_ns")
    if not all(k in a and k in b for k in needed):
        return {}
    wall = (int(b["time_ns"]) - int(a["time_ns"])) / 1e9
    tck = int(b["clk_tck"])
    nproc = int(read_kv(os.path.join(s, "setup.txt")).get("nproc", "1"))
    out = {k: (int(b[k]) - int(a[k])) / tck / wall for k in ("decide", "pgbouncer", "postgres")}
    for k in ("pgbouncer1_transactions", "pgbouncer2_transactions"):
        out[k] = int(b.get(k, 0)) - int(a.get(k, 0))
    total = int(b["machine_total"]) - int(a["machine_total"])
    out["machine"] = (int(b["machine_busy"]) - int(a["machine_busy"])) / total * nproc if total > 0 else 0.0
    if gen:
        out["loadgen"] = (float(gen["user"]) + float(gen["system"])) / wall
    out["other"] = max(0.0, out["machine"] - sum(out.get(k, 0.0) for k in ("decide", "pgbouncer", "postgres", "loadgen")))
    return out


def results(out):
    s = os.path.join(out, "service")
    res = {"select1": read_select1(s)}
    res.update({name: read_wrk(s, name) for name in WRK_RUNS})
    for name in WRK_RUNS:
        res[name]["metrics"] = metrics_delta(s, f"{name}_before", f"{name}_after")
        res[name]["warmup_metrics"] = metrics_delta(s, f"{name}_warmup", f"{name}_before")
    for name in res:
        res[name]["cpu"] = cpu_usage(s, name)
    return s, res


def checks(out):
    """[(label, value, expected, ok)] for the run, [] when the service benchmark did not run."""
    s, res = results(out)
    if not os.path.isdir(s):
        return []
    setup = read_kv(os.path.join(s, "setup.txt"))
    stored_flags = int(setup.get("stored_active_flags", "0"))
    local_flags = int(setup.get("local_active_flags", "0"))
    a = res["select1"]

    def degraded_share(m):
        return round(100 * m["degraded"] / m["answered"], 2) if m.get("answered") else None

    def per_answer(m):
        return round((m["local"] + m["database"] + m["failed"]) / m["answered"], 2) if m.get("answered") else None
    out = [("(a) pgbench: failed transactions", a.get("failed"), 0, a.get("failed") == 0)]
    for name, tag, flags in (("stored", "b", stored_flags), ("local", "c", local_flags),
                             ("stored_1", "b1", stored_flags), ("local_1", "c1", local_flags)):
        r = res[name]
        if "rps" not in r:
            continue
        m = r.get("metrics", {})
        out += [
            (f"({tag}) wrk: responses with a status ≥ 400, socket errors, timeouts", r.get("errors"), 0,
             r.get("errors") == 0),
            (f"({tag}) the service: answers other than 200", m.get("not_200"), 0, m.get("not_200") == 0),
            (f"({tag}) flags per answer (= the team's active flags)", per_answer(m), flags, per_answer(m) == flags),
        ]
        if name.startswith("stored"):
            out += [
                (f"({tag}) flag answers from the database: more than 0", m.get("database"), "> 0",
                 (m.get("database") or 0) > 0),
                # Answers degraded by the deadline (a request that waited too long for the database)
                # are the service working as designed, but many of them would make the run measure
                # something cheaper.
                (f"({tag}) answers with failed flags (stored data not read within the deadline), % of answers",
                 degraded_share(m), "< 1", degraded_share(m) is not None and degraded_share(m) < 1),
            ]
        else:
            out += [
                (f"({tag}) flag answers from the database (no round trip at all)", m.get("database"), 0,
                 m.get("database") == 0),
                (f"({tag}) flags answered `failed: true`", m.get("failed"), 0, m.get("failed") == 0),
            ]
    return out


def section(out, L):
    """Appends section 4 to the list of lines L."""
    s, res = results(out)
    if not open_section(L, HEADING, s, missing="Not run."):
        return
    setup = read_kv(os.path.join(s, "setup.txt"))
    conns, threads, secs = setup.get("connections", "?"), setup.get("threads", "?"), setup.get("seconds", "?")
    warm = setup.get("warmup_seconds", "?")
    pool = re.search(r'"pool_size":\s*(\d+)', setup.get("decide_config", ""))
    deadline = re.search(r'"request_deadline_ms":\s*(\d+)', setup.get("decide_config", ""))
    # flag-decide's default (src/decide/settings.cpp): one connection per event-loop thread, at least 2
    pool_size = pool.group(1) if pool else str(max(2, int(setup.get("decide_threads") or 1)))
    deadline_ms = deadline.group(1) if deadline else "50"
    pgb_pool = re.search(r"default_pool_size = (\d+)", setup.get("pgbouncer_pool", ""))
    a, b, c = res["select1"], res["stored"], res["local"]

    L.append(f"`bench/own/service_bench.sh`: the local topology of `deploy/up.sh` on ports and in a data directory of "
             f"its own, started for this run and deleted after it (up in {setup.get('up_seconds', '?')} s): a primary, "
             f"two streaming standbys, a PgBouncer {setup.get('pgbouncer_version', '').replace('PgBouncer ', '')} in "
             f"front of each (transaction pooling, {pgb_pool.group(1) if pgb_pool else '?'} server connections per "
             f"pool), and `build/flag-decide` as `deploy/up.sh` configures it: routes PgBouncer 1, PgBouncer 2, "
             f"standby 1, standby 2, primary in that order, {pool_size} connections per route (the default: one per "
             f"event-loop thread, at least 2; requests that arrive together or find them all busy share one statement, "
             f"a batch), a {deadline_ms} ms "
             f"deadline for database work, {setup.get('decide_threads', '?')} event-loop threads (the default: one per "
             f"CPU; the routes, their pools and the refresher live on a loop of their own). Team `phc_demo` of `deploy/sample_data.sql`: "
             f"{int(setup.get('stored_persons', '0')):,} stored persons `user-<n>`, "
             f"{setup.get('stored_active_flags', '?')} active flags (one of its 50 is inactive; an answer is "
             f"{int(setup.get('stored_answer_bytes', '0')):,} bytes of JSON). A second team "
             f"(`bench/inputs/sql/service_local_team.sql`) has the same flags but the ones that read stored data whatever "
             f"the request carries ({', '.join('`' + k + '`' for k in setup.get('local_left_out', '').split())}: "
             f"cohorts, flag dependencies, experience continuity), {setup.get('local_active_flags', '?')} active flags.")
    L.append("")
    L.append(f"Five measurements one after the other in this run, at the same fixed concurrency ({conns} "
             f"connections, {threads} threads, {secs} s each after a {warm} s warm-up of the same load):")
    L.append("")
    L.append("- (a) `SELECT 1` (`bench/inputs/sql/select1.pgbench`) through PgBouncer 1 to standby 1, with pgbench "
             "`-M extended`: unnamed statements, as the service sends them (prepared statements do not survive "
             "transaction pooling in this PgBouncer), as the service's role. The cheapest round trip the service "
             "could make. Percentiles from pgbench's per-transaction log (`-l`).")
    mb0 = b.get("metrics", {})
    local_per_answer = f"{mb0['local'] / mb0['answered']:.0f}" if mb0.get("answered") else "?"
    L.append("- (b) `POST /flags?v=2` with `{\"token\": \"phc_demo\", \"distinct_id\": \"user-<random>\"}` "
             "(`bench/inputs/wrk/flags.lua`, `FLAGS_MODE=stored`): the service answers the flags that need nothing stored "
             f"itself ({local_per_answer} of the {setup.get('stored_active_flags', '?')} here, such as pure "
             "rollouts) and asks `flag_eval.decide_outcomes()` on standby 1, through PgBouncer 1, for the others' "
             "outcomes (about 2 kB of text back per request; the requests that meet at the route share one "
             "statement and one round trip), which it completes from its own definitions.")
    L.append("- (c) `POST /flags?v=2` to the second team for `visitor-<random>` with every person and group property "
             "its flags read (`FLAGS_MODE=local`): every flag is answered in the service.")
    pinning = setup.get("one_thread_pinning", "")
    L.append("- (b1) and (c1): the same loads against a second flag-decide on the same topology with `--threads 1`"
             + (f" ({pinning}, with `taskset`; PostgreSQL and PgBouncer unpinned)" if pinning else " (one CPU: nothing pinned)")
             + ": what one event-loop thread does, to compare with (b) and (c).")
    L.append("")
    L.append("wrk's latencies are per request in a closed loop (each connection sends its next request when the "
             "answer arrives), as are pgbench's.")
    L.append("")

    base = a
    L.append("| run | requests | requests / s | mean ms | p50 ms | p90 ms | p99 ms | max ms | requests / s ÷ (a)'s | "
             "p99 ÷ (a)'s |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, label in RUNS:
        r = res[name]
        if "rps" not in r:
            L.append(f"| {label} | not run | | | | | | | | |")
            continue

        def ms(k):
            return f"{r[k]:.2f}" if k in r else "?"
        thr = f"{r['rps'] / base['rps']:.3f}" if base.get("rps") else ""
        p99 = f"{r['p99_ms'] / base['p99_ms']:.1f}" if base.get("p99_ms") and "p99_ms" in r else ""
        L.append(f"| {label} | {r.get('requests', 0):,} | {r['rps']:,.0f} | {ms('mean_ms')} | {ms('p50_ms')} | "
                 f"{ms('p90_ms')} | {ms('p99_ms')} | {ms('max_ms')} | {thr} | {p99} |")
    L.append("")

    L.append("Where the flag answers came from (`flag_decide_flags_evaluated_total` and "
             "`flag_decide_degraded_answers_total` of `GET /metrics`, before and after each run; the service also "
             "counts answers still in flight when wrk stops), and how many `decide_outcomes()` calls shared a "
             "statement (`flag_decide_route_batches_total`, `flag_decide_route_batched_queries_total`):")
    L.append("")
    L.append("| run | answers (status 200) | other statuses | flags answered in the service | from the database | "
             "failed | degraded answers | batches | requests in batches (per batch) |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, label in RUNS[1:]:
        for key, what in (("warmup_metrics", f"{label.split(' ', 1)[0]} warm-up ({warm} s)"), ("metrics", label)):
            m = res[name].get(key)
            if not m:
                continue
            per_batch = f" ({m['batched'] / m['batches']:.1f})" if m.get("batches") else ""
            L.append(f"| {what} | {m['answered']:,} | {m['not_200']} | {m['local']:,} | {m['database']:,} | "
                     f"{m['failed']:,} | {m['degraded']:,} | {m.get('batches', 0):,} | {m.get('batched', 0):,}{per_batch} |")
    L.append("")

    L.append("CPUs busy on average during each run (`/proc/<pid>/stat` of each part: both PgBouncers together, and "
             "the three PostgreSQL clusters with the processes their postmasters run, since the service moves to "
             "the next route when one fails; the load generator's from `/usr/bin/time`; \"rest\" is the machine's "
             "busy time from `/proc/stat` less the parts: other work on this shared machine, the kernel outside "
             f"these processes). {setup.get('nproc', '?')} CPUs in all. The last column counts the transactions each "
             "PgBouncer passed on (`SHOW STATS`):")
    L.append("")
    L.append("| run | flag-decide | PgBouncers | PostgreSQL | load generator | rest | whole machine | "
             "transactions via PgBouncer 1 / 2 |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|")
    for name, label in RUNS:
        u = res[name].get("cpu")
        if not u:
            continue
        L.append(f"| {label.split(' ', 1)[0]} | {u['decide']:.2f} | {u['pgbouncer']:.2f} | {u['postgres']:.2f} | "
                 f"{u.get('loadgen', 0):.2f} | {u['other']:.2f} | {u['machine']:.2f} | "
                 f"{u['pgbouncer1_transactions']:,} / {u['pgbouncer2_transactions']:,} |")
    L.append("")

    L.append("Checks in this run:")
    L.append("")
    L.append("| check | value | expected | |")
    L.append("|---|--:|--:|---|")
    for label, value, expected, ok in checks(out):
        L.append(f"| {label} | {value if value is not None else '?'} | {expected} | {'ok' if ok else '**FAILED**'} |")
    L.append("")

    # What limits each, from this run's figures: CPU time per request of each part.
    def per_request(u, r, key):
        return u.get(key, 0.0) / r["rps"] * 1e6  # µs

    nproc = int(setup.get("nproc", "1"))

    def limit(u, part, part_name, otherwise="the round trips' latency at this concurrency", cpus=1):
        """Which resource is (nearly) saturated: a part with `cpus` threads, else the machine's CPUs."""
        if u.get(part, 0.0) >= 0.8 * cpus:
            return f"{part_name}, {u[part]:.2f} of {cpus} CPU{'s' if cpus > 1 else ''} busy, is the limit"
        if u["machine"] >= 0.85 * nproc:
            return f"the machine's CPUs ({u['machine']:.2f} of {nproc} busy) are the limit"
        return (f"neither the machine's CPUs ({u['machine']:.2f} of {nproc} busy) nor a single thread is saturated: "
                f"{otherwise} is the limit")

    if a.get("rps") and b.get("rps") and c.get("rps") and a.get("cpu") and b.get("cpu") and c.get("cpu"):
        ua, ub, uc = a["cpu"], b["cpu"], c["cpu"]
        mb, wb = b.get("metrics", {}), b.get("warmup_metrics", {})
        L.append("What limits each: the load generator, PgBouncer, PostgreSQL and the service (and whatever else "
                 "runs) share the machine's CPUs; CPU time per request from the table above.")
        L.append("")
        L.append(f"- (a): {a['rps']:,.0f} round trips / s keep {ua['machine']:.2f} CPUs busy; per round trip "
                 f"{per_request(ua, a, 'postgres'):.0f} µs in PostgreSQL (standby 1's backends), "
                 f"{per_request(ua, a, 'pgbouncer'):.0f} µs in PgBouncer (one thread), {per_request(ua, a, 'loadgen'):.0f} µs in pgbench: "
                 + limit(ua, "pgbouncer", "PgBouncer's one thread") + ".")
        parts_b = sum(per_request(ub, b, k) for k in ("decide", "postgres", "pgbouncer", "loadgen"))
        L.append(f"- (b): {b['rps']:,.0f} requests / s, {b['rps'] / a['rps']:.3f} of (a)'s round trips. Per request "
                 f"{per_request(ub, b, 'decide'):.0f} µs of CPU in flag-decide ({ub['decide']:.2f} CPUs busy; "
                 f"(c) needs {per_request(uc, c, 'decide'):.0f} µs without the database, so about "
                 f"{per_request(ub, b, 'decide') - per_request(uc, c, 'decide'):.0f} µs go to the database path: "
                 f"libpq, waking for the answer, reading the outcomes and completing them), "
                 f"{per_request(ub, b, 'postgres'):.0f} µs in PostgreSQL "
                 f"(`decide_outcomes()`), {per_request(ub, b, 'pgbouncer'):.0f} µs in PgBouncer, {per_request(ub, b, 'loadgen'):.0f} "
                 f"µs in wrk: {parts_b:.0f} µs in all, with {ub['machine']:.2f} CPUs busy; on {nproc} CPUs those "
                 f"{parts_b:.0f} µs allow at most {nproc * 1e6 / parts_b:,.0f} requests / s, and the run reached "
                 f"{100 * b['rps'] * parts_b / (nproc * 1e6):.0f} % of that; "
                 + limit(ub, "decide", "flag-decide's event-loop threads",
                         f"the wait for one of the route's {pool_size} connections (at most {pool_size} "
                         f"`decide_outcomes()` statements in flight)", cpus=int(setup.get("decide_threads") or 1))
                 + (". The service's own work is the largest part of each request"
                    if per_request(ub, b, "decide") >= max(per_request(ub, b, k) for k in ("postgres", "pgbouncer", "loadgen"))
                    else "")
                 + f". At most {pool_size} `decide_outcomes()` statements are in flight (the route's pool); "
                 f"requests that reach the route together, or while both are busy, wait in a batch and go in one "
                 f"statement when a connection comes free"
                 + (f" ({mb['batched'] / mb['batches']:.1f} requests per batch on average, "
                    f"{100 * mb['batched'] / max(1, mb['answered']):.0f} % of the answers)" if mb.get("batches") else "")
                 + ". "
                 + (f"{mb['degraded']:,} answers ({100 * mb['degraded'] / mb['answered']:.2f} %) waited past the "
                    f"{deadline_ms} ms deadline for database work and carry failed flags"
                    if mb.get("degraded") else f"No answer waited past the {deadline_ms} ms deadline for database work")
                 + (f"; in the warm-up, whose first `decide_outcomes()` calls run in PostgreSQL backends that never ran one "
                    f"before, {wb['degraded']:,} of {wb['answered']:,} answers did and carry failed flags."
                    if wb.get("degraded") and wb.get("answered") else "."))
        L.append(f"- (c): {c['rps']:,.0f} requests / s, {c['rps'] / b['rps']:.1f}× (b), {c['rps'] / a['rps']:.3f} of "
                 f"(a); no database at all. flag-decide is {uc['decide']:.2f} CPUs busy, "
                 f"{per_request(uc, c, 'decide'):.0f} µs per request for {setup.get('local_active_flags', '?')} flags "
                 f"(reading the request, evaluating, writing {c['bytes'] / max(1, c['requests']):,.0f} bytes of "
                 f"answer and headers, HTTP): "
                 + limit(uc, "decide", "its event-loop threads", cpus=int(setup.get("decide_threads") or 1)) + ".")
        b1, c1 = res["stored_1"], res["local_1"]
        if b1.get("rps") and c1.get("rps") and b1.get("cpu") and c1.get("cpu"):
            ub1, uc1 = b1["cpu"], c1["cpu"]
            threads_n = setup.get("decide_threads", "?")
            L.append(f"- (b1), one thread: {b1['rps']:,.0f} requests / s, {per_request(ub1, b1, 'decide'):.0f} µs of "
                     f"flag-decide per request ({ub1['decide']:.2f} CPUs busy), {per_request(ub1, b1, 'postgres'):.0f} "
                     f"µs in PostgreSQL; (b) on {threads_n} threads answered {b['rps'] / b1['rps']:.2f}× as many.")
            L.append(f"- (c1), one thread: {c1['rps']:,.0f} requests / s, {per_request(uc1, c1, 'decide'):.0f} µs of "
                     f"flag-decide per request ({uc1['decide']:.2f} CPUs busy): "
                     + limit(uc1, "decide", "its one event-loop thread")
                     + f"; (c) on {threads_n} threads answered {c['rps'] / c1['rps']:.2f}× as many, on a machine whose "
                     f"{nproc} CPUs also run wrk.")
            L.append("")
            svc_b, svc_c = per_request(ub, b, "decide"), per_request(uc, c, "decide")
            pg_b, pgb_b = per_request(ub, b, "postgres"), per_request(ub, b, "pgbouncer")
            L.append("**Per core, and beyond this machine.** CPU time per request is the figure that carries over to "
                     "bigger machines, since the threads share nothing but the definitions snapshot, one mutex for "
                     f"the metrics and the routes' loop: a service core answers about {1e6 / svc_c:,.0f} in-process "
                     f"requests / s ({svc_c:.0f} µs each) or {1e6 / svc_b:,.0f} stored-person requests / s "
                     f"({svc_b:.0f} µs each), so 16 cores give about {16e6 / svc_c:,.0f} and {16e6 / svc_b:,.0f}, 64 "
                     f"cores {64e6 / svc_c:,.0f} and {64e6 / svc_b:,.0f}, with the load generator elsewhere. Stored "
                     f"persons also need {pg_b:.0f} µs of a standby's CPU (about {1e6 / pg_b:,.0f} requests / s per "
                     f"standby core) and {pgb_b:.0f} µs of a PgBouncer, whose one thread passes about "
                     f"{1e6 / pgb_b:,.0f} of them a second: past that, more PgBouncers (`so_reuseport`) and standbys. "
                     "The routes' loop does each stored request's libpq work for every thread (a share of the "
                     "database path above), so on many cores it is the one thread to watch; it is part of "
                     "flag-decide's figure here, not a separate limit on this machine.")
        L.append("")

    load = f"load average {setup.get('loadavg_before', '?')} before the measurements, " \
           f"{setup.get('loadavg_after', '?')} after; {setup.get('busy_share_before', '?')} % of the CPUs were " \
           f"busy with other work just before them"
    L.append(f"Run {setup.get('date', '?')}, commit {setup.get('commit', '?')}. "
             f"Machine: {setup.get('nproc', '?')} CPUs (`nproc`), {setup.get('cpu', '?')}; {load}. "
             f"PostgreSQL {setup.get('server_version', '?')}, {setup.get('wrk_version', 'wrk')}, "
             f"{setup.get('pgbench_version', 'pgbench')}.")
    L.append("")
    L.append("Reproduce with `make bench`, or `bench/own/service_bench.sh` alone (about 2 minutes; it rewrites this section "
             "only). The commands it runs, on the ports of its topology (PgBouncer 1, flag-decide):")
    L.append("")
    L.append("```sh")
    L.append(setup.get("pgbench_command", "?"))
    L.append(setup.get("wrk_command", "?"))
    L.append(setup.get("one_thread_command", ""))
    L.append("```")
    L.append("")


def splice(results_md, out):
    """Replaces section 4 of RESULTS.md (or inserts it before the verdicts) with this run's."""
    lines = []
    section(out, lines)
    text = open(results_md).read() if os.path.exists(results_md) else "# flag_eval benchmarks\n"
    new = "\n".join(lines).rstrip("\n") + "\n"
    start = text.find(HEADING)
    if start >= 0:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + new + ("\n" + text[end + 1:] if end >= 0 else "")
    else:
        at = text.find("\n## Verdicts")
        text = text[:at + 1] + new + "\n" + text[at + 1:] if at >= 0 else text.rstrip("\n") + "\n\n" + new
    with open(results_md, "w") as f:
        f.write(text)


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        return print_failed(checks(argv[2]), "service_bench: CHECK FAILED: {}: {} (expected {})")
    if len(argv) == 4 and argv[1] == "--splice":
        splice(argv[2], argv[3])
        return 0
    if len(argv) == 2 and not argv[1].startswith("-"):
        lines = []
        section(argv[1], lines)
        print("\n".join(lines))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
