"""The drill's own replica topology: deploy/up.sh and deploy/down.sh on ports and a data directory
of its own (never a `make up` topology), and the handles the faults need: psql on each node,
pg_ctl, PgBouncer's pid and admin console, flag-decide's address.

Layout (deploy/lib.sh): <data>/primary, standby1, standby2 (data directories), pgbouncer/
(pgbouncer1.ini, pgbouncer2.ini), run/ (sockets, pid files), log/, decide/ (config, snapshot).
Servers run as the unprivileged account (postgres); the drill itself may run as root or as it.
"""

import os
import pwd
import random
import shutil
import socket
import subprocess
import time

RUN_AS = "postgres"
PG_BINDIR = "/usr/lib/postgresql/15/bin"
PGBOUNCER_BIN = "/usr/sbin/pgbouncer"
TOKEN = "phc_demo"
SECRET = "phs_demo"
DB_NAME = "app"
SERVICE_ROLE = "flag_decide"

NODES = ("primary", "standby1", "standby2")


class TopologyError(RuntimeError):
    pass


def free_ports(count):
    """`count` distinct TCP ports of 127.0.0.1 that are free now, below the kernel's ephemeral
    range: a server restarted during the drill must find its port free again, and a port in that
    range may meanwhile have become the local end of some outgoing connection."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    candidates = list(range(max(1024, low - 12000), low))
    random.shuffle(candidates)
    ports = []
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise TopologyError(f"no {count} free ports below {low}")


def port_open(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def poll_until(seconds, condition, interval=0.05):
    """Calls condition() until it returns something true or `seconds` pass; returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def clean_env():
    """This process's environment without libpq settings that would redirect our psql calls."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("PG"):
            del env[key]
    return env


class Topology:
    def __init__(self, repo, work_dir, persons, decide_settings, log):
        self.repo = repo
        self.work_dir = work_dir
        self.data_dir = os.path.join(work_dir, "data")
        self.persons = persons
        self.decide_settings = decide_settings
        self.log = log
        ports = free_ports(6)
        self.port = {
            "primary": ports[0],
            "standby1": ports[1],
            "standby2": ports[2],
            "pgbouncer1": ports[3],
            "pgbouncer2": ports[4],
            "decide": ports[5],
        }
        self.decide_bin = os.path.join(work_dir, "bin", "flag-decide")
        self.as_root = os.geteuid() == 0
        self.run_as_uid = pwd.getpwnam(RUN_AS).pw_uid
        self.helpers = []  # processes the drill starts (psql sessions), killed at teardown

    # ---- paths ----
    def node_dir(self, node):
        return os.path.join(self.data_dir, node)

    def pgbouncer_ini(self, n):
        return os.path.join(self.data_dir, "pgbouncer", f"pgbouncer{n}.ini")

    def pgbouncer_pidfile(self, n):
        return os.path.join(self.data_dir, "run", f"pgbouncer{n}.pid")

    def log_path(self, name):
        return os.path.join(self.data_dir, "log", name)

    @property
    def decide_url(self):
        return f"http://127.0.0.1:{self.port['decide']}"

    @property
    def snapshot_path(self):
        return os.path.join(self.data_dir, "decide", "definitions.snapshot.json")

    # ---- setup and teardown ----
    def prepare(self, decide_binary):
        """The work directory: a copy of flag-decide (a rebuild of build/ during the drill must not
        restart the service under it) and an empty data directory deploy/up.sh gives to postgres."""
        os.makedirs(os.path.join(self.work_dir, "bin"), exist_ok=True)
        os.chmod(self.work_dir, 0o755)
        os.chmod(os.path.join(self.work_dir, "bin"), 0o755)
        shutil.copy2(decide_binary, self.decide_bin)
        os.chmod(self.decide_bin, 0o755)
        os.makedirs(self.data_dir, exist_ok=True)

    def deploy_env(self):
        env = clean_env()
        env.update(
            FLAG_EVAL_DATA=self.data_dir,
            PRIMARY_PORT=str(self.port["primary"]),
            STANDBY1_PORT=str(self.port["standby1"]),
            STANDBY2_PORT=str(self.port["standby2"]),
            PGBOUNCER1_PORT=str(self.port["pgbouncer1"]),
            PGBOUNCER2_PORT=str(self.port["pgbouncer2"]),
            DECIDE_HOST="127.0.0.1",
            DECIDE_PORT=str(self.port["decide"]),
            PERSONS=str(self.persons),
            DECIDE_BIN=self.decide_bin,
            DECIDE_SETTINGS=self.decide_settings,
        )
        return env

    def up(self):
        out = os.path.join(self.work_dir, "deploy-up.log")
        with open(out, "ab") as f:
            status = subprocess.run([os.path.join(self.repo, "deploy", "up.sh")], env=self.deploy_env(),
                                    stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
        if status != 0:
            raise TopologyError(f"deploy/up.sh failed (exit {status}):\n" + tail(out, 30))

    def down(self):
        """Stops everything: the drill's helper sessions, then deploy/down.sh --purge. Returns
        False when something did not stop (its output is logged)."""
        for proc in self.helpers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.helpers.clear()
        # A SIGSTOPped PgBouncer ignores SIGTERM until continued.
        for n in (1, 2):
            pid = self.pgbouncer_pid(n)
            if pid:
                try:
                    os.kill(pid, 18)  # SIGCONT
                except OSError:
                    pass
        if not os.path.isdir(self.data_dir):
            return True
        out = os.path.join(self.work_dir, "deploy-down.log")
        with open(out, "ab") as f:
            status = subprocess.run([os.path.join(self.repo, "deploy", "down.sh"), "--purge"],
                                    env=self.deploy_env(), stdout=f, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL).returncode
        if status != 0:
            self.log(f"deploy/down.sh --purge failed (exit {status}):\n" + tail(out, 20))
        return status == 0

    # ---- running things ----
    def as_user(self, argv):
        """argv run as the unprivileged account (PostgreSQL and PgBouncer refuse root)."""
        if self.as_root:
            return ["runuser", "-u", RUN_AS, "--"] + argv
        return argv

    def run(self, argv, timeout=60, check=True, as_user=False, input=None):
        argv = self.as_user(argv) if as_user else argv
        proc = subprocess.run(argv, env=clean_env(), capture_output=True, text=True, timeout=timeout,
                              cwd=self.data_dir if as_user else None, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise TopologyError(f"{' '.join(argv)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
        return proc

    def psql_argv(self, port, db=DB_NAME, user="postgres"):
        return [f"{PG_BINDIR}/psql", "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", db]

    def psql(self, node_or_port, sql, db=DB_NAME, user="postgres", timeout=60):
        """Runs SQL (sent on stdin) on a node ("primary", "standby1", ... or a port); the output
        of psql -tA (tab-separated), stripped."""
        port = self.port[node_or_port] if isinstance(node_or_port, str) else node_or_port
        proc = self.run(self.psql_argv(port, db, user), timeout=timeout, input=sql)
        return proc.stdout.strip()

    def spawn(self, argv):
        """A client in the background (pgbench holding sessions); killed at teardown if still
        running."""
        proc = subprocess.Popen(argv, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.helpers.append(proc)
        return proc

    def pg_ctl(self, node, *args, timeout=90):
        argv = [f"{PG_BINDIR}/pg_ctl", "-D", self.node_dir(node), *args]
        return self.run(argv, timeout=timeout, as_user=True)

    def stop_node(self, node, mode="immediate"):
        self.pg_ctl(node, "-m", mode, "-w", "-t", "60", "stop")

    def start_node(self, node):
        self.pg_ctl(node, "-l", self.log_path(f"{node}.log"), "-w", "-t", "60", "start")
        if not poll_until(30, lambda: port_open(self.port[node])):
            raise TopologyError(f"{node} does not accept connections after start")

    def node_running(self, node):
        return self.run([f"{PG_BINDIR}/pg_ctl", "-D", self.node_dir(node), "status"], check=False,
                        as_user=True).returncode == 0

    def wait_replayed(self, standbys=("standby1", "standby2"), seconds=60):
        """Waits until the standbys have replayed the primary's current WAL position."""
        target = self.psql("primary", "SELECT pg_current_wal_lsn()")
        for standby in standbys:
            if not poll_until(seconds, lambda: self.psql(
                    standby, f"SELECT pg_last_wal_replay_lsn() >= '{target}'") == "t", interval=0.1):
                raise TopologyError(f"{standby} has not replayed up to {target} after {seconds}s")

    # ---- PgBouncer ----
    def pgbouncer_pid(self, n):
        try:
            with open(self.pgbouncer_pidfile(n)) as f:
                pid = int(f.readline().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if self.pgbouncer_ini(n).encode() not in f.read():
                    return None
            return pid
        except (OSError, ValueError):
            return None

    def signal_pgbouncer(self, n, sig):
        pid = self.pgbouncer_pid(n)
        if not pid:
            raise TopologyError(f"pgbouncer{n} is not running")
        os.kill(pid, sig)
        return pid

    def wait_process_gone(self, pid, seconds=10):
        """Waits until a killed process is reaped: PgBouncer refuses to start while the pid in its
        pid file exists, a zombie included."""
        def state():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                return None
        if not poll_until(seconds, lambda: state() is None):
            raise TopologyError(f"process {pid} still exists (state {state()}) {seconds}s after it was killed")

    def start_pgbouncer(self, n):
        """Starts pgbouncer n again with the ini deploy/up.sh wrote; waits until it listens."""
        self.run([PGBOUNCER_BIN, "-d", "-q", self.pgbouncer_ini(n)], as_user=True)
        if not poll_until(30, lambda: self.pgbouncer_pid(n) and port_open(self.port[f"pgbouncer{n}"])):
            raise TopologyError(f"pgbouncer{n} does not listen after start")

    def pgbouncer_admin(self, n, command, timeout=30):
        return self.psql(self.port[f"pgbouncer{n}"], command, db="pgbouncer", timeout=timeout)

    def pgbouncer_pool_size(self, n):
        with open(self.pgbouncer_ini(n)) as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() == "default_pool_size":
                    return int(value.strip())
        return 20  # PgBouncer's default


def tail(path, lines):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""
