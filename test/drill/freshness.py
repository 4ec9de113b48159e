"""How long a flag edit on the primary takes to reach the service's answers and its SDK feed,
measured all through the drill: a team of its own (the load never asks about it) with one flag,
whose payload the probe sets to 1, 2, 3, ... on the primary; after each edit it asks /flags and
the definitions feed every 10 ms until both show the new payload. An edit the primary refuses
(it is down) is not counted: there is nothing to propagate.

Each fault's row gets the delays of the edits committed in its window.
"""

import http.client
import json
import random
import threading
import time


TOKEN = "phc_drill_fresh"
SECRET = "phs_drill_fresh"
FLAG = "fresh"
GIVE_UP = 10.0  # seconds: an edit not seen by then is reported as not propagated


class FreshnessProbe(threading.Thread):
    def __init__(self, topology, port, log):
        super().__init__(name="freshness", daemon=True)
        self.topology = topology
        self.port = port
        self.log = log
        self.stopping = threading.Event()
        self.edits = []  # (committed at, seconds to the answers or None, seconds to the feed or None)
        self.errors = 0

    def create_team(self):
        """The probe's team and flag, on the primary (before the service's first refresh sees it or after)."""
        self.topology.psql("primary", f"""
            WITH team AS (INSERT INTO flag_eval.teams (name, api_token, secret_token)
                          VALUES ('drill freshness', '{TOKEN}', '{SECRET}') RETURNING id)
            INSERT INTO flag_eval.flags (team_id, key, definition)
            SELECT id, '{FLAG}', '{{"filters": {{"groups": [{{"rollout_percentage": 100}}],
                                                 "payloads": {{"true": "0"}}}}}}' FROM team""")

    def payload_in_answer(self):
        status, body = self._request("POST", "/flags?v=2", json.dumps({"token": TOKEN, "distinct_id": "probe"}),
                                     {"Content-Type": "application/json"})
        if status != 200:
            return None
        detail = json.loads(body).get("flags", {}).get(FLAG) or {}
        return (detail.get("metadata") or {}).get("payload")

    def payload_in_feed(self):
        status, body = self._request("GET", f"/flags/definitions?token={TOKEN}", None,
                                     {"Authorization": f"Bearer {SECRET}"})
        if status != 200:
            return None
        flags = json.loads(body).get("flags") or []
        return (flags[0].get("filters", {}).get("payloads") or {}).get("true") if flags else None

    def wait_for_team(self, seconds=30):
        until = time.time() + seconds
        while time.time() < until:
            if self.payload_in_answer() is not None:
                return True
            time.sleep(0.1)
        return False

    def run(self):
        n = 0
        while not self.stopping.is_set():
            n += 1
            try:
                self.topology.psql("primary", f"""
                    UPDATE flag_eval.flags f SET definition = jsonb_set(definition, '{{filters,payloads,true}}',
                                                                        to_jsonb('{n}'::text))
                    FROM flag_eval.teams t WHERE t.id = f.team_id AND t.api_token = '{TOKEN}' AND f.key = '{FLAG}'""",
                                   timeout=5)
            except Exception:  # the primary is down (psql failed or timed out): nothing to measure
                self.errors += 1
                self.stopping.wait(0.5)
                continue
            committed = time.time()
            to_answer = to_feed = None
            while not self.stopping.is_set() and (to_answer is None or to_feed is None):
                elapsed = time.time() - committed
                if elapsed > GIVE_UP:
                    break
                try:
                    if to_answer is None and self.payload_in_answer() == str(n):
                        to_answer = time.time() - committed
                    if to_feed is None and self.payload_in_feed() == str(n):
                        to_feed = time.time() - committed
                except (OSError, http.client.HTTPException, ValueError):
                    pass
                time.sleep(0.01)
            if self.stopping.is_set() and (to_answer is None or to_feed is None):
                break  # cut short by the end of the drill: not a measurement
            self.edits.append((committed, to_answer, to_feed))
            # A random pause: edits in step with the service's refresh would measure one phase of it.
            self.stopping.wait(random.uniform(0.1, 0.9))

    def stop(self):
        self.stopping.set()
        self.join(GIVE_UP + 10)

    def window(self, start, end, outages=()):
        """Figures for the edits committed in [start, end). `outages`: the moments a fault had
        just taken every database (or the primary the edits are made on) away; an edit still on
        its way to the service then is left out and counted as overtaken, since nothing was left
        to read it from until that fault cleared."""
        inside = [e for e in self.edits if start <= e[0] < end]

        def in_flight(edit, at):
            committed, to_answer, to_feed = edit
            return committed <= at and any(d is None or committed + d > at for d in (to_answer, to_feed))
        kept = [e for e in inside if not any(in_flight(e, at) for at in outages)]
        overtaken = len(inside) - len(kept)
        inside = kept

        def figures(values):
            seen = sorted(v for v in values if v is not None)
            return {"edits": len(values), "not_seen": len(values) - len(seen), "overtaken": overtaken,
                    "p50_s": seen[len(seen) // 2] if seen else None,
                    "p99_s": seen[min(len(seen) - 1, int(0.99 * len(seen)))] if seen else None,
                    "max_s": seen[-1] if seen else None}
        return {"answers": figures([e[1] for e in inside]), "feed": figures([e[2] for e in inside])}

    def _request(self, method, path, body, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        headers = dict(headers, **{"X-Forwarded-For": f"198.19.255.{random.randrange(1, 255)}"})
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
