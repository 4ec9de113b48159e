// Local evaluation with posthog-node: the SDK fetches the service's local-evaluation feed
// (GET /flags/definitions?token=...&send_cohorts with the secret as Bearer) and evaluates flags
// itself. For each subject and each of its keys, prints the answer of
//   local:  getFeatureFlag(..., {onlyEvaluateLocally: true})   (null: the SDK could not decide)
//   mixed:  getFeatureFlag(...)   (the SDK asks the server for what it cannot decide)
// as [{distinct_id, local: {key: {value}|null}, mixed: {...}}, ...], with {ready, flag_count, errors}.
import { evaluationOptions, makeClient, run, setting, subjects, wrapped } from './common.mjs'

run(async () => {
  const { client, errors } = makeClient({
    personalApiKey: setting('FLAG_DECIDE_SECRET'),
    featureFlagsPollingInterval: 600000,
  })
  const results = []
  let ready = false
  try {
    ready = await client.waitForLocalEvaluationReady(10000)
    for (const subject of subjects()) {
      const options = evaluationOptions(subject)
      const local = {}
      const mixed = {}
      for (const key of subject.keys ?? []) {
        local[key] = wrapped(
          await client.getFeatureFlag(key, subject.distinct_id, { ...options, onlyEvaluateLocally: true })
        )
        mixed[key] = wrapped(await client.getFeatureFlag(key, subject.distinct_id, options))
      }
      results.push({ distinct_id: subject.distinct_id, local, mixed })
    }
  } finally {
    await client.shutdown(5000)
  }
  return { ready, results, errors }
})
