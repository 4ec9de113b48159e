// Generates flag sets and subjects from a fixed seed and evaluates them with posthog-node's local
// evaluation, the real SDK fetching each set's local-evaluation feed over HTTP from a server in
// this process. test/t/015_posthog_node_differential.pl evaluates the same cases with
// flag_eval.flag_evaluate_all and compares.
//
// Every generated flag buckets with sha1 (PostHog's hash) and uses what PostHog's server and
// posthog-node both evaluate: person, group, cohort and flag filters with every operator,
// variants, payloads, holdouts, early_exit, group flags, mixed user-and-group targeting, device
// bucketing, dynamic cohorts (nested, negated), dependencies with PostHog's dependency_chain,
// property matching versions 1 and 2, and evaluation contexts and runtimes. A flag posthog-node cannot decide for a subject (an
// operator it lacks, a missing property, an integer under version-2 exact, a device-bucketed flag
// without $device_id, ...) is left out of its answer: only conclusive answers are compared.
//
//   FLAG_EVAL_DIFF_SEED, FLAG_EVAL_DIFF_SETS, FLAG_EVAL_DIFF_SUBJECTS   the generator's settings
//
// Prints {seed, sets: [{definitions, subjects: [{context, flags, payloads}]}], errors}.
import './web_crypto.mjs'
import http from 'node:http'
import { PostHog } from 'posthog-node'
import { print } from './common.mjs'

const SEED = Number(process.env.FLAG_EVAL_DIFF_SEED ?? 20261205)
const SETS = Number(process.env.FLAG_EVAL_DIFF_SETS ?? 60)
const SUBJECTS = Number(process.env.FLAG_EVAL_DIFF_SUBJECTS ?? 40)

// mulberry32: a small seeded PRNG, so that a seed replays a run exactly.
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const random = prng(SEED)
const chance = (p) => random() < p
const pick = (list) => list[Math.floor(random() * list.length)]
const some = (list, max) => {
  const n = 1 + Math.floor(random() * Math.min(max, list.length))
  return [...new Set(Array.from({ length: n }, () => pick(list)))]
}

// Evaluation contexts, runtimes and negations outside cohorts come from a PRNG of their own:
// adding them left every other generated case as it was.
const scopeRandom = prng(SEED ^ 0x5c09e)
const scopeChance = (p) => scopeRandom() < p
const scopePick = (list) => list[Math.floor(scopeRandom() * list.length)]
const CONTEXTS = ['web', 'billing', 'checkout']

// ---- what subjects look like ----
const PERSON = {
  plan: ['free', 'pro', 'Pro', 'enterprise', 'team'],
  country: ['US', 'us', 'GB', 'FR', 'DE'],
  age: [13, 18, 21, 30, 45.5, 70],
  email: ['a@corp.com', 'b@gmail.com', 'c@CORP.com', 'dev@example.org'],
  beta: [true, false, 'true', 'FALSE', 'banana'],
  app_version: ['1.2.3', '1.10.0', '2.0.0', '2.0.0-beta.1', '0.9.9'],
  signed_up_at: ['2023-05-01T10:00:00Z', '2024-12-31', '2025-06-15T08:30:00+02:00'],
  score: ['12.5', '99', '7'],
}
const GROUP = {
  0: { tier: ['gold', 'silver', 'bronze'], seats: [5, 50, 500], industry: ['tech', 'retail'] },
  1: { employees: [10, 1000, 10000], public: [true, false] },
}
const MAPPING = { 0: 'organization', 1: 'company' }

// ---- filters: every operator, with values drawn from the domains above ----
const operatorTurns = new Map()  // property key -> the last operator generated for it
function valueFilter(key, domain, type, groupIndex) {
  const base = { key, type }
  if (type === 'group') base.group_type_index = groupIndex
  const sample = pick(domain)
  const text = String(sample)
  const numeric = typeof sample === 'number' || (typeof sample === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(sample))
  const versions = key === 'app_version'
  const dates = key === 'signed_up_at'
  const operators = ['exact', 'is_not', 'exact', 'icontains', 'not_icontains', 'regex', 'not_regex',
    'is_set', 'is_not_set', 'starts_with', 'not_starts_with', 'ends_with', 'not_ends_with', 'icontains_multi']
  if (numeric) operators.push('gt', 'gte', 'lt', 'lte', 'gt', 'lte', 'between', 'not_between')
  if (versions) operators.push('semver_gt', 'semver_gte', 'semver_lt', 'semver_lte', 'semver_eq', 'semver_neq',
    'semver_tilde', 'semver_caret', 'semver_wildcard', 'semver_gte', 'semver_lt')
  if (dates) operators.push('is_date_before', 'is_date_after', 'is_date_before', 'is_date_after', 'is_date_exact')
  // In turn rather than at random, so that every operator of a property is generated.
  const turn = (operatorTurns.get(key) ?? Math.floor(random() * operators.length)) + 1
  operatorTurns.set(key, turn)
  const operator = operators[turn % operators.length]
  let value
  switch (operator) {
    case 'exact':
    case 'is_not':
      value = chance(0.4) ? some(domain, 3) : sample
      break
    case 'icontains':
    case 'not_icontains':
    case 'starts_with':
    case 'not_starts_with':
    case 'ends_with':
    case 'not_ends_with':
      value = text.length > 2 ? text.slice(chance(0.5) ? 0 : 1, 3) : text
      break
    case 'icontains_multi':
      value = some(domain, 2).map((v) => String(v).slice(0, 3))
      break
    case 'regex':
    case 'not_regex':
      value = pick(['^p', 'corp\\.com$', '^[0-9]+$', 'o', '^(US|GB)$', '\\.0$'])
      break
    case 'is_set':
    case 'is_not_set':
      value = 'is_set'
      break
    case 'semver_wildcard':
      value = pick(['1.*', '2.0.*', '*', '1.2.*'])
      break
    case 'is_date_before':
    case 'is_date_after':
      value = pick(['2024-06-01', '2025-01-01T00:00:00Z', '-30d', '-1000d'])
      break
    case 'is_date_exact':
      value = pick(domain)
      break
    case 'between':
    case 'not_between':
      value = pick([[10, 30], [0, 20], ['12', '100'], [45.5, 45.5]])
      break
    default:
      value = versions ? pick(['1.2.0', '1.10.0', '2.0.0']) : numeric ? pick([10, 20, 50, 100, '30']) : sample
  }
  return { ...base, operator, value }
}

