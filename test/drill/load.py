"""Steady /flags?v=2 traffic: worker processes (no shared interpreter lock between them, so one
worker's JSON parsing never shows up as another's latency), each on one keep-alive connection,
each sending at a fixed pace whatever the answers' speed (open loop: a slow answer delays that
worker's next request, and it catches up afterwards without bursting). Without a rate, each
worker sends its next request as soon as the last is answered (closed loop: the capacity).

Per request a worker records: when it was sent (wall clock, comparable with the driver's fault
timeline), latency, HTTP status (0 = no answer: connection error or client timeout), whether the
answer was degraded (errorsWhileComputingFlags or a failed flag), how many answered flags were
wrong (enabled, variant or payload differ from the expected answer, or a flag is missing or
unexpected), how many of the subject's database-free flags were failed or wrong, and whether a
degraded answer gave up before its deadline (a failed flag whose reason is not a timeout: the
service stopped trying while time was left).

The driver reads, while the load runs, the completion time of the latest answer that was not
full (shared memory), and gets every record at the end.
"""

import http.client
import json
import multiprocessing
import os
import time

from subjects import flag_value

FIELDS = ("sent", "latency", "status", "degraded", "failed", "wrong", "local_bad", "kind", "gave_up")


def client_address(worker, n):
    """One of 250 addresses per worker (198.18.0.0/15, the benchmarking range)."""
    return f"198.18.{worker}.{n % 250 + 1}"


def failure_reason(body):
    """The reason description of the first failed flag of an answer, or None."""
    for key, detail in (json.loads(body).get("flags") or {}).items():
        if isinstance(detail, dict) and detail.get("failed"):
            return f"{key} failed: {(detail.get('reason') or {}).get('description')}"
    return None


def gave_up_early(body):
    """Does a failed flag of this answer say anything but that the deadline passed?"""
    flags = json.loads(body).get("flags") or {}
    return any(detail.get("failed") and "(timeout" not in (detail.get("reason") or {}).get("description", "")
               for detail in flags.values() if isinstance(detail, dict))


def judge(body, expected, local_keys):
    """(degraded, failed flags, wrong flags, database-free flags failed or wrong, first problem)."""
    answer = json.loads(body)
    flags = answer.get("flags")
    if not isinstance(flags, dict):
        return True, len(expected), 0, len(local_keys), "no flags object"
    degraded = bool(answer.get("errorsWhileComputingFlags"))
    failed = wrong = local_bad = 0
    problem = None
    for key, want in expected.items():
        detail = flags.get(key)
        if detail is None:
            wrong += 1
            local_bad += key in local_keys
            problem = problem or f"{key} missing"
            continue
        if detail.get("failed"):
            failed += 1
            if key in local_keys:
                local_bad += 1
                problem = problem or f"{key} failed although it needs no stored data"
            continue
        got = flag_value(detail)
        if got != want:
            wrong += 1
            local_bad += key in local_keys
            problem = problem or f"{key}: got {got}, expected {want}"
    for key in flags.keys() - expected.keys():
        wrong += 1
        problem = problem or f"unexpected flag {key}"
    return degraded or failed > 0, failed, wrong, local_bad, problem


