// The field comparison (issue 6): the four flag shapes of bench/inputs/flags/ evaluated by
// posthog-node local evaluation and by @openfeature/flagd-core over the persons core_bench
// evaluated, checked against flag_eval's answers person by person, then timed (ns per evaluation).
//
//   node bench/field/node/field_eval.mjs DIR FLAGS_DIR
//
// DIR holds core_bench --dump_field's persons.json and flag_eval_answers.json; writes DIR/node.json.
// Environment: FIELD_EVAL_REPETITIONS (default 9), FIELD_EVAL_SECONDS (per repetition and
// evaluator, default 0.25), FIELD_EVAL_WARMUP_SECONDS (per evaluator, default 0.5).
import fs from 'node:fs';
import path from 'node:path';
import { posthogLocalEvaluator } from './posthog_local.mjs';
import { flagdEvaluator, FLAGD_SHAPES } from './flagd_rules.mjs';
import { batchRunner, calibrate, summarize } from './measure.mjs';

const SHAPES = ['static', 'three_filters_50', 'regex', 'multivariate'];
const EXAMPLES = 5; // disagreements kept per shape, to show what differs

function numberFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return n;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${e.message}`);
  }
}

// The installed version (posthog-node does not export its package.json, so read the file).
function packageVersion(name) {
  return readJson(new URL(`./node_modules/${name}/package.json`, import.meta.url)).version;
}

// flag_eval's answer in the SDKs' form: false, true or the variant.
const flagEvalValue = (a) => (a.enabled ? a.variant ?? true : false);

// Person-by-person comparison of `values` with flag_eval's `answers`. `undefined` is no answer:
// posthog-node could not decide locally (with onlyEvaluateLocally it would otherwise ask the
// server), counted apart from definite disagreements; `undecided_elsewhere` counts those where
// flag_eval's filters matched (a missing property, which matches nothing, cannot explain them).
// For flagd, `excluded_alike` counts the
// persons flag_eval's filters exclude that flagd's targeting excludes too (no hash involved).
function compare(values, answers, persons) {
  const examples = [];
  let alike = 0, undecided = 0, undecidedElsewhere = 0, excludedByFilters = 0, excludedAlike = 0;
  values.forEach((v, i) => {
    const want = flagEvalValue(answers[i]);
    if (v === want) alike++;
    else if (v === undefined) {
      undecided++;
      if (answers[i].reason !== 'no_condition_match') undecidedElsewhere++;
    }
    if (v !== want && examples.length < EXAMPLES) {
      examples.push({ distinct_id: persons[i].distinct_id, properties: persons[i].properties, flag_eval: want,
                      got: v === undefined ? 'undecided' : v });
    }
    if (answers[i].reason === 'no_condition_match') {
      excludedByFilters++;
      if (v === false) excludedAlike++;
    }
  });
  const shares = {};
  for (const v of values) shares[String(v)] = (shares[String(v)] ?? 0) + 1 / values.length;
  return { persons: values.length, alike, undecided, undecided_elsewhere: undecidedElsewhere,
           disagreements: values.length - alike - undecided, examples,
           excluded_by_filters: excludedByFilters, excluded_alike: excludedAlike, value_shares: shares };
}

async function main() {
  const [dir, flagsDir] = process.argv.slice(2);
  if (!dir || !flagsDir) throw new Error('usage: field_eval.mjs DIR FLAGS_DIR');
  const repetitions = Math.round(numberFromEnv('FIELD_EVAL_REPETITIONS', 9));
  const seconds = numberFromEnv('FIELD_EVAL_SECONDS', 0.25);
  const warmup = numberFromEnv('FIELD_EVAL_WARMUP_SECONDS', 0.5);

  const persons = readJson(path.join(dir, 'persons.json'));
  const answers = readJson(path.join(dir, 'flag_eval_answers.json'));
  if (persons.length !== 1024) throw new Error(`expected 1024 persons, got ${persons.length}`);
  const flags = Object.fromEntries(SHAPES.map((s) => [s, readJson(path.join(flagsDir, `${s}.json`))]));
  for (const s of SHAPES) {
    if (answers.shapes?.[s]?.length !== persons.length) throw new Error(`flag_eval_answers.json: no answers for ${s}`);
    if (flags[s].key !== FLAGD_SHAPES[s].flagKey) throw new Error(`${s}.json: key ${flags[s].key}, flagd rules expect ${FLAGD_SHAPES[s].flagKey}`);
  }

  const posthog = await posthogLocalEvaluator(Object.values(flags));
  const flagd = flagdEvaluator();
  const flagdContexts = persons.map(flagd.context);

  // One evaluateOne(i) per (runtime, shape), i the person's index; posthog-node's evaluation is
  // async (it hashes with WebCrypto's crypto.subtle.digest), so it is timed both ways.
  const evaluators = [];
  for (const s of SHAPES) {
    const key = flags[s].key;
    const posthogOne = (i) => posthog.evaluate(key, persons[i]);
    evaluators.push({ runtime: 'posthog_node', shape: s, mode: 'sequential', one: posthogOne });
    evaluators.push({ runtime: 'posthog_node', shape: s, mode: 'concurrent', one: posthogOne });
    evaluators.push({ runtime: 'flagd_core', shape: s, mode: 'sync', one: (i) => flagd.evaluate(s, flagdContexts[i]) });
  }

  // Agreement first: the figures only mean something if the same work is being done.
  const result = { node: process.version, packages: { 'posthog-node': packageVersion('posthog-node'),
                   '@openfeature/flagd-core': packageVersion('@openfeature/flagd-core') },
                   settings: { repetitions, seconds, warmup_seconds: warmup, persons: persons.length },
                   posthog_path: 'PostHog#getFeatureFlag(key, distinctId, {personProperties, onlyEvaluateLocally: true, '
                     + 'sendFeatureFlagEvents: false}), definitions from a flagDefinitionCacheProvider',
                   shapes: {} };
  for (const e of evaluators) {
    if (e.mode === 'concurrent') continue; // same answers as 'sequential'
    const values = [];
    for (let i = 0; i < persons.length; i++) values.push(await e.one(i));
    const entry = (result.shapes[e.shape] ??= { key: flags[e.shape].key, flagd_equivalent: FLAGD_SHAPES[e.shape].equivalent });
    entry[e.runtime] = { agreement: compare(values, answers.shapes[e.shape], persons) };
  }

  const started = process.hrtime.bigint();
  for (const e of evaluators) {
    e.batch = batchRunner(e.one, e.mode);
    e.iterations = await calibrate(e.batch, warmup, seconds);
    e.runs = [];
    e.checksum = 0;
  }
  // Repetitions interleaved across evaluators (the order rotates), so drift in the machine's load
  // spreads over all of them instead of landing on one.
  for (let r = 0; r < repetitions; r++) {
    for (let k = 0; k < evaluators.length; k++) {
      const e = evaluators[(k + r) % evaluators.length];
      const { ns, checksum } = await e.batch(e.iterations);
      e.runs.push(ns / e.iterations);
      e.checksum += checksum;
    }
  }
  for (const e of evaluators) {
    const timings = (result.shapes[e.shape][e.runtime].timing ??= {});
    timings[e.mode] = { iterations: e.iterations, checksum: e.checksum, ...summarize(e.runs) };
  }
  result.timing_seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await posthog.close();

  fs.writeFileSync(path.join(dir, 'node.json'), JSON.stringify(result, null, 1) + '\n');
  for (const s of SHAPES) {
    const x = result.shapes[s];
    const line = ['posthog_node', 'flagd_core'].map((rt) => {
      const t = Object.entries(x[rt].timing).map(([mode, m]) => `${mode} ${m.median_ns.toFixed(0)} ns`).join(', ');
      return `${rt} ${t} (alike ${x[rt].agreement.alike}/${persons.length})`;
    }).join('; ');
    console.error(`field_eval: ${s}: ${line}`);
  }
}

main().catch((e) => {
  console.error(`field_eval: ${e.message}`);
  process.exit(1);
});
