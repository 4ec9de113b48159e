// bench/field/unleash/translate_flags.mjs [--dry-run] INPUT.json OUTPUT.json: PostHog flags (as
// flag_eval stores them) -> Unleash feature toggles, created through Unleash's admin API
// (--dry-run: only OUTPUT.json, no API call).
//
// INPUT.json is what bench/field/unleash_bench.sh reads from the database: {flags: [{key, active,
// definition}], cohorts: {id: {is_static, filters, members: [distinct ids]}}, group_types:
// {index: name}}. OUTPUT.json lists, per flag, how faithful the translation is:
//   equivalent      same conditions (the bucketing hash differs: Unleash uses murmur3 over
//                   groupId:userId, flag_eval xxh3 or sha1, so the same share of subjects is in,
//                   not the same subjects)
//   approximate     same intent with a named difference (case-sensitive IN, holdout as a
//                   variant, ...)
//   not equivalent  a condition Unleash cannot express (dates of a property: Unleash compares
//                   dates only with the current time); the condition is kept as one that never
//                   matches, and named
//
// Environment: UNLEASH_URL (http://127.0.0.1:port), UNLEASH_ADMIN_TOKEN, UNLEASH_PROJECT
// [default], UNLEASH_ENVIRONMENT [development].
//
// Mapping: each condition set -> one flexibleRollout strategy (rollout %, stickiness userId or
// the group type for group flags, groupId = the flag key); the properties of a set -> constraints
// (ANDed); a filter that needs an OR (semver_neq, a cohort) multiplies the set into several
// strategies with the same groupId, so that they bucket alike and their OR is the set.
// Multivariate -> strategy variants with the same weights; payloads -> variant payloads (a
// boolean flag's payload rides on a single variant "on"). Dynamic cohorts are inlined; a static
// cohort becomes userId IN its members' distinct ids. flag_evaluates_to -> Unleash's feature
// dependency (one parent per flag).
import { readFileSync, writeFileSync } from 'node:fs';

const dryRun = process.argv.includes('--dry-run');
const [inputPath, outputPath] = process.argv.slice(2).filter((a) => a !== '--dry-run');
if (!inputPath || !outputPath) {
  console.error('usage: node translate_flags.mjs [--dry-run] INPUT.json OUTPUT.json');
  process.exit(2);
}
const base = process.env.UNLEASH_URL;
const adminToken = process.env.UNLEASH_ADMIN_TOKEN;
if (!dryRun && (!base || !adminToken)) {
  console.error('translate_flags.mjs: set UNLEASH_URL and UNLEASH_ADMIN_TOKEN');
  process.exit(2);
}
const project = process.env.UNLEASH_PROJECT || 'default';
const environment = process.env.UNLEASH_ENVIRONMENT || 'development';
const input = JSON.parse(readFileSync(inputPath, 'utf8'));
const groupTypes = input.group_types || {};
const cohorts = input.cohorts || {};

// Unleash's static cohort stand-in (userId IN ...) and segments stop at 1000 values.
const MAX_IN_VALUES = 1000;

/** The Unleash context field for a PostHog property (Unleash names: letters, digits, _ and -). */
export function contextName(property) {
  const name = property.type === 'group'
    ? `${groupTypes[property.group_type_index] ?? `group${property.group_type_index}`}_${property.key}`
    : property.key;
  return name.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+/, '');
}

// ---- boolean algebra over constraints: a condition is a DNF, an array of AND-lists ----
const TRUE = [[]];
const FALSE = [];
const and = (a, b) => a.flatMap((x) => b.map((y) => [...x, ...y]));
const or = (a, b) => [...a, ...b];
const invert = (c) => ({ ...c, inverted: !c.inverted });
function not(dnf) { // De Morgan: not(OR of ANDs) = AND of (OR of inverted constraints)
  return dnf.reduce((acc, conj) => and(acc, conj.map((c) => [invert(c)])), TRUE);
}
const one = (c) => [[c]];