function personFilter() {
  const key = pick(Object.keys(PERSON))
  return valueFilter(key, PERSON[key], 'person')
}

// In cohorts, a filter may be negated (PostHog writes negation there, and both evaluate it).
function cohortFilter() {
  return { ...personFilter(), ...(chance(0.2) ? { negation: true } : {}) }
}

function groupFilter(index) {
  const key = pick(Object.keys(GROUP[index]))
  return valueFilter(key, GROUP[index][key], 'group', index)
}

// ---- a flag set ----
function makeSet(setIndex) {
  const cohorts = {}
  const cohortIds = []
  for (let c = 0; c < 2; c++) {
    const id = 100 + setIndex * 10 + c
    const values = [{ type: 'AND', values: Array.from({ length: 1 + Math.floor(random() * 2) }, cohortFilter) }]
    if (cohortIds.length && chance(0.5)) {
      values[0].values.push({ key: 'id', type: 'cohort', value: cohortIds[0], negation: chance(0.5) })
    }
    if (chance(0.5)) values.push({ type: 'AND', values: [cohortFilter()] })
    cohorts[String(id)] = { type: 'OR', values }
    cohortIds.push(id)
  }

  const flags = []
  const count = 5 + Math.floor(random() * 5)
  for (let i = 0; i < count; i++) {
    const key = `set${setIndex}-flag${i}`
    const shape = pick(['person', 'person', 'person', 'group', 'mixed'])
    const flagAggregation = shape === 'group' ? pick([0, 1]) : null
    const filters = { aggregation_group_type_index: flagAggregation, groups: [] }
    const sets = 1 + Math.floor(random() * 3)
    const variants = chance(0.4)
      ? pick([[50, 50], [34, 33, 33], [10, 90], [25, 25, 50]]).map((p, v) => ({ key: `v${v}`, rollout_percentage: p }))
      : []
    for (let s = 0; s < sets; s++) {
      const aggregation = shape === 'mixed' ? pick([null, 0, 1]) : flagAggregation
      const properties = []
      const filterCount = Math.floor(random() * 3)
      for (let f = 0; f < filterCount; f++) {
        if (aggregation !== null) properties.push(groupFilter(aggregation))
        else if (chance(0.12)) properties.push({ key: 'id', type: 'cohort', operator: pick(['in', 'not_in']), value: pick(cohortIds) })
        else if (i > 0 && chance(0.12)) {
          const target = flags[Math.floor(random() * flags.length)]
          const targetVariants = target.filters.multivariate?.variants ?? []
          properties.push({
            key: target.key, type: 'flag', operator: 'flag_evaluates_to',
            value: targetVariants.length && chance(0.5) ? pick(targetVariants).key : chance(0.7),
          })
        } else {
          // PostHog's server and posthog-node read negation only inside cohorts.
          const filter = personFilter()
          if (scopeChance(0.1)) filter.negation = true
          properties.push(filter)
        }
      }
      const group = { properties, rollout_percentage: pick([0, 10, 33.3, 50, 75, 100, null]) }
      if (shape === 'mixed') group.aggregation_group_type_index = aggregation
      if (variants.length && chance(0.2)) group.variant = pick(variants).key
      filters.groups.push(group)
    }
    if (variants.length) filters.multivariate = { variants }
    const payloads = {}
    for (const v of variants) if (chance(0.5)) payloads[v.key] = JSON.stringify({ variant: v.key, n: i })
    if (!variants.length && chance(0.5)) payloads.true = JSON.stringify(chance(0.5) ? { on: i } : [i, 'x'])
    if (Object.keys(payloads).length) filters.payloads = payloads
    if (chance(0.1)) filters.holdout = { id: 7 + i, exclusion_percentage: pick([5, 20, 50]) }
    if (chance(0.15)) filters.early_exit = true
    const flag = { id: setIndex * 100 + i, key, active: chance(0.93), bucketing: 'sha1', filters }
    if (shape !== 'group' && chance(0.2)) flag.bucketing_identifier = 'device_id'
    // PostHog's older feeds name the contexts evaluation_tags.
    if (scopeChance(0.25))
      flag[scopeChance(0.3) ? 'evaluation_tags' : 'evaluation_contexts'] = [...new Set([scopePick(CONTEXTS), scopePick(CONTEXTS)])]
    if (scopeChance(0.15)) flag.evaluation_runtime = scopePick(['client', 'server', 'all', 'Client'])
    flags.push(flag)
  }
  addDependencyChains(flags)
  return {
    flags,
    group_type_mapping: MAPPING,
    cohorts,
    property_matching_version: pick([1, 2]),
  }
}

