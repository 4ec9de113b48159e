"""The subjects the load generator asks about, and the answer each one must get.

Three kinds, so that the load mixes subjects that need stored data with subjects that do not:
  stored   "user-<i>": stored persons; the request carries little (some carry a plan, some
           stored groups, every fourth an $anon_distinct_id, which makes the service write
           experience-continuity overrides on the primary). Most flags need the database.
  visitor  "visitor-<i>": unknown persons whose request carries every property the flags read,
           and groups with their properties: most flags are answered by the service itself
           (the static cohort and the continuity flag still need the database).
  guest    "guest-<i>": like visitors, asking (flag_keys_to_evaluate) only for the flags the
           service answers without the database for them: these must never be degraded.

Expected answers come from flag_eval.decide() on the primary before any fault (the data does not
change during the drill), cross-checked against flag_evaluate_all(definitions(token), context) for
every flag flag_evaluate_all can decide from a context. Which flags the service answers without
the database is observed, not guessed: a second flag-decide with no reachable database, started
from the first one's definitions snapshot, answers every subject; its flags that are not failed
are the subject's database-free flags (and must equal the expected answer).
"""

import http.client
import json
import os
import subprocess
import time

from topology import TOKEN, TopologyError, free_ports, poll_until

PLANS = ["free", "starter", "pro", "Pro", "enterprise", "team", "PRO", "Enterprise"]
COUNTRIES = ["US", "us", "GB", "DE", "FR", "IN", "BR", "CA", "JP"]
DOMAINS = ["example.com", "gmail.com", "posthog.com", "yahoo.co.uk", "corp.example"]
TIERS = ["free", "silver", "gold"]

# Flags flag_evaluate_all cannot decide from a context: static cohort membership and
# experience-continuity overrides are rows only decide() reads.
NEEDS_ROWS = {"cohort-beta-testers", "continuity-onboarding"}


def visitor_properties(i):
    """Every person property the sample flags read, varied by i (deterministic)."""
    props = {
        "email": f"visitor{i}@{DOMAINS[i % len(DOMAINS)]}",
        "name": f"Visitor {i}",
        "plan": PLANS[i % len(PLANS)],
        "country": COUNTRIES[(i * 7) % len(COUNTRIES)],
        "age": 13 + (i * 11) % 60,
        "signed_up_at": f"{2020 + i % 6}-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
        "last_seen_at": 1672531200 + (i * 86400 * 7) % (3 * 365 * 86400),
        "app_version": f"{1 + i % 3}.{(i * 3) % 20}.{i % 10}",
        "beta": i % 3 == 0,
        "tags": [["mobile"], ["web"], [], ["mobile", "web"]][i % 4],
        "$feature_enrollment/early-access": i % 5 == 0,
    }
    if i % 17 == 0:
        props["signed_up_at"] = "2020-06-01T00:00:00Z"
    return props


def visitor_groups(i):
    groups = {"organization": f"org-{i % 200}", "company": f"company-{i % 100}"}
    group_properties = {
        "organization": {"name": f"Org {i}", "tier": TIERS[i % 3], "seats": 1 + (i * 37) % 500,
                         "industry": ["software", "retail", "finance", "health"][i % 4]},
        "company": {"name": f"Company {i}", "employees": 5 * (1 + (i * 13) % 400),
                    "country": ["US", "GB", "DE", "JP"][i % 4], "public": i % 4 == 0},
    }
    return groups, group_properties


def build_requests(stored, visitors, persons):
    """The stored and visitor requests (local ones are made after the oracle has run)."""
    requests = []
    for k in range(1, stored + 1):
        i = 1 + ((k - 1) * 97) % persons  # spread over the persons, deterministic
        if k <= 2:
            i = (7, 107)[k - 1]  # two members of the static cohort
        request = {"token": TOKEN, "distinct_id": f"user-{i}"}
        if k % 5 == 1:
            request["person_properties"] = {"plan": PLANS[k % len(PLANS)]}
        if k % 3 == 0:
            request["groups"] = {"organization": f"org-{k % 200}", "company": f"company-{k % 100}"}
        if k % 4 == 0:
            request["$anon_distinct_id"] = f"anon-user-{i}"
        requests.append(("stored", request))
    for i in range(1, visitors + 1):
        groups, group_properties = visitor_groups(i)
        requests.append(("visitor", {"token": TOKEN, "distinct_id": f"visitor-{i}",
                                     "person_properties": visitor_properties(i), "groups": groups,
                                     "group_properties": group_properties}))
    return requests


def sql_literal(text):
    tag = "drill"
    while f"${tag}$" in text:
        tag += "x"
    return f"${tag}${text}${tag}$"