const asStrings = (value) => (Array.isArray(value) ? value : [value]).map((v) => String(v));
const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function semver(text) {
  const m = /^(\d+)(?:\.(\d+|\*))?(?:\.(\d+|\*))?/.exec(String(text).trim());
  if (!m) throw new Error(`not a version: ${text}`);
  const part = (s) => (s === undefined || s === '*' ? null : Number(s));
  return [Number(m[1]), part(m[2]), part(m[3])];
}
const version = ([a, b, c]) => `${a}.${b ?? 0}.${c ?? 0}`;
function semverRange(field, low, high) {
  return [[{ contextName: field, operator: 'SEMVER_GTE', value: version(low) },
           { contextName: field, operator: 'SEMVER_LT', value: version(high) }]];
}

/** A regex that is a literal string, anchored or not -> {operator, text}; otherwise null. */
function regexLiteral(pattern) {
  const m = /^(\^?)((?:[^\\.*+?^${}()|[\]]|\\[.*+?^${}()|[\]\\/-])*)(\$?)$/.exec(pattern);
  if (!m || !m[2]) return null;
  const text = m[2].replace(/\\(.)/g, '$1');
  const operator = m[1] && m[3] ? 'IN' : m[1] ? 'STR_STARTS_WITH' : m[3] ? 'STR_ENDS_WITH' : 'STR_CONTAINS';
  return { operator, text };
}

