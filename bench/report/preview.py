"""Section 2b of bench/RESULTS.md: preview() against the released version's (bench/own/preview_bench.sh).
Standard library only (Debian's /usr/bin/python3)."""
import os
import statistics

from common import open_section, read_kv


def read_timings(path):
    """{round: {flag key: ms}} of a timings_<db>.txt file (lines "round|key|ms")."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.strip().split("|")
            if len(parts) == 3:
                out.setdefault(int(parts[0]), {})[parts[1]] = float(parts[2])
    return out


def checks(out):
    """[(label, value, expected, ok)]: both versions preview every flag, with the same rows."""
    d = os.path.join(out, "preview")
    if not os.path.isdir(d):
        return []
    c = read_kv(os.path.join(d, "checks.txt"))
    s = read_kv(os.path.join(d, "setup.txt"))
    return [
        ("every stored flag previewed by both versions", c.get("flags_previewed"), s.get("flags"),
         c.get("flags_previewed") is not None and c.get("flags_previewed") == s.get("flags")),
        ("flags whose preview() rows differ between the versions", c.get("flags_that_differ"), "0",
         c.get("flags_that_differ") == "0"),
    ]


def section(out, L):
    """Appends section 2b; returns the verdict line."""
    d = os.path.join(out, "preview")
    if not open_section(L, "## 2b. preview() in the database", d):
        return "- preview(): not measured."
    s = read_kv(os.path.join(d, "setup.txt"))
    released = read_timings(os.path.join(d, "timings_released.txt"))
    current = read_timings(os.path.join(d, "timings_current.txt"))
    persons, flags = int(s.get("persons", "0") or 0), int(s.get("flags", "0") or 0)
    L.append(f"`bench/own/preview_bench.sh`, in its own throw-away cluster with the settings above: two databases "
             f"with the same data, `deploy/sample_data.sql` with {persons:,} persons ({s.get('subjects', '?')} with "
             f"a distinct id), its 50 flags (rollouts, variants, every operator, dynamic, nested and static "
             f"cohorts, group flags, continuity, dependencies, super groups) and {s.get('continuity_keys', '?')} "
             f"continuity keys. `released` runs flag_eval {s.get('released', '?')}, whose `preview()` is plpgsql "
             f"over `flag_evaluate_all()`; `current` runs {s.get('current', '?')}, set-based SQL over one C call "
             f"per subject. Each of {s.get('rounds', '?')} rounds previews every stored flag in each database in "
             f"turn (the order alternates), each call timed on the server with `clock_timestamp()`:")
    L.append("")
    L.append("```sql")
    L.append("PERFORM count(*) FROM flag_eval.preview('phc_demo', f.definition || jsonb_build_object('key', f.key));")
    L.append("```")
    L.append("")
    L.append("| check | value | expected | |")
    L.append("|---|--:|--:|---|")
    for label, a, b, ok in checks(out):
        L.append(f"| {label} | {a if a is not None else '?'} | {b if b is not None else '?'} | "
                 f"{'ok' if ok else '**FAILED**'} |")
    L.append("")
    if not released or not current:
        L.append("not measured")
        L.append("")
        return "- preview(): not measured."

    def totals(t):
        return [sum(r.values()) for r in t.values()]

    rel, cur = statistics.median(totals(released)), statistics.median(totals(current))
    evaluations = persons * flags
    L.append("| version | all flags, ms (median of rounds, min–max) | µs per subject and flag |")
    L.append("|---|--:|--:|")
    for name, t, m in (("released", released, rel), ("current", current, cur)):
        L.append(f"| {name} ({s.get(name, '?')}) | {m:,.0f} ({min(totals(t)):,.0f}–{max(totals(t)):,.0f}) | "
                 f"{m * 1000 / evaluations:.2f} |")
    L.append("")
    per_flag = {}
    for key in current[min(current)]:
        a = statistics.median(r[key] for r in released.values() if key in r)
        b = statistics.median(r[key] for r in current.values() if key in r)
        per_flag[key] = (b / a if a else float("inf"), a, b)
    worst = sorted(per_flag.items(), key=lambda kv: -kv[1][0])[:3]
    L.append("Flag by flag (median of the rounds), the three with the highest current / released ratio: "
             + "; ".join(f"`{k}` {b:.1f} ms vs {a:.1f} ms ({r:.2f})" for k, (r, a, b) in worst) + ".")
    L.append("")
    slower = [k for k, (r, _, _) in per_flag.items() if r > 1.0]
    return (f"- `preview()` no slower than {s.get('released', '?')}'s: {'**met**' if not slower else '**not met**'} — "
            f"{cur:,.0f} ms vs {rel:,.0f} ms for all {flags} flags over {persons:,} persons, ratio {cur / rel:.2f}; "
            f"{len(slower)} flag(s) slower on their own.")
