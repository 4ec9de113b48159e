// The four shapes as a flagd flag configuration, evaluated by @openfeature/flagd-core (FlagdCore,
// its JsonLogic targeting compiled to a function, the in-process core of flagd's providers).
//
// Equivalent rules, not identical buckets: flagd's `fractional` hashes "<flag key><targetingKey>"
// with murmurhash3 (32 bits), PostHog's rollout uses SHA-1 (60 bits), so the same share of persons
// lands in each bucket but not the same persons. Where flagd's JsonLogic cannot say PostHog's rule:
//  - `exact` is case-insensitive in PostHog; JsonLogic has no lower-casing, so the plan and country
//    lists name every case form that occurs in these persons (all four of "us"; "pro", "Pro",
//    "PRO", "enterprise", "Enterprise", "ENTERPRISE"): equal here, not for every spelling.
//  - flagd has no regex operator (its extra operators are starts_with, ends_with, sem_ver and
//    fractional). `^[^@]+@(example|posthog)\.com$` becomes ends_with "@example.com" or
//    "@posthog.com": the same on these persons' emails (user<n>@<domain>), NOT equivalent in
//    general ("a@b@example.com", "@example.com"). It is marked so in the report.
import { FlagdCore } from '@openfeature/flagd-core';

const ROLLOUT_50 = { fractional: [['on', 50], ['off', 50]] };

// shape -> {flagKey, type: 'boolean' | 'string', flag: flagd flag object, equivalent}
export const FLAGD_SHAPES = {
  static: {
    flagKey: 'bench-static', type: 'boolean', equivalent: 'yes',
    flag: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' },
  },
  three_filters_50: {
    flagKey: 'bench-3-filters', type: 'boolean', equivalent: 'yes (case forms listed)',
    flag: {
      state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off',
      targeting: {
        if: [
          { and: [
            { in: [{ var: 'plan' }, ['pro', 'Pro', 'PRO', 'enterprise', 'Enterprise', 'ENTERPRISE']] },
            { in: [{ var: 'country' }, ['US', 'us', 'Us', 'uS']] },
            { '>=': [{ var: 'age' }, 21] },
          ] },
          ROLLOUT_50,
          'off',
        ],
      },
    },
  },
  regex: {
    flagKey: 'bench-regex', type: 'boolean', equivalent: 'no: ends_with in place of the regex',
    flag: {
      state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off',
      targeting: {
        if: [
          { or: [
            { ends_with: [{ var: 'email' }, '@example.com'] },
            { ends_with: [{ var: 'email' }, '@posthog.com'] },
          ] },
          ROLLOUT_50,
          'off',
        ],
      },
    },
  },
  multivariate: {
    flagKey: 'bench-multivariate', type: 'string', equivalent: 'yes',
    flag: {
      state: 'ENABLED', variants: { control: 'control', 'test-a': 'test-a', 'test-b': 'test-b' },
      defaultVariant: 'control',
      targeting: { fractional: [['control', 34], ['test-a', 33], ['test-b', 33]] },
    },
  },
};

// Returns {evaluate(shape, context) -> value, context(person)}. The evaluation context is built
// once per person (targetingKey + the properties), as a provider receives it from the application.
export function flagdEvaluator() {
  const core = new FlagdCore();
  const flags = {};
  for (const { flagKey, flag } of Object.values(FLAGD_SHAPES)) flags[flagKey] = flag;
  core.setConfigurations(JSON.stringify({ flags }));
  const silent = { error() {}, warn() {}, info() {}, debug() {} };
  return {
    context: (person) => ({ targetingKey: person.distinct_id, ...person.properties }),
    evaluate(shape, context) {
      const { flagKey, type } = FLAGD_SHAPES[shape];
      const r = type === 'boolean'
        ? core.resolveBooleanEvaluation(flagKey, false, context, silent)
        : core.resolveStringEvaluation(flagKey, '', context, silent);
      if (r.errorCode) throw new Error(`flagd-core: ${flagKey}: ${r.errorCode} ${r.errorMessage ?? ''}`);
      return r.value;
    },
  };
}