def worker(index, workers, rate, url_port, subjects, timeout, start_at, stop, last_bad, sent_count, out_dir):
    # Leave SIGINT to the driver, which stops the workers through `stop`.
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    mine = subjects[index::workers]
    bodies = [json.dumps(request).encode() for _, request, _, _ in mine]
    headers = {"Content-Type": "application/json"}
    interval = workers / rate if rate else 0.0
    records, problems = [], []
    # An outage degrades thousands of answers: note two a second, so that every window of a long
    # pass keeps its own examples, not only the first outage.
    noted_second, noted_in_second = None, 0
    conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=timeout)
    next_at = start_at + index * interval / workers  # workers spread over one interval
    n = 0
    while not stop.is_set():
        now = time.time()
        if next_at > now:
            time.sleep(next_at - now)
        elif interval and now - next_at > 5 * interval:
            next_at = now  # far behind (a stall): resume the pace instead of bursting
        k = n % len(mine)
        kind, request, expected, local_keys = mine[k]
        n += 1
        sent = time.time()
        t0 = time.perf_counter()
        status, body = 0, None
        # A client address per request, behind the trusted local "proxy": the drill's load is many
        # clients, and only the flood fault's one address should meet the per-address limit.
        headers["X-Forwarded-For"] = client_address(index, n)
        try:
            conn.request("POST", "/flags?v=2", bodies[k], headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            problems.append((sent, f"{request['distinct_id']}: no answer: {type(error).__name__}: {error}"))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=timeout)
        latency = time.perf_counter() - t0
        degraded, failed, wrong, local_bad, gave_up = True, 0, 0, 0, False
        if status == 200:
            try:
                degraded, failed, wrong, local_bad, problem = judge(body, expected, local_keys)
                gave_up = degraded and gave_up_early(body)
            except ValueError as error:
                wrong, problem = 1, f"unreadable answer: {error}"
            if problem and (wrong or local_bad):
                problems.append((sent, f"{request['distinct_id']}: {problem}"))
            elif degraded and not wrong and (int(sent) != noted_second or noted_in_second < 2):
                if int(sent) != noted_second:
                    noted_second, noted_in_second = int(sent), 0
                noted_in_second += 1
                problems.append((sent, f"{request['distinct_id']}: degraded after "
                                       f"{1000 * (time.perf_counter() - t0):.0f} ms: {failure_reason(body)}"))
        elif status:
            problems.append((sent, f"{request['distinct_id']}: HTTP {status}: {body[:200]!r}"))
        if status != 200 or degraded or wrong:
            last_bad[index] = time.time()
        sent_count[index] += 1
        records.append((sent, latency, status, int(degraded), failed, wrong, local_bad, kind, int(gave_up)))
        next_at += interval
    conn.close()
    with open(os.path.join(out_dir, f"worker{index}.json"), "w") as f:
        json.dump({"records": records, "problems": problems[:5000], "problem_count": len(problems)}, f)


class Load:
    """start(); ... last_bad_completion(); stop() -> (records, problems, problem count).
    `rate` None: closed loop."""

    def __init__(self, port, subjects, rate, workers, out_dir, timeout=5.0):
        self.port = port
        self.subjects = subjects
        self.rate = rate
        self.workers = workers
        self.out_dir = out_dir
        self.timeout = timeout
        self.ctx = multiprocessing.get_context("fork")
        self.stop_event = self.ctx.Event()
        self.last_bad = self.ctx.Array("d", workers, lock=False)
        self.sent = self.ctx.Array("q", workers, lock=False)
        self.procs = []

    def start(self):
        """Starts the workers; returns the wall-clock time of the first request."""
        os.makedirs(self.out_dir, exist_ok=True)
        start_at = time.time() + 0.2
        for i in range(self.workers):
            p = self.ctx.Process(target=worker, name=f"load{i}", args=(
                i, self.workers, self.rate, self.port, self.subjects, self.timeout, start_at,
                self.stop_event, self.last_bad, self.sent, self.out_dir))
            p.start()
            self.procs.append(p)
        return start_at

    def last_bad_completion(self):
        """Wall-clock time the latest answer that was not full completed (0: none yet)."""
        return max(self.last_bad)

    def requests_sent(self):
        return sum(self.sent)

    def running(self):
        """Started and not stopped yet."""
        return bool(self.procs) and not self.stop_event.is_set()

    def alive(self):
        return all(p.is_alive() for p in self.procs)

    def stop(self):
        self.stop_event.set()
        for p in self.procs:
            p.join(self.timeout + 10)
            if p.is_alive():
                p.kill()
                p.join()
        records, problems, problem_count = [], [], 0
        for i in range(self.workers):
            path = os.path.join(self.out_dir, f"worker{i}.json")
            if not os.path.exists(path):
                raise RuntimeError(f"load worker {i} left no records (exit code {self.procs[i].exitcode})")
            with open(path) as f:
                data = json.load(f)
            records.extend(tuple(r) for r in data["records"])
            problems.extend(tuple(p) for p in data["problems"])
            problem_count += data["problem_count"]
        records.sort()
        problems.sort()
        return records, problems, problem_count
