"""The faults the drill injects into its topology, one class each: inject(), an optional loop that
keeps the fault going (during()), hold(), clear(), and checks that the fault really happened and
that what the service promises for it held. The driver measures the load around them.

Order matters only for the last one: the promotion leaves the old primary down for good, so it
runs last (the topology is thrown away afterwards).
"""

import http.client
import json
import multiprocessing
import os
import signal
import subprocess
import threading
import time

from topology import DB_NAME, PG_BINDIR, SERVICE_ROLE, TOKEN, TopologyError, poll_until, port_open

HOLD_TAG = "drill-hold"
FLOOD_LIMIT = 100  # requests/s (and burst) per client address, set in the drill's service
FLOOD_ADDRESS = "203.0.113.66"


class Fault:
    name = ""
    title = ""
    short = False           # part of the short form (make tap)
    description = ""        # for docs/resilience.md
    down_for_good = ()      # routes that stay down after this fault (settling ignores them)
    # Some route to a healthy server stays usable all along: no answer may be degraded (the
    # short form, on a busy machine: none may give up before its deadline).
    healthy_route_remains = False

    def __init__(self):
        self.checks = []     # (ok, text): assertions of this fault beyond the common ones
        self.notes = []      # evidence, for the report

    def check(self, ok, text):
        self.checks.append((bool(ok), text))

    def note(self, text):
        self.notes.append(text)

    def inject(self, d):
        raise NotImplementedError

    def during(self, d, stop):
        """Runs in a thread from inject() until clear() starts; `stop` is a threading.Event."""

    def hold(self, d):
        time.sleep(d.hold)

    def clear(self, d):
        raise NotImplementedError

    def after(self, d):
        """Checks once answers are full again."""


