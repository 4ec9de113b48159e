#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora from PostHog's conformance corpus.

    test/fuzz/make_seeds.py CONFORMANCE_DIR OUT_DIR

OUT_DIR/<target>/ gets one file per seed, named by the hash of its content (so running it again
adds nothing twice):
  flag_definition_fuzz   each case ({definitions, context}), its definitions document, each flag
  property_matching_fuzz each filter of each case with the case's value for its key (the input
                         format of test/fuzz/property_matching_fuzz.cpp), plus one seed per operator
  request_body_fuzz      each case's context as a /flags body: plain, gzip, zlib, base64, gzip
                         then base64, and a form with base64 under `data` (4 header bytes first,
                         see test/fuzz/request_body_fuzz.cpp)
"""
import base64
import gzip
import hashlib
import json
import os
import sys
import urllib.parse
import zlib

# Indexes into the tables of test/fuzz/request_body_fuzz.cpp.
ENC_NONE, ENC_GZIP, ENC_DEFLATE = 0, 1, 2
TYPE_NONE, TYPE_JSON, TYPE_FORM = 0, 1, 2
COMP_NONE, COMP_GZIP, COMP_GZIP_JS, COMP_BASE64 = 0, 1, 2, 3
LIMIT_DEFAULT = 0

# Filters the corpus may not cover: one per operator family, with a value that matches or nearly.
OPERATOR_SEEDS = [
    ("exact", '["pro","enterprise"]', '"pro"'),
    ("is_not", '"free"', '"pro"'),
    ("icontains", '"@posthog"', '"Ann@PostHog.com"'),
    ("not_icontains", '"x"', "42"),
    ("icontains_multi", '["a","b"]', '"cab"'),
    ("not_icontains_multi", '["a","b"]', '"xyz"'),
    ("starts_with", '"ab"', '"abc"'),
    ("not_starts_with", '"ab"', "true"),
    ("ends_with", '".com"', '"a.com"'),
    ("not_ends_with", '".com"', "null"),
    ("regex", '"^(a|b)+[0-9]{2,}$"', '"abab12"'),
    ("not_regex", '"(?i)ch.*me"', '"Chrome"'),
    ("regex", '"(unclosed"', '"x"'),
    ("gt", "10", "11.5"),
    ("gte", '"10"', '"10"'),
    ("lt", "1e308", "-1e308"),
    ("lte", "9007199254740993", "9007199254740992"),
    ("semver_gt", '"1.2.3"', '"v1.2.4"'),
    ("semver_gte", '"1.2.3-alpha.1"', '"1.2.3"'),
    ("semver_lt", '" 3.08 "', '"3.10"'),
    ("semver_lte", '"1.0.0+build"', '"1.0.0"'),
    ("semver_eq", '"1.0.0+a"', '"1.0.0+b"'),
    ("semver_neq", '"2"', '"2.0.0"'),
    ("semver_tilde", '"1.2.3"', '"1.2.9"'),
    ("semver_caret", '"0.2.3"', '"0.2.9"'),
    ("semver_wildcard", '"1.2.*"', '"1.2.7"'),
    ("is_set", '"is_set"', '""'),
    ("is_not_set", '"is_not_set"', None),
    ("is_date_before", '"2024-03-21T10:00:00.5+02:00"', '"2024-03-21"'),
    ("is_date_after", '"-7d"', "1711015200"),
    ("is_date_exact", '"2024-03-21 10:00"', '"2024-03-21T10:00:00Z"'),
    ("is_date_after", '"1y"', '"2023-02-29"'),
    ("is_date_before", '"6h"', '"1711015200123"'),
    ("exact ! group", '"team"', '"team"'),
]


def seed_name(content):
    return hashlib.sha1(content).hexdigest()


def write(out_dir, target, content):
    if isinstance(content, str):
        content = content.encode()
    d = os.path.join(out_dir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed_name(content)), "wb") as f:
        f.write(content)


def dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def filters_of(definitions):
    """Every property filter of every flag and cohort, anywhere it can appear."""
    for flag in definitions.get("flags", []):
        filters = flag.get("filters") or {}
        for key in ("groups", "super_groups", "holdout_groups"):
            for group in filters.get(key) or []:
                yield from group.get("properties") or []
    stack = list((definitions.get("cohorts") or {}).values())
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "operator" in node or node.get("type") in ("person", "cohort", "group", "flag"):
                yield node
            stack.extend(node.get("values") or [])


def property_seed(flt, context):
    op = flt.get("operator") or "exact"
    words = [op]
    if flt.get("negation"):
        words.append("!")
    props = context.get("person_properties") or {}
    if flt.get("type") == "group":
        words.append("group")
        props = {}
        for group_props in (context.get("group_properties") or {}).values():
            props = group_props or {}
    lines = [" ".join(words), dumps(flt.get("value"))]
    if flt.get("key") in props:
        lines.append(dumps(props[flt["key"]]))
    return "\n".join(lines)


def request_body(context):
    body = {"token": "phc_test", "distinct_id": context.get("distinct_id") or "user-1"}
    for key in ("person_properties", "groups", "group_properties"):
        if key in context:
            body[key] = context[key]
    return dumps(body).encode()


def body_seeds(body):
    def head(enc, ctype, comp):
        return bytes([enc, ctype, comp, LIMIT_DEFAULT])

    b64 = base64.b64encode(body)
    gz = gzip.compress(body, mtime=0)
    yield head(ENC_NONE, TYPE_JSON, COMP_NONE) + body
    yield head(ENC_GZIP, TYPE_JSON, COMP_NONE) + gz
    yield head(ENC_DEFLATE, TYPE_JSON, COMP_NONE) + zlib.compress(body)
    yield head(ENC_NONE, TYPE_NONE, COMP_GZIP_JS) + gz
    yield head(ENC_NONE, TYPE_NONE, COMP_NONE) + gz + gz  # two gzip members, no announcement
    yield head(ENC_NONE, TYPE_NONE, COMP_BASE64) + b64
    yield head(ENC_NONE, TYPE_NONE, COMP_BASE64) + base64.urlsafe_b64encode(gz).rstrip(b"=")
    yield head(ENC_NONE, TYPE_FORM, COMP_NONE) + b"data=" + urllib.parse.quote(b64, safe="").encode()
    yield head(ENC_GZIP, TYPE_FORM, COMP_NONE) + gzip.compress(b"data=" + b64, mtime=0)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    conformance_dir, out_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(conformance_dir, "v1_evaluation.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]

    counts = {}

    def add(target, content):
        write(out_dir, target, content)
        counts[target] = counts.get(target, 0) + 1

    for case in cases:
        definitions, context = case["definitions"], case["context"]
        add("flag_definition_fuzz", dumps({"definitions": definitions, "context": context}))
        add("flag_definition_fuzz", dumps(definitions))
        for flag in definitions.get("flags", []):
            add("flag_definition_fuzz", dumps(flag))
        for flt in filters_of(definitions):
            add("property_matching_fuzz", property_seed(flt, context))
        for seed in body_seeds(request_body(context)):
            add("request_body_fuzz", seed)
    for op, value, prop in OPERATOR_SEEDS:
        add("property_matching_fuzz", "\n".join([op, value] + ([prop] if prop is not None else [])))

    for target, n in sorted(counts.items()):
        print(f"seeds: {target}: {n} written to {os.path.join(out_dir, target)}")


if __name__ == "__main__":
    main()
