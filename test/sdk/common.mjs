// What the SDK scripts share: their settings from the environment (set by the TAP test), a
// PostHog client that sends no events, and JSON output on stdout.
//
//   FLAG_DECIDE_HOST      the service, e.g. http://127.0.0.1:8123
//   FLAG_DECIDE_TOKEN     the project token (phc_...)
//   FLAG_DECIDE_SECRET    the secret token (phs_...), for local evaluation
//   FLAG_DECIDE_SUBJECTS  JSON array of {distinct_id, person_properties, groups, group_properties, keys}
import './web_crypto.mjs'  // first: Node 18 needs the Web Crypto global before the SDK runs
import { PostHog } from 'posthog-node'

export function setting(name) {
  const value = process.env[name]
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is not set`)
  }
  return value
}

export function subjects() {
  const parsed = JSON.parse(setting('FLAG_DECIDE_SUBJECTS'))
  if (!Array.isArray(parsed)) {
    throw new Error('FLAG_DECIDE_SUBJECTS must be a JSON array')
  }
  return parsed
}

// The SDK's own options for one subject's flag calls.
export function evaluationOptions(subject) {
  return {
    personProperties: subject.person_properties ?? {},
    groups: subject.groups ?? {},
    groupProperties: subject.group_properties ?? {},
  }
}

// A client that captures nothing: no $feature_flag_called events, so nothing is ever queued for
// /batch (which flag-decide does not serve), and no retries that would hide a failing request.
// `errors` collects what the SDK reports through its 'error' event (it swallows them otherwise).
export function makeClient(extraOptions = {}) {
  const errors = []
  const client = new PostHog(setting('FLAG_DECIDE_TOKEN'), {
    host: setting('FLAG_DECIDE_HOST'),
    flushAt: 1000,
    flushInterval: 0,
    sendFeatureFlagEvent: false,
    disableGeoip: true,
    fetchRetryCount: 0,
    featureFlagsRequestMaxRetries: 0,
    featureFlagsRequestTimeoutMs: 5000,
    requestTimeout: 5000,
    ...extraOptions,
  })
  client.on('error', (error) => errors.push(String(error?.message ?? error)))
  return { client, errors }
}

// undefined (the SDK could not decide) is not JSON: each answer is written as {value} or null.
export function wrapped(value) {
  return value === undefined ? null : { value }
}

export function print(document) {
  process.stdout.write(JSON.stringify(document) + '\n')
}

// Runs main(); any failure is printed as {"error": ...} with exit status 1.
export async function run(main) {
  try {
    print(await main())
  } catch (error) {
    print({ error: String(error?.stack ?? error) })
    process.exitCode = 1
  }
}
