// posthog-node local evaluation, fed the flag JSON of bench/inputs/flags/ in process.
//
// Path used: the public client API, `getFeatureFlag(key, distinctId, {personProperties,
// onlyEvaluateLocally: true, sendFeatureFlagEvents: false})`, on a client whose definitions come
// from a `flagDefinitionCacheProvider` (a documented option: without a secret key the client is a
// cache-only reader, so it never calls PostHog). Each call is what an application pays per flag:
// the client's property merge, the poller's snapshot, the evaluator, and one awaited promise.
// No $feature_flag_called event is queued (sendFeatureFlagEvents: false) and nothing is sent.
import { PostHog } from 'posthog-node';

// A cache provider that hands the client fixed definitions (a local-evaluation feed document).
class FixedDefinitions {
  constructor(flags) {
    this.data = { flags, group_type_mapping: {}, cohorts: {} };
  }
  async getFlagDefinitions() { return this.data; }
  async shouldFetchFlagDefinitions() { return false; }
  async onFlagDefinitionsReceived() {}
  async shutdown() {}
}

// Returns {evaluate(flagKey, person) -> Promise<value>, close()}; value is false, true or a variant.
export async function posthogLocalEvaluator(flags) {
  const client = new PostHog('phc_flag_eval_bench', {
    host: 'http://127.0.0.1:9', // never contacted: cache-only reader, no events
    flagDefinitionCacheProvider: new FixedDefinitions(flags),
    featureFlagsPollingInterval: null,
    flushAt: 1_000_000,
    flushInterval: 0,
    disableGeoip: true,
  });
  client.on('error', (err) => { throw err; });
  await client.waitForLocalEvaluationReady(10_000);
  if (!client.isLocalEvaluationReady()) throw new Error('posthog-node did not load the flag definitions');
  const options = { onlyEvaluateLocally: true, sendFeatureFlagEvents: false, personProperties: null };
  return {
    evaluate(flagKey, person) {
      options.personProperties = person.properties;
      return client.getFeatureFlag(flagKey, person.distinct_id, options);
    },
    close: () => client.shutdown(),
  };
}