def record_overrides(topology, requests):
    """Experience-continuity overrides for every request with $anon_distinct_id, written before the
    expected answers are computed: the service's own writes during the drill then change nothing
    (the first recorded override wins)."""
    pairs = [(r["distinct_id"], r["$anon_distinct_id"]) for _, r in requests if "$anon_distinct_id" in r]
    if not pairs:
        return
    values = ", ".join(f"({sql_literal(d)}, {sql_literal(a)})" for d, a in pairs)
    topology.psql("primary", f"SELECT sum(flag_eval.record_hash_key_overrides('{TOKEN}', d, a)) "
                             f"FROM (VALUES {values}) AS v(d, a)")


DECIDE_ALL_SQL = """
SELECT r.ord, flag_eval.decide(r.j->>'token', r.j->>'distinct_id',
           coalesce(r.j->'person_properties', '{{}}'), coalesce(r.j->'groups', '{{}}'),
           coalesce(r.j->'group_properties', '{{}}'), r.j->>'$anon_distinct_id',
           CASE WHEN r.j ? 'flag_keys_to_evaluate'
                THEN ARRAY(SELECT jsonb_array_elements_text(r.j->'flag_keys_to_evaluate')) END)::text
FROM jsonb_array_elements({requests}::jsonb) WITH ORDINALITY AS r(j, ord)
ORDER BY r.ord
"""

# The context decide() builds (stored person properties under the request's; stored group
# properties under the request's), handed to flag_evaluate_all with the team's feed.
EVALUATE_ALL_SQL = """
WITH team AS (SELECT id FROM flag_eval.teams WHERE api_token = '{token}'),
     feed AS (SELECT flag_eval.definitions('{token}') AS document)
SELECT r.ord, flag_eval.flag_evaluate_all((SELECT document FROM feed), jsonb_build_object(
    'distinct_id', r.j->>'distinct_id',
    'person_properties', coalesce((SELECT p.properties
                                   FROM flag_eval.person_distinct_ids d
                                   JOIN flag_eval.persons p ON p.id = d.person_id
                                   WHERE d.team_id = (SELECT id FROM team) AND d.distinct_id = r.j->>'distinct_id'),
                                  '{{}}'::jsonb) || coalesce(r.j->'person_properties', '{{}}'::jsonb),
    'groups', coalesce(r.j->'groups', '{{}}'::jsonb),
    'group_properties', coalesce((
        SELECT jsonb_object_agg(g.key,
                   coalesce((SELECT gr.properties
                             FROM flag_eval.groups gr
                             JOIN flag_eval.group_type_mappings m
                               ON m.team_id = gr.team_id AND m.group_type_index = gr.group_type_index
                             WHERE gr.team_id = (SELECT id FROM team) AND m.group_type = g.key
                               AND gr.group_key = g.value), '{{}}'::jsonb)
                   || coalesce(r.j->'group_properties'->g.key, '{{}}'::jsonb))
        FROM jsonb_each_text(coalesce(r.j->'groups', '{{}}'::jsonb)) AS g(key, value)), '{{}}'::jsonb)))::text
FROM jsonb_array_elements({requests}::jsonb) WITH ORDINALITY AS r(j, ord)
ORDER BY r.ord
"""


def run_per_request(topology, template, requests, **fields):
    sql = template.format(requests=sql_literal(json.dumps([r for _, r in requests])), **fields)
    rows = topology.psql("primary", sql, timeout=300).splitlines()
    if len(rows) != len(requests):
        raise TopologyError(f"expected {len(requests)} rows, got {len(rows)}")
    return [json.loads(row.split("\t", 1)[1]) for row in rows]


def flag_value(detail):
    """What the drill compares: enabled, variant and payload."""
    metadata = detail.get("metadata") or {}
    return (bool(detail.get("enabled")), detail.get("variant"), metadata.get("payload"))


def expected_answers(topology, requests):
    """{key: (enabled, variant, payload)} per request, from decide() on the primary."""
    bodies = run_per_request(topology, DECIDE_ALL_SQL, requests)
    expected = []
    for (kind, request), body in zip(requests, bodies):
        if body.get("errorsWhileComputingFlags"):
            raise TopologyError(f"decide() reports errors for {request['distinct_id']}: {body}")
        expected.append({key: flag_value(detail) for key, detail in body["flags"].items()})
    return expected


def cross_check(topology, requests, expected):
    """decide()'s answers against flag_evaluate_all on the same data. Returns (flags compared,
    list of disagreements)."""
    documents = run_per_request(topology, EVALUATE_ALL_SQL, requests, token=TOKEN)
    compared, disagreements = 0, []
    for (kind, request), want, document in zip(requests, expected, documents):
        for key, (enabled, variant, _) in want.items():
            if key in NEEDS_ROWS:
                continue
            detail = document["flags"].get(key)
            compared += 1
            if detail is None or (bool(detail.get("enabled")), detail.get("variant")) != (enabled, variant):
                disagreements.append(f"{request['distinct_id']}: {key}: decide() {(enabled, variant)}, "
                                     f"flag_evaluate_all {detail and (detail.get('enabled'), detail.get('variant'))}")
    return compared, disagreements