/** One PostHog property filter -> [dnf, notes, equivalence]. */
function property(p, flag) {
  const field = contextName(p);
  const op = p.operator || (p.type === 'cohort' ? 'in' : 'exact');
  const c = (operator, extra) => ({ contextName: field, operator, ...extra });
  const notes = [];
  let level = 'equivalent';
  const approx = (note) => { notes.push(note); if (level === 'equivalent') level = 'approximate'; };
  const never = (note) => {
    notes.push(note);
    level = 'not equivalent';
    return one(c('IN', { values: [`(no Unleash operator: ${op} ${JSON.stringify(p.value)})`] }));
  };
  let dnf;
  switch (op) {
    case 'exact':
    case 'is_not': {
      const values = asStrings(p.value);
      if (values.some((v) => /[A-Za-z]/.test(v) && v !== 'true' && v !== 'false')) {
        approx(`${p.key} ${op}: Unleash IN is case-sensitive, PostHog's ${op} is not`);
      }
      dnf = one(c(op === 'exact' ? 'IN' : 'NOT_IN', { values }));
      break;
    }
    case 'icontains': case 'icontains_multi':
      dnf = one(c('STR_CONTAINS', { values: asStrings(p.value), caseInsensitive: true })); break;
    case 'not_icontains': case 'not_icontains_multi':
      dnf = one(c('STR_CONTAINS', { values: asStrings(p.value), caseInsensitive: true, inverted: true })); break;
    case 'starts_with': case 'not_starts_with':
      dnf = one(c('STR_STARTS_WITH', { values: asStrings(p.value), caseInsensitive: true, inverted: op.startsWith('not_') })); break;
    case 'ends_with': case 'not_ends_with':
      dnf = one(c('STR_ENDS_WITH', { values: asStrings(p.value), caseInsensitive: true, inverted: op.startsWith('not_') })); break;
    case 'regex': case 'not_regex': {
      // A literal pattern (with ^ / $ anchors at most) is a string operator, exactly.
      const literal = regexLiteral(String(p.value));
      if (literal) {
        dnf = one(c(literal.operator, { values: [literal.text], inverted: op === 'not_regex' }));
        break;
      }
      // Unleash 8 has a REGEX operator (re2js, unanchored find, like flag_eval's RE2), marked
      // experimental in its UI; it cannot be inverted.
      if (op === 'not_regex') return [never(`${p.key} not_regex: Unleash's REGEX operator cannot be inverted`), notes, level];
      approx(`${p.key} regex: Unleash's REGEX operator is experimental`);
      dnf = one(c('REGEX', { value: String(p.value) }));
      break;
    }
    case 'gt': case 'gte': case 'lt': case 'lte':
      dnf = one(c(`NUM_${op.toUpperCase()}`, { value: String(p.value) })); break;
    case 'semver_gt': case 'semver_gte': case 'semver_lt': case 'semver_lte': case 'semver_eq':
      dnf = one(c(`SEMVER_${op.slice(7).toUpperCase()}`, { value: version(semver(p.value)) })); break;
    case 'semver_neq': {
      const v = version(semver(p.value));
      dnf = or(one(c('SEMVER_GT', { value: v })), one(c('SEMVER_LT', { value: v })));
      break;
    }
    case 'semver_tilde': { // ~X.Y.Z: >= X.Y.Z, < X.(Y+1).0
      const [a, b, d] = semver(p.value);
      dnf = semverRange(field, [a, b, d], [a, (b ?? 0) + 1, 0]); break;
    }
    case 'semver_caret': { // ^X.Y.Z: the left-most non-zero part stays
      const [a, b, d] = semver(p.value);
      const high = a > 0 ? [a + 1, 0, 0] : (b ?? 0) > 0 ? [0, b + 1, 0] : [0, 0, (d ?? 0) + 1];
      dnf = semverRange(field, [a, b, d], high); break;
    }
    case 'semver_wildcard': { // X.* or X.Y.*
      const [a, b] = semver(p.value);
      dnf = semverRange(field, [a, b, 0], b === null ? [a + 1, 0, 0] : [a, b + 1, 0]); break;
    }
    case 'is_set':
      // Every context value the frontend API receives is a string; "^" matches any string.
      approx(`${p.key} is_set: REGEX "^" (Unleash has no is-set operator)`);
      dnf = one(c('REGEX', { value: '^' }));
      break;
    case 'is_not_set':
      return [never(`${p.key} is_not_set: Unleash has no is-not-set operator (and REGEX cannot be inverted)`), notes, level];
    case 'is_date_before': case 'is_date_after': case 'is_date_exact':
      return [never(`${p.key} ${op} ${p.value}: Unleash's DATE_* operators compare only the current time`), notes, level];
    case 'in': case 'not_in': {
      if (p.type !== 'cohort') return [never(`${p.key} ${op}: list operator on a property`), notes, level];
      const [cohortDnf, cohortNotes, cohortLevel] = cohort(p.value, flag);
      notes.push(...cohortNotes);
      level = cohortLevel;
      dnf = op === 'not_in' ? not(cohortDnf) : cohortDnf;
      if (op === 'not_in' && level === 'equivalent') {
        approx('not_in cohort: a subject missing a property of the cohort is outside it in PostHog, an inverted constraint matches it in Unleash');
      }
      break;
    }
    default:
      return [never(`${p.key}: operator ${op} has no Unleash equivalent`), notes, level];
  }
  if (p.negation) dnf = not(dnf);
  return [dnf, notes, level];
}

const worse = (a, b) => {
  const rank = { equivalent: 0, approximate: 1, 'not equivalent': 2 };
  return rank[b] > rank[a] ? b : a;
};

/** A cohort -> [dnf, notes, equivalence]: dynamic ones inlined, static ones as userId IN. */
function cohort(id, flag, seen = new Set()) {
  const entry = cohorts[id];
  if (!entry) return [one({ contextName: 'userId', operator: 'IN', values: ['(unknown cohort)'] }), [`cohort ${id} is unknown`], 'not equivalent'];
  if (entry.is_static) {
    const members = entry.members || [];
    const notes = [`static cohort ${id}: userId IN its ${Math.min(members.length, MAX_IN_VALUES)} members' distinct ids` +
      (members.length > MAX_IN_VALUES ? ` (of ${members.length}: Unleash lists stop at ${MAX_IN_VALUES})` : '')];
    return [one({ contextName: 'userId', operator: 'IN', values: members.slice(0, MAX_IN_VALUES) }), notes,
      members.length > MAX_IN_VALUES ? 'not equivalent' : 'approximate'];
  }
  if (seen.has(id)) throw new Error(`cohort ${id} refers to itself`);
  seen.add(id);
  const notes = [];
  let level = 'equivalent';
  function walk(node) {
    if (node.values && (node.type === 'AND' || node.type === 'OR')) {
      const parts = node.values.map(walk);
      return parts.reduce(node.type === 'AND' ? and : or, node.type === 'AND' ? TRUE : FALSE);
    }
    let dnf;
    if (node.type === 'cohort') {
      const [d, n, l] = cohort(node.value, flag, seen);
      notes.push(...n); level = worse(level, l); dnf = d;
      if (node.negation) dnf = not(dnf);
    } else {
      const [d, n, l] = property(node, flag);
      notes.push(...n); level = worse(level, l); dnf = d;
    }
    return dnf;
  }
  const dnf = walk(entry.filters);
  seen.delete(id);
  return [dnf, notes, level];
}