class PsqlSession:
    """One psql process fed statements on stdin (a loop of writes without a process per write)."""

    def __init__(self, topology, node):
        self.proc = subprocess.Popen(topology.psql_argv(topology.port[node]) + ["-v", "ON_ERROR_STOP=0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, text=True)
        topology.helpers.append(self.proc)

    def send(self, sql):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class PgBouncerKilled(Fault):
    name = "pgbouncer-kill"
    title = "PgBouncer killed (-9)"
    short = True
    healthy_route_remains = True
    description = ("SIGKILL to pgbouncer1 (the first route): its connections reset, new ones are refused. "
                   "Cleared by starting it again on the same port.")

    def inject(self, d):
        self.pid = d.topology.signal_pgbouncer(1, signal.SIGKILL)
        gone = poll_until(10, lambda: not port_open(d.topology.port["pgbouncer1"]))
        self.check(gone, f"pgbouncer1 (pid {self.pid}) is gone after SIGKILL")

    def clear(self, d):
        d.topology.wait_process_gone(self.pid)
        d.topology.start_pgbouncer(1)


class BothPgBouncersKilled(Fault):
    name = "pgbouncers-kill"
    title = "both PgBouncers killed (-9)"
    short = True
    healthy_route_remains = True
    description = ("SIGKILL to pgbouncer1 and pgbouncer2 at once: the pooler tier is gone, the standbys "
                   "and the primary are healthy. Cleared by starting both again.")

    def inject(self, d):
        self.pids = [d.topology.signal_pgbouncer(n, signal.SIGKILL) for n in (1, 2)]
        for n in (1, 2):
            gone = poll_until(10, lambda: not port_open(d.topology.port[f"pgbouncer{n}"]))
            self.check(gone, f"pgbouncer{n} is gone after SIGKILL")

    def clear(self, d):
        for n, pid in zip((1, 2), self.pids):
            d.topology.wait_process_gone(pid)
            d.topology.start_pgbouncer(n)


class BothPgBouncersHung(Fault):
    name = "pgbouncers-sigstop"
    title = "both PgBouncers hung (SIGSTOP)"
    short = True
    healthy_route_remains = True
    description = ("SIGSTOP to pgbouncer1 and pgbouncer2 at once: both accept connections and answer "
                   "nothing; the standbys and the primary are healthy. Cleared by SIGCONT.")

    def inject(self, d):
        self.pids = [d.topology.signal_pgbouncer(n, signal.SIGSTOP) for n in (1, 2)]

    def clear(self, d):
        for pid in self.pids:
            os.kill(pid, signal.SIGCONT)


class PgBouncerStopped(Fault):
    name = "pgbouncer-sigstop"
    title = "PgBouncer stopped (SIGSTOP), resumed"
    short = True
    healthy_route_remains = True
    description = ("SIGSTOP to pgbouncer1: the kernel still accepts its connections, nothing answers "
                   "(a hung pooler, a black-holed host). Cleared by SIGCONT.")

    def inject(self, d):
        self.pid = d.topology.signal_pgbouncer(1, signal.SIGSTOP)

    def clear(self, d):
        os.kill(self.pid, signal.SIGCONT)


class PgBouncerPaused(Fault):
    name = "pgbouncer-pause"
    title = "PgBouncer PAUSE (both)"
    healthy_route_remains = True
    description = ("PAUSE on the admin console of both PgBouncers: they accept clients and hold every "
                   "query (the whole pooler tier in maintenance). Cleared by RESUME.")

    def inject(self, d):
        for n in (1, 2):  # returns once the pooler is paused (psql fails otherwise)
            d.topology.pgbouncer_admin(n, "PAUSE")

    def clear(self, d):
        for n in (1, 2):
            d.topology.pgbouncer_admin(n, "RESUME")


class StandbyStopped(Fault):
    name = "standby-stop"
    title = "standby stopped (immediate)"
    short = True
    healthy_route_remains = True
    description = ("pg_ctl stop -m immediate on standby1, behind pgbouncer1 and the standby1 route: "
                   "PgBouncer keeps accepting clients but has no server. Cleared by starting it.")

    def inject(self, d):
        d.topology.stop_node("standby1", "immediate")

    def clear(self, d):
        d.topology.start_node("standby1")


class BackendKilled(Fault):
    name = "backend-kill"
    title = "backends killed on a standby"
    short = True
    healthy_route_remains = True
    description = ("pg_terminate_backend() of every flag_decide session on standby1 (the service's own "
                   "and PgBouncer's server connections), every 250 ms: queries in flight die with "
                   "57P01, pooled connections are lost.")

    def inject(self, d):
        self.killed = 0

    def during(self, d, stop):
        sql = (f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
               f"WHERE usename = '{SERVICE_ROLE}' AND pid <> pg_backend_pid()")
        while not stop.is_set():
            try:
                self.killed += int(d.topology.psql("standby1", sql) or 0)
            except (TopologyError, ValueError, subprocess.TimeoutExpired):
                pass
            stop.wait(0.25)

    def clear(self, d):
        pass

    def after(self, d):
        self.note(f"{self.killed} backends terminated")
        self.check(self.killed > 0, f"flag_decide backends were terminated on standby1 ({self.killed})")


class PoolExhausted(Fault):
    name = "pool-exhaustion"
    title = "pool exhaustion (both PgBouncers)"
    healthy_route_remains = True
    description = ("default_pool_size sessions per PgBouncer, as the service's role, each in pg_sleep "
                   "(one pgbench process per pooler): every server connection of both poolers is taken, "
                   "the service's queries queue. Cleared by terminating the sleepers.")

    def inject(self, d):
        t = d.topology
        self.size = {n: t.pgbouncer_pool_size(n) for n in (1, 2)}
        script = os.path.join(t.work_dir, "hold.sql")
        with open(script, "w") as f:
            f.write(f"SELECT pg_sleep(3600) /* {HOLD_TAG} */;\n")
        os.chmod(script, 0o644)
        for n in (1, 2):
            # One process holding them all: 40 psql processes forked at once would starve a
            # small machine's CPU, which is not the fault under test.
            t.spawn([f"{PG_BINDIR}/pgbench", "-n", "-c", str(self.size[n]), "-T", "3600", "-f", script,
                     "-h", "127.0.0.1", "-p", str(t.port[f"pgbouncer{n}"]), "-U", SERVICE_ROLE, DB_NAME])
        count = f"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{HOLD_TAG}%' AND pid <> pg_backend_pid()"
        for n in (1, 2):
            held = poll_until(20, lambda: int(t.psql(f"standby{n}", count)) >= self.size[n], interval=0.1)
            self.check(held, f"pgbouncer{n}: all {self.size[n]} server connections held by sleepers")
        self.note(f"{self.size[1]} + {self.size[2]} server connections held")

    def clear(self, d):
        t = d.topology
        for n in (1, 2):
            t.psql(f"standby{n}", f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  f"WHERE query LIKE '%{HOLD_TAG}%' AND pid <> pg_backend_pid()")
        for proc in list(t.helpers):  # pgbench ends when its sessions are gone
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            t.helpers.remove(proc)


def flood(port, stop, counts):
    """One client address asking for stored persons' flags as fast as answers come back; counts
    answers by status (200, 429, other)."""
    import signal as signals
    signals.signal(signals.SIGINT, signals.SIG_IGN)
    headers = {"Content-Type": "application/json", "X-Forwarded-For": FLOOD_ADDRESS}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    n = 0
    while not stop.is_set():
        n += 1
        body = json.dumps({"token": TOKEN, "distinct_id": f"user-{n % 1000 + 1}"})
        try:
            conn.request("POST", "/flags?v=2", body, headers)
            response = conn.getresponse()
            response.read()
            slot = {200: 0, 429: 1}.get(response.status, 2)
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            slot = 2
        counts[slot] += 1


class AddressFlood(Fault):
    name = "address-flood"
    title = "flood from one client address"
    short = True
    healthy_route_remains = True
    description = (f"A client at one address ({FLOOD_ADDRESS}, via the trusted local proxy's X-Forwarded-For) "
                   f"asks for stored persons' flags as fast as it is answered, beside the load (whose "
                   f"requests come from many addresses). The service limits each address to {FLOOD_LIMIT} "
                   f"requests/s: the flood gets 429 beyond it, the others' answers stay full.")

    def inject(self, d):
        context = multiprocessing.get_context("fork")
        self.stop = context.Event()
        self.counts = context.Array("q", 3, lock=False)
        self.started = time.time()
        self.proc = context.Process(target=flood, args=(d.topology.port["decide"], self.stop, self.counts),
                                    name="flood")
        self.proc.start()

    def clear(self, d):
        self.stop.set()
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.seconds = time.time() - self.started

    def after(self, d):
        answered, limited, other = self.counts
        self.note(f"the flood sent {answered + limited + other} requests in {self.seconds:.1f} s: {answered} answered, "
                  f"{limited} refused with 429, {other} other")
        self.check(limited > 0, f"the flooding address was refused with 429 ({limited} times)")
        allowed = FLOOD_LIMIT * (self.seconds + 1) + FLOOD_LIMIT  # the rate over the flood, plus the burst
        self.check(answered <= allowed, f"the flooding address got at most its limit answered "
                                        f"({answered} <= {allowed:.0f})")


class HotStandbyConflict(Fault):
    name = "hot-standby-conflict"
    title = "hot-standby conflicts"
    short = True
    healthy_route_remains = True
    description = ("standby1 with max_standby_streaming_delay = 0 and hot_standby_feedback = off; the "
                   "primary takes an ACCESS EXCLUSIVE lock on flag_eval.persons every 10 ms, which "
                   "standby1 replays by cancelling the queries reading it (SQLSTATE 40001, conflict "
                   "with recovery). The service retries them on the next route.")

    CONFLICTS = ("SELECT confl_lock + confl_snapshot + confl_bufferpin + confl_deadlock + confl_tablespace "
                 "FROM pg_stat_database_conflicts WHERE datname = current_database()")

    def inject(self, d):
        t = d.topology
        t.psql("standby1", "ALTER SYSTEM SET max_standby_streaming_delay = 0")
        t.psql("standby1", "ALTER SYSTEM SET hot_standby_feedback = off")
        t.psql("standby1", "SELECT pg_reload_conf()")
        poll_until(5, lambda: t.psql("standby1", "SHOW max_standby_streaming_delay") == "0", interval=0.05)
        self.before = int(t.psql("standby1", self.CONFLICTS))
        self.locks = 0

    def during(self, d, stop):
        session = PsqlSession(d.topology, "primary")
        try:
            while not stop.is_set():
                session.send("BEGIN; LOCK TABLE flag_eval.persons IN ACCESS EXCLUSIVE MODE; COMMIT;")
                self.locks += 1
                stop.wait(0.01)
        finally:
            session.close()

    def hold(self, d):
        # Queries are short, so a conflict needs a lock replayed while one runs: on a quiet or
        # slow run, hold on (10 s at most) until the first cancellation.
        time.sleep(d.hold)
        poll_until(10, lambda: int(d.topology.psql("standby1", self.CONFLICTS)) > self.before, interval=0.1)

    def clear(self, d):
        t = d.topology
        t.psql("standby1", "ALTER SYSTEM RESET max_standby_streaming_delay")
        t.psql("standby1", "ALTER SYSTEM RESET hot_standby_feedback")
        t.psql("standby1", "SELECT pg_reload_conf()")

    def after(self, d):
        t = d.topology
        t.wait_replayed(("standby1",))
        conflicts = int(t.psql("standby1", self.CONFLICTS)) - self.before
        self.note(f"{self.locks} exclusive locks replayed; {conflicts} standby queries cancelled")
        self.check(conflicts > 0, f"standby1 cancelled queries for conflicts with recovery ({conflicts})")


class ReplicaLag(Fault):
    name = "replica-lag"
    title = "replica lag beyond the bound"
    short = True
    healthy_route_remains = True  # the primary
    description = ("pg_wal_replay_pause() on both standbys while the primary keeps writing: their lag grows "
                   "past max_replica_lag_ms. A canary person is then changed on the primary: every answer "
                   "for it must show the change (no stale replica answers person data). Cleared by "
                   "pg_wal_replay_resume().")

    def inject(self, d):
        for s in ("standby1", "standby2"):
            d.topology.psql(s, "SELECT pg_wal_replay_pause()")

    def during(self, d, stop):
        session = PsqlSession(d.topology, "primary")
        try:
            while not stop.is_set():  # WAL keeps moving: the standbys fall behind in time
                session.send(f"UPDATE flag_eval.persons SET properties = properties WHERE id = {d.canary_person};")
                stop.wait(0.05)
        finally:
            session.close()

    def hold(self, d):
        started = time.monotonic()
        bound = d.max_lag_ms / 1000.0
        lagging = ("pgbouncer1", "pgbouncer2", "standby1", "standby2")

        def beyond():
            routes = d.sampler.latest()
            return all(routes.get(r, {}).get("lag_seconds", 0) > bound for r in lagging)
        seen = poll_until(15, beyond, interval=0.05)
        self.check(seen, f"the service judged every replica route more than {bound:g} s behind")
        # The canary: the primary has it as an enterprise customer; the paused standbys do not.
        d.topology.psql("primary", f"UPDATE flag_eval.persons SET properties = properties || "
                                   f"'{{\"plan\": \"enterprise\"}}' WHERE id = {d.canary_person}")
        answers = [d.service.flags({"token": TOKEN, "distinct_id": d.canary_id})[1] for _ in range(20)]
        fresh = sum(1 for a in answers if a and not a["flags"]["paid-plan"].get("failed")
                    and a["flags"]["paid-plan"]["enabled"])
        self.note(f"canary: {fresh}/20 answers show the primary's new data")
        self.check(fresh == 20, f"lagging replicas serve no person data: {fresh}/20 canary answers are fresh")
        time.sleep(max(0.0, d.hold - (time.monotonic() - started)))

    def clear(self, d):
        for s in ("standby1", "standby2"):
            d.topology.psql(s, "SELECT pg_wal_replay_resume()")

    def after(self, d):
        d.topology.psql("primary", f"UPDATE flag_eval.persons SET properties = properties || "
                                   f"'{{\"plan\": \"free\"}}' WHERE id = {d.canary_person}")


class AllDown(Fault):
    name = "all-down"
    title = "every database down, then back"
    short = True
    description = ("pg_ctl stop -m immediate on the primary and both standbys (the PgBouncers stay up with "
                   "no server behind them). Cleared by starting all three.")

    def inject(self, d):
        threads = [threading.Thread(target=d.topology.stop_node, args=(n, "immediate")) for n in
                   ("standby1", "standby2", "primary")]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    def clear(self, d):
        d.topology.start_node("primary")
        errors = []

        def start(node):
            try:
                d.topology.start_node(node)
            except Exception as error:  # reported below, in this thread
                errors.append(error)
        threads = [threading.Thread(target=start, args=(n,)) for n in ("standby1", "standby2")]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise errors[0]


class PrimaryPromoted(Fault):
    name = "primary-promote"
    title = "primary stopped, standby promoted"
    description = ("pg_ctl stop -m immediate on the primary; after the hold, pg_ctl promote on standby1. "
                   "Experience-continuity writes must then land on the promoted node. Runs last: the "
                   "topology is not put back (the drill discards it).")
    down_for_good = ("primary",)

    def inject(self, d):
        d.topology.stop_node("primary", "immediate")

    def clear(self, d):
        d.topology.pg_ctl("standby1", "-w", "-t", "60", "promote")

    def after(self, d):
        t = d.topology
        # Persons the load never asks about, with an anonymous id each: the service records their
        # continuity overrides on whichever node answers as a primary now.
        ids = [f"user-{d.persons - k}" for k in range(5)]

        def written():
            for i in ids:
                d.service.flags({"token": TOKEN, "distinct_id": i, "$anon_distinct_id": f"promo-anon-{i}"})
            listed = ", ".join(f"'{i}'" for i in ids)
            return int(t.psql("standby1", f"""
                SELECT count(*) FROM flag_eval.hash_key_overrides h
                JOIN flag_eval.person_distinct_ids p ON p.person_id = h.person_id AND p.team_id = h.team_id
                WHERE p.distinct_id IN ({listed}) AND h.hash_key LIKE 'promo-anon-%'""")) == len(ids)
        ok = poll_until(10, written, interval=0.2)
        in_recovery = t.psql("standby1", "SELECT pg_is_in_recovery()")
        self.note("continuity overrides written on the promoted standby1" if ok else
                  "continuity overrides missing on the promoted standby1")
        self.check(ok and in_recovery == "f",
                   "experience-continuity writes go to the promoted standby1 (5 of 5 overrides there)")


ALL = [PgBouncerKilled, PgBouncerStopped, PgBouncerPaused, BothPgBouncersKilled, BothPgBouncersHung,
       StandbyStopped, BackendKilled, PoolExhausted, AddressFlood, HotStandbyConflict, ReplicaLag, AllDown,
       PrimaryPromoted]
BY_NAME = {f.name: f for f in ALL}
