"""The drill's view of flag-decide besides the load: single requests, and a sampler of /metrics that
records, every 100 ms, which routes the service saw down (route_up 0 or breaker open), how far
behind it judged each replica and how many queries it retried or hedged, so that each fault's row
can show that the fault took effect and how the service got round it."""

import http.client
import json
import random
import re
import threading
import time

METRIC_LINE = re.compile(r'^flag_decide_route_(up|breaker_open|lag_seconds)\{route="([^"]+)"[^}]*\} (\S+)$')
# Queries sent per route and attempt kind (first, retry, hedge).
QUERIES_LINE = re.compile(r'^flag_decide_route_queries_total\{route="([^"]+)",attempt="([^"]+)"\} (\S+)$')
# The service's own view of its /flags latency (from request headers to response written).
DURATION_LINE = re.compile(r'^flag_decide_request_duration_seconds_bucket\{endpoint="flags",le="([^"]+)"\} (\S+)$')


class Service:
    def __init__(self, port, timeout=5.0):
        self.port = port
        self.timeout = timeout

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            # The drill's own requests, each from a client address of its own (see load.py).
            headers["X-Forwarded-For"] = f"198.19.{random.randrange(256)}.{random.randrange(1, 255)}"
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def flags(self, request):
        status, body = self.request("POST", "/flags?v=2", request)
        return status, json.loads(body) if status == 200 else None

    def metrics(self):
        """({route: {"up": 0/1, "breaker_open": 0/1, "lag_seconds": float}},
        {bucket upper bound: /flags answers so far}) from /metrics."""
        status, body = self.request("GET", "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        routes, durations = {}, {}
        for line in body.decode().splitlines():
            m = METRIC_LINE.match(line)
            if m:
                routes.setdefault(m.group(2), {})[m.group(1)] = float(m.group(3))
                continue
            m = QUERIES_LINE.match(line)
            if m:
                queries = routes.setdefault(m.group(1), {}).setdefault("queries", {})
                queries[m.group(2)] = float(m.group(3))
                continue
            m = DURATION_LINE.match(line)
            if m:
                durations[m.group(1)] = float(m.group(2))
        return routes, durations


class MetricsSampler(threading.Thread):
    def __init__(self, service, interval=0.1):
        super().__init__(name="metrics", daemon=True)
        self.service = service
        self.interval = interval
        self.samples = []  # (wall time, routes)
        self.durations = []  # (wall time, {le: count})
        self.errors = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                t = time.time()
                routes, durations = self.service.metrics()
                self.samples.append((t, routes))
                self.durations.append((t, durations))
            except (OSError, RuntimeError, http.client.HTTPException):
                self.errors += 1
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(5)

    def latest(self):
        return self.samples[-1][1] if self.samples else {}

    def summary(self, start, end):
        """Routes seen down and the largest lag per route between two wall-clock times."""
        down, lag = set(), {}
        for t, routes in self.samples:
            if start <= t <= end:
                for name, values in routes.items():
                    if values.get("up", 1) == 0 or values.get("breaker_open", 0) == 1:
                        down.add(name)
                    if "lag_seconds" in values:
                        lag[name] = max(lag.get(name, 0.0), values["lag_seconds"])
        return sorted(down), lag

    def attempts_between(self, start, end):
        """{attempt kind: queries of that kind sent on all routes} between the samples nearest to
        start and end (empty without samples)."""
        inside = [routes for t, routes in self.samples if start - 0.2 <= t <= end + 0.2]
        if len(inside) < 2:
            return {}

        def totals(routes):
            out = {}
            for values in routes.values():
                for kind, count in values.get("queries", {}).items():
                    out[kind] = out.get(kind, 0) + count
            return out
        first, last = totals(inside[0]), totals(inside[-1])
        return {kind: int(last[kind] - first.get(kind, 0)) for kind in last}

    def server_slower_than(self, start, end, bound="0.1"):
        """/flags answers the service itself took longer than `bound` seconds for, between the
        samples nearest to start and end (None without samples)."""
        inside = [(t, d) for t, d in self.durations if start - 0.2 <= t <= end + 0.2 and "+Inf" in d and bound in d]
        if len(inside) < 2:
            return None
        first, last = inside[0][1], inside[-1][1]
        return int((last["+Inf"] - last[bound]) - (first["+Inf"] - first[bound]))

    def all_routes_healthy(self, except_routes=()):
        routes = self.latest()
        return bool(routes) and all(v.get("up", 1) == 1 and v.get("breaker_open", 0) == 0
                                    for name, v in routes.items() if name not in except_routes)