class Oracle:
    """A flag-decide with no reachable database, serving the drill service's definitions snapshot:
    the flags it does not fail are those the service answers without the database."""

    def __init__(self, topology, work_dir):
        self.topology = topology
        self.dir = os.path.join(work_dir, "oracle")
        self.proc = None

    def __enter__(self):
        os.makedirs(self.dir, exist_ok=True)
        snapshot = os.path.join(self.dir, "snapshot.json")
        with open(self.topology.snapshot_path, "rb") as src, open(snapshot, "wb") as dst:
            dst.write(src.read())
        listen, nowhere = free_ports(2)  # nothing listens on `nowhere`
        self.port = listen
        self.log = open(os.path.join(self.dir, "flag-decide.log"), "ab")
        self.proc = subprocess.Popen(
            [self.topology.decide_bin, "--listen", f"127.0.0.1:{listen}", "--snapshot", snapshot,
             "--route", f"nowhere=primary=host=127.0.0.1 port={nowhere} dbname=app connect_timeout=1"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        if not poll_until(20, lambda: self.proc.poll() is not None or self._ready()):
            raise TopologyError("the oracle flag-decide (no database, snapshot only) did not get ready")
        if self.proc.poll() is not None:
            raise TopologyError(f"the oracle flag-decide exited ({self.proc.returncode}); log {self.dir}")
        return self

    def _ready(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def answer(self, request):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("POST", "/flags?v=2", json.dumps(request), {"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200:
            raise TopologyError(f"the oracle answered {response.status} for {request['distinct_id']}: {body[:200]}")
        return json.loads(body)


def database_free_keys(oracle, requests, expected):
    """Per request, the keys the service answers without the database; and mismatches of those
    answers against the expected ones (must be none)."""
    keys, mismatches = [], []
    for (kind, request), want in zip(requests, expected):
        flags = oracle.answer(request)["flags"]
        local = set()
        for key, detail in flags.items():
            if detail.get("failed"):
                continue
            local.add(key)
            if flag_value(detail) != want.get(key):
                mismatches.append(f"{request['distinct_id']}: {key}: in-service {flag_value(detail)}, "
                                  f"decide() {want.get(key)}")
        keys.append(local)
    return keys, mismatches


def guest_requests(visitor_requests, visitor_local_keys, count):
    """Guests: a visitor's properties, asking only for that visitor's database-free flags."""
    out = []
    for i, ((_, request), keys) in enumerate(zip(visitor_requests, visitor_local_keys)):
        if i >= count:
            break
        guest = dict(request)
        guest["distinct_id"] = request["distinct_id"].replace("visitor-", "guest-")
        guest["flag_keys_to_evaluate"] = sorted(keys)
        out.append(("guest", guest))
    return out


def prepare_subjects(topology, work_dir, stored, visitors, guests, log):
    """Everything the load generator needs: [(kind, request, expected, database_free_keys)]."""
    started = time.monotonic()
    requests = build_requests(stored, visitors, topology.persons)
    record_overrides(topology, requests)
    topology.wait_replayed()
    expected = expected_answers(topology, requests)
    compared, disagreements = cross_check(topology, requests, expected)
    if disagreements:
        raise TopologyError("decide() and flag_evaluate_all disagree:\n  " + "\n  ".join(disagreements[:20]))
    log(f"expected answers: {len(requests)} requests from decide(); {compared} flag answers agree "
        f"with flag_evaluate_all (not compared: {', '.join(sorted(NEEDS_ROWS))})")
    with Oracle(topology, work_dir) as oracle:
        keys, mismatches = database_free_keys(oracle, requests, expected)
        if mismatches:
            raise TopologyError("in-service answers differ from decide():\n  " + "\n  ".join(mismatches[:20]))
        visitor_pairs = [(rq, k) for rq, k in zip(requests, keys) if rq[0] == "visitor"]
        guests_requests = guest_requests([rq for rq, _ in visitor_pairs], [k for _, k in visitor_pairs], guests)
        guest_expected = expected_answers(topology, guests_requests)
        guest_keys, guest_mismatches = database_free_keys(oracle, guests_requests, guest_expected)
        if guest_mismatches:
            raise TopologyError("in-service answers differ from decide():\n  " + "\n  ".join(guest_mismatches[:20]))
        for (_, request), got in zip(guests_requests, guest_keys):
            if got != set(request["flag_keys_to_evaluate"]):
                raise TopologyError(f"{request['distinct_id']}: the service needs the database for "
                                    f"{sorted(set(request['flag_keys_to_evaluate']) - got)}")
    subjects = [(kind, request, want, local) for (kind, request), want, local in
                zip(requests + guests_requests, expected + guest_expected, keys + guest_keys)]
    free = sum(len(s[3]) for s in subjects)
    total = sum(len(s[2]) for s in subjects)
    log(f"subjects: {stored} stored, {visitors} visitors, {len(guests_requests)} guests; "
        f"{free} of {total} flag answers need no stored data ({time.monotonic() - started:.1f}s)")
    return subjects
