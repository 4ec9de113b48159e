"""The soak: steady load for minutes while the faults that leave the topology whole come and go,
with flag-decide's resident memory, open file descriptors, client connections and database
connections sampled every second, to show that none of them grows with time.

Flat means: the last minute's median within a margin of the first minute's (after a minute of
warm-up, so pools and caches have filled).
"""

import os
import threading
import time

MEMORY_MARGIN = 1.10      # the last minute's median RSS at most 10 % above the first's
COUNT_MARGIN = 10         # descriptors and connections: at most this many more


def decide_pid(topology):
    path = os.path.join(topology.data_dir, "run", "flag-decide.pid")
    with open(path) as f:
        return int(f.read().strip())


def resources(pid):
    """(resident KiB, open descriptors, TCP sockets) of a process."""
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    descriptors = os.listdir(f"/proc/{pid}/fd")
    sockets = 0
    for fd in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                sockets += 1
        except OSError:
            pass
    return rss, len(descriptors), sockets


def database_connections(topology):
    """flag_decide's sessions on every node that answers (PgBouncer's server connections included)."""
    total = 0
    for node in ("primary", "standby1", "standby2"):
        try:
            total += int(topology.psql(node, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'flag_decide'",
                                       timeout=5) or 0)
        except Exception:  # a node down for a fault: counted as none
            pass
    return total


class Soak:
    def __init__(self, topology, log):
        self.topology = topology
        self.log = log
        self.samples = []  # (wall time, rss KiB, descriptors, sockets, database connections)
        self.thread = None
        self.stopping = threading.Event()

    def start_sampling(self, interval=1.0):
        def loop():
            while not self.stopping.is_set():
                try:
                    self.sample()
                except OSError as error:  # flag-decide gone: the drill's other checks say why
                    self.log(f"soak: cannot sample flag-decide: {error}")
                self.stopping.wait(interval)
        self.thread = threading.Thread(target=loop, name="soak", daemon=True)
        self.thread.start()

    def stop_sampling(self):
        if self.thread:
            self.stopping.set()
            self.thread.join(30)
            self.thread = None

    def sample(self):
        rss, fds, sockets = resources(decide_pid(self.topology))
        self.samples.append((time.time(), rss, fds, sockets, database_connections(self.topology)))

    def summary(self, warm_up=60.0, window=60.0):
        """{measure: (first minute's median, last minute's median)} and whether each is flat."""
        if not self.samples:
            return {}
        start = self.samples[0][0] + warm_up
        end = self.samples[-1][0]
        first = [s for s in self.samples if start <= s[0] < start + window]
        last = [s for s in self.samples if end - window < s[0] <= end]
        if not first or not last:
            return {}

        def median(values):
            values = sorted(values)
            return values[len(values) // 2]
        out = {}
        for index, name in ((1, "rss_kib"), (2, "descriptors"), (3, "sockets"), (4, "database_connections")):
            a, b = median(s[index] for s in first), median(s[index] for s in last)
            flat = b <= a * MEMORY_MARGIN if name == "rss_kib" else b <= a + COUNT_MARGIN
            out[name] = {"first": a, "last": b, "max": max(s[index] for s in self.samples), "flat": flat}
        return out