/** PostHog flag -> {strategies, dependencies, enabled, level, notes}. */
export function translate(flag) {
  const def = flag.definition;
  const filters = def.filters || {};
  const notes = [];
  let level = 'equivalent';
  const mark = (l, note) => { level = worse(level, l); if (note) notes.push(note); };
  const groupIndex = filters.aggregation_group_type_index;
  let stickiness = 'userId';
  if (groupIndex !== undefined && groupIndex !== null) {
    stickiness = (groupTypes[groupIndex] ?? `group${groupIndex}`).replace(/[^A-Za-z0-9_-]+/g, '_');
    notes.push(`group flag: bucketed by the context field ${stickiness} (the group key)`);
  }
  const payloads = filters.payloads || {};
  const parsePayload = (text) => (text === undefined ? undefined : { type: 'json', value: String(text) });
  let variants = (filters.multivariate?.variants || []).map((v) => ({
    name: v.key, weight: Math.round(v.rollout_percentage * 10), payload: parsePayload(payloads[v.key]),
  }));
  const holdout = filters.holdout || (filters.holdout_groups || [])[0];
  if (holdout && variants.length) {
    const share = Number(holdout.exclusion_percentage ?? holdout.rollout_percentage ?? 0) / 100;
    const name = `holdout-${holdout.id ?? 'group'}`;
    variants = [...variants.map((v) => ({ ...v, weight: Math.round(v.weight * (1 - share)) })),
      { name, weight: Math.round(1000 * share) }];
    mark('approximate', `holdout: a variant ${name} of ${share * 100}% (Unleash has no holdouts; PostHog buckets the holdout apart from the flag)`);
  } else if (holdout) {
    mark('approximate', 'holdout without variants: left out');
  }
  if (!variants.length && payloads.true !== undefined) {
    variants = [{ name: 'on', weight: 1000, payload: parsePayload(payloads.true) }];
    notes.push('payload: carried by a single variant "on"');
  }
  if (def.ensure_experience_continuity) {
    mark('approximate', 'experience continuity: Unleash has no hash-key overrides; it buckets the userId it is given');
  }
  const dependencies = [];
  const strategies = [];
  const sets = [];
  if (filters.super_groups?.length) {
    mark('approximate', 'early-access super condition: an extra strategy ORed in front (PostHog lets an explicit opt-out win over the other sets)');
    sets.push(...filters.super_groups.map((s) => ({ ...s, superGroup: true })));
  }
  sets.push(...(filters.groups || []));
  for (const set of sets) {
    let dnf = TRUE;
    for (const p of set.properties || []) {
      if (p.type === 'flag') {
        const parent = { feature: p.key, enabled: p.value !== false };
        if (typeof p.value === 'string') parent.variants = [p.value];
        if (dependencies.length) {
          mark('not equivalent', `dependency on ${p.key} dropped: Unleash allows one parent flag`);
        } else {
          dependencies.push(parent);
          if (set !== (filters.groups || [])[0] || (filters.groups || []).length > 1) {
            mark('approximate', 'dependency: Unleash applies it to the whole flag, not to one condition set');
          }
        }
        continue;
      }
      const [d, n, l] = property(p, flag);
      notes.push(...n);
      level = worse(level, l);
      dnf = and(dnf, d);
    }
    if (dnf.length > 1) notes.push(`a condition set became ${dnf.length} strategies (an OR inside it)`);
    const rollout = set.rollout_percentage ?? 100;
    let setVariants = variants;
    if (set.superGroup) setVariants = variants.filter((v) => v.name === 'on');
    else if (set.variant && variants.some((v) => v.name === set.variant)) {
      setVariants = variants.filter((v) => v.name === set.variant).map((v) => ({ ...v, weight: 1000 }));
    }
    for (const constraints of dnf) {
      strategies.push({
        name: 'flexibleRollout',
        constraints,
        parameters: { rollout: String(rollout), stickiness, groupId: flag.key },
        // Unleash wants one "variable" variant (it takes the rest of the 1000).
        variants: setVariants.map((v, i) => ({
          name: v.name, weight: v.weight, stickiness,
          weightType: i === setVariants.length - 1 ? 'variable' : 'fix',
          ...(v.payload ? { payload: v.payload } : {}),
        })),
      });
    }
  }
  return { key: flag.key, enabled: flag.active, strategies, dependencies, level, notes: [...new Set(notes)] };
}

