#!/usr/bin/python3
"""Failure drills for the decide service: while steady /flags?v=2 traffic runs, inject each fault
into a topology of the drill's own (primary, two standbys, a PgBouncer per standby, flag-decide),
clear it, and measure HTTP statuses, degraded answers, wrong answers, latency and the seconds
until answers are full again. Asserts what the service promises (docs/reference.md, Resilience
contract): no request fails, latency never exceeds the deadline plus 50 ms (in the short form,
half the time a hung route is held: no answer waits on a hang), flags that need no stored data
are always correct, full answers within 5 s after a fault clears.

    test/drill/drill.py                      the full drill (about ten minutes): the service's
                                             capacity measured first, every fault at 70 % of it,
                                             then every fault again at 400 requests/s with a busy
                                             loop on each core
    test/drill/drill.py --rate 400           one pass at a fixed rate (--busy: with busy loops)
    test/drill/drill.py --short              a subset with short holds (make tap: 020_drill_short.pl)
    test/drill/drill.py --faults a,b         only these faults (--list names them)
    test/drill/drill.py --report docs/resilience.md   also write the Markdown report

Needs the extension installed and build/flag-decide built (make drill does both). Runs as root
(servers run as postgres) or as postgres. Stops everything it started, failures included.
Exit status 0 when every assertion held, 1 when one failed, 2 when the drill could not run.
Debian's /usr/bin/python3, standard library only.
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import faults  # noqa: E402
import report  # noqa: E402
from freshness import FreshnessProbe  # noqa: E402
from soak import Soak  # noqa: E402
from load import Load, judge  # noqa: E402
from service import MetricsSampler, Service  # noqa: E402
from subjects import prepare_subjects  # noqa: E402
from topology import TOKEN, Topology, TopologyError, poll_until  # noqa: E402


class Interrupted(Exception):
    pass


def log(message):
    print(f"drill {time.strftime('%H:%M:%S')}: {message}", flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true", help="the short form: fewer faults, shorter holds")
    p.add_argument("--faults", help="comma-separated fault names (default: all, or the short set)")
    p.add_argument("--list", action="store_true", help="list the faults and exit")
    p.add_argument("--rate", type=float,
                   help="one pass at this many requests/s, all workers together [short: 400; full: two passes, "
                        "at --capacity-share of the measured capacity, then at --busy-rate with busy loops]")
    p.add_argument("--capacity-share", type=float, default=0.7, help="the full drill's first pass rate [0.7]")
    p.add_argument("--busy-rate", type=float, default=400, help="the full drill's second pass rate [400]")
    p.add_argument("--busy", action="store_true", help="with --rate: a busy loop on each core during the pass")
    p.add_argument("--soak", type=float, default=0,
                   help="also this many seconds at --capacity-share of capacity (or --rate) with the faults "
                        "cycling, sampling flag-decide's memory, descriptors and connections [0: no soak]")
    p.add_argument("--workers", type=int, default=8, help="load worker processes [8]")
    p.add_argument("--hold", type=float, help="seconds each fault is held [5; short 2]")
    p.add_argument("--persons", type=int, help="persons in the sample data [100000; short 20000]")
    p.add_argument("--deadline-ms", type=int, default=50, help="flag-decide's request deadline [50]")
    p.add_argument("--max-lag-ms", type=int, default=1000, help="flag-decide's max replica lag [1000]")
    p.add_argument("--work-dir", help="where the topology lives [a new /var/tmp/flag_eval_drill.*]")
    p.add_argument("--decide-bin", default=os.path.join(REPO, "build", "flag-decide"))
    p.add_argument("--report", help="write the Markdown report here (docs/resilience.md)")
    p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--log-dir", help="copy the servers' logs here at the end")
    p.add_argument("--trace", help="write every request record and /metrics sample here (JSON)")
    p.add_argument("--keep", action="store_true", help="leave the topology running at the end (debugging)")
    args = p.parse_args(argv)
    if args.short and args.rate is None:
        args.rate = 400.0
    if args.busy and args.rate is None:
        p.error("--busy goes with --rate (the full drill has a busy pass of its own)")
    if args.hold is None:
        args.hold = 2.0 if args.short else 5.0
    if args.persons is None:
        args.persons = 20000 if args.short else 100000
    if args.faults:
        names = [n.strip() for n in args.faults.split(",") if n.strip()]
        unknown = [n for n in names if n not in faults.BY_NAME]
        if unknown:
            p.error(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(faults.BY_NAME)}")
        args.fault_classes = [f for f in faults.ALL if f.name in names]
    else:
        args.fault_classes = [f for f in faults.ALL if f.short or not args.short]
    return args


class Drill:
    """What a fault gets to work with."""

    def __init__(self, args, topology):
        self.args = args
        self.topology = topology
        self.service = Service(topology.port["decide"])
        self.sampler = MetricsSampler(self.service)
        self.load = None
        self.hold = args.hold
        self.deadline_ms = args.deadline_ms
        self.max_lag_ms = args.max_lag_ms
        self.persons = args.persons
        self.canary_id = "drill-canary"
        self.canary_person = None
        self.down_for_good = set()
        self.freshness = FreshnessProbe(topology, topology.port["decide"], log)
        self.soak = Soak(topology, log)


def create_canary(topology, distinct_id):
    """A person only the replica-lag fault changes (never asked about by the load)."""
    return int(topology.psql("primary", f"""
        WITH team AS (SELECT id FROM flag_eval.teams WHERE api_token = '{TOKEN}'),
             person AS (INSERT INTO flag_eval.persons (team_id, properties)
                        SELECT id, '{{"plan": "free", "email": "canary@example.com"}}' FROM team RETURNING id, team_id),
             ids AS (INSERT INTO flag_eval.person_distinct_ids (team_id, distinct_id, person_id)
                     SELECT team_id, '{distinct_id}', id FROM person)
        SELECT id FROM person"""))


def check_full_answers(service, subjects):
    """Every subject once, all databases up: each answer must be full and equal the expected one."""
    bad = []
    for kind, request, expected, local in subjects:
        status, body = service.request("POST", "/flags?v=2", request)
        if status != 200:
            bad.append(f"{request['distinct_id']}: HTTP {status}")
            continue
        degraded, failed, wrong, local_bad, problem = judge(body, expected, local)
        if degraded or wrong:
            bad.append(f"{request['distinct_id']}: {problem or 'degraded'}")
    return bad


def settle(d, quiet=1.0, seconds=30.0):
    """Waits until every route is healthy in /metrics and the last answer that was not full is
    `quiet` seconds old. False if that does not happen within `seconds`."""
    def calm():
        return (d.sampler.all_routes_healthy(d.down_for_good)
                and time.time() - d.load.last_bad_completion() >= quiet)
    return poll_until(seconds, calm, interval=0.05)


def run_fault(d, fault):
    row = {"name": fault.name, "title": fault.title, "healthy_route_remains": fault.healthy_route_remains}
    if not settle(d):
        fault.check(False, f"{fault.title}: the service was healthy before the fault (routes: {d.sampler.latest()})")
    log(f"{fault.title}: inject")
    row["start"] = time.time()
    fault.inject(d)
    row["injected"] = time.time()
    stop = threading.Event()

    def keep_going():
        try:
            fault.during(d, stop)
        except Exception as error:  # reported as a failed check of this fault
            fault.check(False, f"{fault.title}: the fault's loop failed: {error!r}")
    loop = threading.Thread(target=keep_going, name=f"{fault.name}-loop", daemon=True)
    loop.start()
    try:
        fault.hold(d)
    finally:
        stop.set()
        loop.join(30)
    row["clear_start"] = time.time()
    log(f"{fault.title}: clear")
    fault.clear(d)
    row["cleared"] = time.time()
    d.down_for_good.update(fault.down_for_good)
    # Watch until answers have been full for a while (at least 2 s after clearing, at most 10 s
    # past the bound: a slower recovery is a failure the row shows).
    while True:
        now = time.time()
        since_bad = now - max(d.load.last_bad_completion(), row["cleared"])
        if now - row["cleared"] >= 2.0 and since_bad >= 1.5:
            break
        if now - row["cleared"] >= report.FULL_WITHIN + 10:
            break
        time.sleep(0.05)
    row["end"] = time.time()
    fault.after(d)
    row["held"] = row["clear_start"] - row["start"]
    row["restore_s"] = row["cleared"] - row["clear_start"]
    row["notes"] = fault.notes
    row["checks"] = fault.checks
    log(f"{fault.title}: done (held {row['held']:.1f} s, clearing took {row['restore_s']:.2f} s)")
    return row


def copy_logs(topology, log_dir):
    if not log_dir:
        return
    os.makedirs(log_dir, exist_ok=True)
    for src_dir, prefix in ((os.path.join(topology.data_dir, "log"), "drill_"),
                            (os.path.join(topology.work_dir, "oracle"), "drill_oracle_")):
        if os.path.isdir(src_dir):
            for name in os.listdir(src_dir):
                if name.endswith(".log"):
                    try:
                        shutil.copy(os.path.join(src_dir, name), os.path.join(log_dir, prefix + name))
                    except OSError:
                        pass
    for name in ("deploy-up.log", "deploy-down.log"):
        path = os.path.join(topology.work_dir, name)
        if os.path.exists(path):
            shutil.copy(path, os.path.join(log_dir, "drill_" + name))


def plan_passes(args):
    """The load of each pass: {"title", "rate" (None: measure the capacity first), "busy", "last",
    "soak" (seconds of faults cycling, or absent)}. The promotion fault discards the primary, so it
    runs in the last pass only, and never in a soak."""
    if args.rate is not None:
        title = f"at {args.rate:g} requests/s" + (", a busy loop on each core" if args.busy else "")
        passes = [{"title": title, "rate": args.rate, "busy": args.busy, "last": True}]
    else:
        passes = [{"title": "at capacity", "rate": None, "busy": False, "last": False},
                  {"title": f"at {args.busy_rate:g} requests/s, a busy loop on each core", "rate": args.busy_rate,
                   "busy": True, "last": True}]
    if args.soak:
        # Before the last pass, whose promotion leaves the primary down.
        passes.insert(len(passes) - 1, {"title": f"soak: {args.soak:g} s, faults cycling", "rate": args.rate,
                                        "busy": False, "last": False, "soak": args.soak})
    return passes


class BusyLoops:
    """A spinning process per core (other work on the machine), ended by pid however the drill ends."""

    def __init__(self):
        self.procs = []

    def start(self, count):
        for _ in range(count):
            self.procs.append(subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"]))

    def stop(self):
        for proc in self.procs:
            proc.kill()
            proc.wait()
        self.procs = []


def measure_capacity(d, subjects, out_dir, seconds=4.0, warm_up=1.0):
    """Requests/s the service answers with every database up, the drill's own load generator
    sending as fast as answers come back (closed loop; on a small machine the generator's CPU is
    part of what limits it)."""
    load = Load(d.topology.port["decide"], subjects, None, d.args.workers, out_dir)
    start = load.start()
    time.sleep(max(0.0, start + warm_up + seconds - time.time()))
    records, _, _ = load.stop()
    counted = [r for r in records if start + warm_up <= r[0] < start + warm_up + seconds]
    capacity = len(counted) / seconds
    full = sum(1 for r in counted if r[2] == 200 and not r[3])
    log(f"capacity: {capacity:.0f} requests/s ({full} of {len(counted)} answers full)")
    return capacity


def run_pass(d, plan, number, subjects, out_dir, result):
    """A baseline and every fault of the pass under steady load at the pass's rate. Returns
    (timeline rows, records, problems, problem count, whether the drill must stop here)."""
    d.down_for_good = set()
    d.load = Load(d.topology.port["decide"], subjects, plan["rate"], d.args.workers, out_dir)
    baseline_start = d.load.start()
    log(f"load: {plan['rate']:g} requests/s from {d.args.workers} workers")
    rows = []
    stopped_early = False
    try:
        time.sleep(max(0.0, baseline_start + (3.0 if d.args.short else 5.0) - time.time()))
        rows.append({"name": "baseline", "title": "no fault (baseline)", "start": baseline_start,
                     "end": time.time(), "cleared": None, "held": None, "restore_s": None,
                     "notes": [], "checks": [], "healthy_route_remains": True})
        cycle = [f for f in d.args.fault_classes if not f.down_for_good or plan["last"]]
        soak_until = time.time() + plan["soak"] if plan.get("soak") else None
        if soak_until:
            cycle = [f for f in cycle if not f.down_for_good]
            d.soak.start_sampling()
        index = 0
        while index < len(cycle) or (soak_until and time.time() < soak_until):
            fault = cycle[index % len(cycle)]()
            index += 1
            try:
                rows.append(run_fault(d, fault))
            except Exception:
                # A fault that cannot be injected or cleared leaves the topology in an unknown
                # state: the drill stops here and reports what it has.
                trace = traceback.format_exc()
                log(f"{fault.title}: failed:\n{trace}")
                result["assertions"].append((False, f"{fault.title}: the drill could inject and clear it: "
                                                    f"{trace.strip().splitlines()[-1]}"))
                stopped_early = True
                break
            if not d.load.alive():
                raise RuntimeError("a load worker died")
    finally:
        d.soak.stop_sampling()
        records, problems, problem_count = d.load.stop()
    for row in rows:
        row["pass"] = number
        row["busy"] = plan["busy"]
    return rows, records, problems, problem_count, stopped_early


def problem_line(sent, text):
    return f"{datetime.datetime.fromtimestamp(sent).strftime('%H:%M:%S.%f')[:-3]} {text}"


def judge_row(d, row, records, problems, latency_bound, latency_why, strict, result, next_row=None):
    """The row's figures from the records, and its assertions into result; a row that fails an
    assertion keeps the first problems the load saw in its window. `next_row`: the window that
    followed this one in the same pass, if any."""
    sampled_down, lag = d.sampler.summary(row["start"], row["end"])
    row["routes_down"] = sampled_down
    row["max_lag_s"] = lag
    attempts = d.sampler.attempts_between(row["start"], row["end"])
    row["attempts"] = attempts
    if attempts.get("retry") or attempts.get("hedge"):
        row["notes"].append(f"{attempts.get('retry', 0)} queries retried after a failure, "
                            f"{attempts.get('hedge', 0)} hedged beside a slow attempt "
                            f"(of {attempts.get('first', 0)} first attempts)")
    slow = d.sampler.server_slower_than(row["start"], row["end"])
    row["server_slower_than_100ms"] = slow
    if slow:
        row["notes"].append(f"{slow} answers took the service itself over 100 ms (its /metrics)")
    # A route that is down reports the lag of its last probe, growing: not lag, so left out.
    behind = {name: seconds for name, seconds in lag.items() if seconds >= 0.5 and name not in sampled_down}
    if behind:
        row["notes"].append("largest lag the service saw: " + ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in sorted(behind.items())))
    row["stats"] = report.window_stats(records, row["start"], row["end"], row["cleared"], row.get("clear_start"))
    # An edit made just before every database goes down (this row's fault or the next one's:
    # faults follow each other at once) can only arrive once they are back: not a delay of the
    # service's.
    outages = [r["injected"] for r in (row, next_row) if r and not r["healthy_route_remains"] and "injected" in r]
    row["freshness"] = d.freshness.window(row["start"], row["end"], outages)
    note = report.freshness_note(row["freshness"])
    if note:
        row["notes"].append(note)
    if row["stats"]["degraded"]:
        row["notes"].append(f"{row['stats']['failed_per_degraded']:.1f} failed flags per degraded answer")
    is_fault = row["name"] != "baseline"
    prefix = f"pass {row['pass'] + 1}, " if len(result["passes"]) > 1 else ""
    assertions = [(ok, prefix + text) for ok, text in
                  report.assertions_for(row, latency_bound, latency_why, is_fault, strict=strict) + row["checks"]]
    result["assertions"].extend(assertions)
    if not all(ok for ok, _ in assertions):
        row["problems"] = [problem_line(t, p) for t, p in problems if row["start"] <= t < row["end"]][:5]
    result["rows"].append({k: v for k, v in row.items() if k not in ("checks",)})


def main(argv):
    args = parse_args(argv)
    if args.list:
        for f in faults.ALL:
            print(f"{f.name:22} {'short ' if f.short else '      '}{f.title}")
        return 0
    # SIGTERM (a timeout, make interrupted) and Ctrl-C end the drill as a failure: the topology
    # is still stopped and what was measured is still reported.
    def interrupted(signum, _frame):
        raise Interrupted(f"interrupted by signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)

    temp_work = args.work_dir is None
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="flag_eval_drill.", dir="/var/tmp")
    os.makedirs(work_dir, exist_ok=True)
    # A per-address limit the load (many addresses, see load.py) never meets and the flood fault's
    # one address does; 127.0.0.1 is the "proxy" whose X-Forwarded-For is believed.
    settings = (f'"request_deadline_ms": {args.deadline_ms}, "max_replica_lag_ms": {args.max_lag_ms}, '
                f'"rate_limit_per_address": {faults.FLOOD_LIMIT}, '
                f'"rate_limit_per_address_burst": {faults.FLOOD_LIMIT}, "trusted_proxies": ["127.0.0.1"]')
    topology = Topology(REPO, work_dir, args.persons, settings, log)
    d = Drill(args, topology)
    # The command that reproduces the figures: without the options that only say where output goes.
    shown, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--json", "--trace", "--log-dir", "--work-dir"):
            skip = True
        elif not a.startswith(("--json=", "--trace=", "--log-dir=", "--work-dir=")):
            shown.append(a)
    passes = plan_passes(args)
    result = {
        "command": " ".join(shlex.quote(a) for a in ["test/drill/drill.py"] + shown),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": report.machine(),
        "settings": {"deadline_ms": args.deadline_ms, "max_lag_ms": args.max_lag_ms, "persons": args.persons,
                     "workers": args.workers, "hold": args.hold},
        "passes": passes,
        "rows": [],
        "assertions": [],
    }
    records, problems, problem_count = [], [], 0
    error = None
    timeline = []
    busy = BusyLoops()
    started = time.monotonic()
    try:
        if not os.access(args.decide_bin, os.X_OK):
            raise TopologyError(f"{args.decide_bin} is missing: build it first (make decide)")
        log(f"topology in {work_dir}: ports {topology.port}")
        topology.prepare(args.decide_bin)
        topology.up()
        d.canary_person = create_canary(topology, d.canary_id)
        subjects = prepare_subjects(topology, work_dir, stored=200, visitors=100, guests=100, log=log)
        result["settings"]["subjects"] = (f"{len(subjects)} subjects (200 stored persons, 100 visitors, "
                                          f"100 guests)")
        bad = poll_until(10, lambda: not check_full_answers(d.service, subjects) or None, interval=0.5)
        if bad is None:
            raise TopologyError("with every database up the service does not give the expected answers:\n  "
                                + "\n  ".join(check_full_answers(d.service, subjects)[:20]))
        d.sampler.start()
        d.freshness.create_team()
        if not d.freshness.wait_for_team():
            raise TopologyError("the service does not serve the freshness probe's team")
        d.freshness.start()
        for number, plan in enumerate(passes):
            if plan["rate"] is None and "capacity" in result["settings"]:
                plan["rate"] = round(args.capacity_share * result["settings"]["capacity"])
                plan["title"] += f" at {plan['rate']:g} requests/s"
            elif plan["rate"] is None:
                capacity = measure_capacity(d, subjects, os.path.join(work_dir, "capacity"))
                result["settings"]["capacity"] = capacity
                plan["rate"] = round(args.capacity_share * capacity)
                plan["title"] = (f"at {args.capacity_share:.0%} of capacity: {plan['rate']:g} requests/s "
                                 f"(capacity {capacity:.0f} requests/s)")
            log(f"pass {number + 1}: {plan['title']}")
            if plan["busy"]:
                busy.start(os.cpu_count() or 1)
            try:
                rows, pass_records, pass_problems, pass_count, stopped_early = run_pass(
                    d, plan, number, subjects, os.path.join(work_dir, f"load{number + 1}"), result)
            finally:
                busy.stop()
            timeline.extend(rows)
            records.extend(pass_records)
            problems.extend(pass_problems)
            problem_count += pass_count
            if stopped_early:
                break
    except Exception:
        error = traceback.format_exc()
        log(f"the drill could not run:\n{error}")
    finally:
        # A second SIGTERM or Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        busy.stop()
        if d.freshness.is_alive():
            d.freshness.stop()
        if d.load is not None and d.load.running():
            try:
                pass_records, pass_problems, pass_count = d.load.stop()
                records.extend(pass_records)
                problems.extend(pass_problems)
                problem_count += pass_count
            except Exception:
                error = error or traceback.format_exc()
        if d.sampler.is_alive():
            d.sampler.stop()
        copy_logs(topology, args.log_dir)
        log("stopping the load and the topology")
        if args.keep:
            log(f"kept the topology running in {work_dir} (stop it: FLAG_EVAL_DATA={topology.data_dir} deploy/down.sh)")
        else:
            if not topology.down():
                error = error or "deploy/down.sh --purge failed"
            elif temp_work:
                shutil.rmtree(work_dir, ignore_errors=True)
    records.sort()
    problems.sort()

    # The full drill runs on a quiet machine and holds the service to its deadline. The short form
    # runs inside `make test`, where other work may hold both cores: there the promise asserted is
    # structural, that no answer waited for a hung route (a hang lasts the whole hold).
    if args.short:
        latency_bound = args.hold * 1000 / 2
        latency_why = f"half the {args.hold:g} s a hung route is held: no answer waited on one"
    else:
        latency_bound = args.deadline_ms + 50
        latency_why = "deadline + 50 ms"
    for i, row in enumerate(timeline):
        following = timeline[i + 1] if i + 1 < len(timeline) else None
        if following and following["pass"] != row["pass"]:
            following = None
        judge_row(d, row, records, problems, latency_bound, latency_why, strict=not args.short,
                  result=result, next_row=following)
    if args.soak:
        result["soak"] = d.soak.summary()
        if not result["soak"]:
            result["assertions"].append((False, "soak: flag-decide's resources were sampled for two minutes"))
        for name, f in result["soak"].items():
            result["assertions"].append((f["flat"], f"soak: {name} flat (first minute {f['first']}, last minute "
                                                    f"{f['last']}, max {f['max']})"))
    # A busy machine slows the load generator too: the short form asks only that the load ran
    # (the figures at full pace are make drill's).
    pace = 0.25 if args.short else 0.9
    for row in timeline:
        if row["name"] == "baseline":
            plan = passes[row["pass"]]
            result["assertions"].append((row["stats"]["rate"] >= pace * plan["rate"],
                                         f"{plan['title']}: the load kept its pace: {row['stats']['rate']:.0f} "
                                         f"requests/s in the baseline (asked {plan['rate']:g}, at least "
                                         f"{pace:.0%} of it)"))
    if error:
        result["assertions"].append((False, f"the drill ran to the end: {error.strip().splitlines()[-1]}"))
        result["error"] = error
    result["problems"] = [problem_line(t, p) for t, p in problems]
    result["problem_count"] = problem_count
    result["seconds"] = time.monotonic() - started

    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.trace:
        with open(args.trace, "w") as f:
            json.dump({"timeline": [{k: v for k, v in row.items() if k != "stats"} for row in timeline],
                       "records": records, "samples": d.sampler.samples}, f)
    if args.report and result["rows"]:
        report.write_markdown(args.report, result, args.fault_classes)
        log(f"report written to {args.report}")
    print()
    print(report.results_by_pass(result) if result["rows"] else "no figures")
    for ok, text in result["assertions"]:
        print(f"{'ok' if ok else 'NOT OK'}: {text}")
    for p in result["problems"][:20]:
        print(f"problem: {p}")
    failed = sum(1 for ok, _ in result["assertions"] if not ok)
    log(f"{len(result['assertions']) - failed} assertions held, {failed} failed ({result['seconds']:.0f} s)")
    if error and not timeline:
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