// PostHog's server writes, on each flag filter, the keys to evaluate first, ending with the flag
// filtered on (dependencies point to earlier flags here, so there is never a cycle).
function addDependencyChains(flags) {
  const byKey = Object.fromEntries(flags.map((f) => [f.key, f]))
  const dependsOn = (flag) =>
    flag.filters.groups.flatMap((g) => g.properties.filter((p) => p.type === 'flag').map((p) => p.key))
  const chain = (key, out = [], seen = new Set()) => {
    if (seen.has(key)) return out
    seen.add(key)
    for (const dep of dependsOn(byKey[key])) chain(dep, out, seen)
    out.push(key)
    return out
  }
  for (const flag of flags)
    for (const group of flag.filters.groups)
      for (const property of group.properties)
        if (property.type === 'flag') property.dependency_chain = chain(property.key)
}

function makeSubject(setIndex, n) {
  const person_properties = {}
  for (const [key, domain] of Object.entries(PERSON)) if (chance(0.8)) person_properties[key] = pick(domain)
  if (chance(0.7)) person_properties.$device_id = `device-${setIndex}-${Math.floor(random() * 1000)}`
  const groups = {}
  const group_properties = {}
  for (const [index, name] of Object.entries(MAPPING)) {
    if (!chance(0.6)) continue
    groups[name] = `${name}-${Math.floor(random() * 50)}`
    group_properties[name] = {}
    for (const [key, domain] of Object.entries(GROUP[index])) if (chance(0.85)) group_properties[name][key] = pick(domain)
  }
  return { distinct_id: `user-${setIndex}-${n}`, person_properties, groups, group_properties }
}

// ---- posthog-node, fed over HTTP ----
async function main() {
  const sets = Array.from({ length: SETS }, (_, i) => makeSet(i))
  const feeds = new Map(sets.map((definitions, i) => [`phc_diff_${i}`, JSON.stringify(definitions)]))
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://localhost')
    const feed = url.pathname.startsWith('/flags/definitions') && feeds.get(url.searchParams.get('token'))
    response.writeHead(feed ? 200 : 404, { 'Content-Type': 'application/json' })
    response.end(feed || '{}')
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const host = `http://127.0.0.1:${server.address().port}`
  const errors = []
  const out = []
  try {
    for (let i = 0; i < sets.length; i++) {
      // The SDK's contexts narrow the flags it evaluates; its runtime (server) narrows nothing
      // locally: posthog-node keeps client flags for bootstrapping.
      const evaluationContexts = scopePick([undefined, undefined, ['web'], ['billing', 'checkout']])
      const client = new PostHog(`phc_diff_${i}`, {
        host, personalApiKey: 'phs_diff', featureFlagsPollingInterval: 600000, sendFeatureFlagEvent: false,
        flushAt: 1000, flushInterval: 0, disableGeoip: true, fetchRetryCount: 0, evaluationContexts,
      })
      client.on('error', (error) => errors.push(String(error?.message ?? error)))
      try {
        if (!(await client.waitForLocalEvaluationReady(10000))) throw new Error(`set ${i}: definitions not loaded`)
        const subjects = []
        for (let n = 0; n < SUBJECTS; n++) {
          const context = makeSubject(i, n)
          if (evaluationContexts) context.evaluation_contexts = evaluationContexts
          const answer = await client.getAllFlagsAndPayloads(context.distinct_id, {
            personProperties: context.person_properties, groups: context.groups,
            groupProperties: context.group_properties, onlyEvaluateLocally: true,
          })
          subjects.push({ context, flags: answer.featureFlags ?? {}, payloads: answer.featureFlagPayloads ?? {} })
        }
        out.push({ definitions: sets[i], subjects })
      } finally {
        await client.shutdown(5000)
      }
    }
  } finally {
    server.close()
  }
  return { seed: SEED, sets: out, errors }
}

try {
  print(await main())
} catch (error) {
  print({ error: String(error?.stack ?? error) })
  process.exitCode = 1
}