// ---- the admin API ----
async function api(method, path, body, okStatuses = [200, 201, 202]) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: adminToken, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!okStatuses.includes(response.status)) {
    throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  }
  return text ? JSON.parse(text) : null;
}

async function main() {
  const translated = input.flags.map((f) => {
    try {
      return translate(f);
    } catch (e) {
      throw new Error(`flag ${f.key}: ${e.message}`);
    }
  });
  // Context fields first: Unleash's UI lists them, and stickiness needs them declared.
  const fields = new Set();
  const stickyFields = new Set();
  for (const t of translated) {
    for (const s of t.strategies) {
      for (const c of s.constraints) if (c.contextName !== 'userId') fields.add(c.contextName);
      if (s.parameters.stickiness !== 'userId') stickyFields.add(s.parameters.stickiness);
    }
  }
  const existing = dryRun ? new Set() : new Set((await api('GET', '/api/admin/context')).map((c) => c.name));
  for (const name of [...new Set([...fields, ...stickyFields])].sort()) {
    if (dryRun || existing.has(name)) continue;
    await api('POST', '/api/admin/context', {
      name, description: 'flag_eval bench (translate_flags.mjs)', stickiness: stickyFields.has(name), legalValues: [],
    });
  }
  const features = `/api/admin/projects/${project}/features`;
  // Parents before children: create every toggle, then strategies, then dependencies.
  for (const t of dryRun ? [] : translated) {
    await api('POST', features, { name: t.key, type: 'release', description: `translated from flag_eval (${t.level})` });
    for (const s of t.strategies) {
      await api('POST', `${features}/${encodeURIComponent(t.key)}/environments/${environment}/strategies`, s);
    }
  }
  for (const t of dryRun ? [] : translated) {
    for (const d of t.dependencies) {
      await api('POST', `${features}/${encodeURIComponent(t.key)}/dependencies`, d);
    }
    if (t.enabled) await api('POST', `${features}/${encodeURIComponent(t.key)}/environments/${environment}/on`);
  }
  const summary = translated.map(({ key, enabled, level, notes, strategies, dependencies }) => ({
    key, enabled, level, notes, strategies: strategies.length, dependencies: dependencies.length,
  }));
  writeFileSync(outputPath, JSON.stringify({ environment, project, flags: summary, toggles: translated }, null, 1));
  const count = (l) => summary.filter((s) => s.level === l).length;
  console.log(`translate_flags: ${summary.length} toggles (${count('equivalent')} equivalent, ` +
    `${count('approximate')} approximate, ${count('not equivalent')} not equivalent), ` +
    `${translated.reduce((n, t) => n + t.strategies.length, 0)} strategies, ${fields.size + stickyFields.size} context fields`);
}

main().catch((e) => {
  console.error(`translate_flags: ${e.message}`);
  process.exit(1);
});
