// Remote evaluation with posthog-node: each subject's flags from the service's /flags endpoint.
// Prints [{distinct_id, all_flags, all_payloads, flags: {key: {value}|null}, payloads: {...}}, ...]
// and {errors} (what the SDK reported).
import { evaluationOptions, makeClient, run, subjects, wrapped } from './common.mjs'

run(async () => {
  const { client, errors } = makeClient()
  const results = []
  try {
    for (const subject of subjects()) {
      const options = evaluationOptions(subject)
      const all = await client.getAllFlagsAndPayloads(subject.distinct_id, options)
      const allFlags = await client.getAllFlags(subject.distinct_id, options)
      const flags = {}
      const payloads = {}
      for (const key of subject.keys ?? []) {
        flags[key] = wrapped(await client.getFeatureFlag(key, subject.distinct_id, options))
        payloads[key] = wrapped(await client.getFeatureFlagPayload(key, subject.distinct_id, undefined, options))
      }
      results.push({
        distinct_id: subject.distinct_id,
        all_flags: allFlags,
        all_flags_and_payloads: all.featureFlags,
        all_payloads: all.featureFlagPayloads,
        flags,
        payloads,
      })
    }
  } finally {
    await client.shutdown(5000)
  }
  return { results, errors }
})
