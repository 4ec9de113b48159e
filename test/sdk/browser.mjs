// posthog-js in Debian's headless Chromium (puppeteer-core), on the page of examples/web (another
// origin than flag-decide), for test/t/017_posthog_js_browser.pl. One browser per subject, with
// the subject's profile directory, so that a later run finds what posthog-js stored (a returning
// visitor).
//
//   FLAG_DECIDE_HOST      flag-decide, as the page reaches it
//   FLAG_DECIDE_SUBJECTS  JSON array of {profile: the browser profile's name, distinct_id (signed
//                         in; without it an anonymous visitor), keys: [flag keys to read],
//                         identify_as (optional): sign in as this id afterwards}
//   BROWSER_PAGE          the example app's URL
//   BROWSER_PROFILES      a directory for the browsers' profiles, one per subject
//   CHROMIUM              the browser binary (default Debian's /usr/lib/chromium/chromium)
//
// Prints [{subject, at_load: {flags_requests, values, payloads}, served: {values, payloads,
// errors_loading, answer}, distinct_id, device_id, lib_version, identified: {...}}], values and
// payloads by key (null for undefined); `answer` is what flag-decide's last flags response said
// ({status, errors_while_computing_flags, failed: the number of failed flags}).
import path from 'node:path'
import puppeteer from 'puppeteer-core'
import { print, setting, subjects } from './common.mjs'

const CHROMIUM = process.env.CHROMIUM || '/usr/lib/chromium/chromium'
const WAIT_MS = 15000

// What posthog-js answers for these keys now (no $feature_flag_called: capturing is off anyway).
function readFlags(keys) {
  const values = {}
  const payloads = {}
  for (const key of keys) {
    values[key] = posthog.getFeatureFlag(key, { send_event: false }) ?? null
    payloads[key] = posthog.getFeatureFlagPayload(key) ?? null
  }
  return { values, payloads }
}

// Asks flag-decide again and resolves with the callback's {errorsLoading} once it answers.
function reloadAndWait() {
  return new Promise((resolve) => {
    let armed = false
    posthog.onFeatureFlags((flags, variants, context) => {
      if (armed && context) resolve({ errors_loading: context.errorsLoading })
    })
    armed = true  // a callback registered after flags loaded runs at once, without context
    posthog.reloadFeatureFlags()
  })
}

function identifyAndWait(id) {
  return new Promise((resolve) => {
    const before = posthog.get_distinct_id()
    posthog.onFeatureFlags((flags, variants, context) => {
      if (context && posthog.get_distinct_id() === id) resolve({ anon_distinct_id: before })
    })
    posthog.identify(id)
  })
}

async function visit(browser, subject, page_url, flags_host) {
  const page = await browser.newPage()
  const flagsRequests = []
  const flagsAnswers = []  // promises of what each flags response said
  page.on('request', (request) => {
    if (request.url().startsWith(`${flags_host}/flags`)) flagsRequests.push(request.method())
  })
  page.on('response', (response) => {
    if (!response.url().startsWith(`${flags_host}/flags`) || response.request().method() !== 'POST')
      return
    flagsAnswers.push(response.json().then(
      (body) => ({
        status: response.status(),
        errors_while_computing_flags: body.errorsWhileComputingFlags,
        failed: Object.values(body.flags ?? {}).filter((flag) => flag.failed).length,
      }),
      () => ({ status: response.status() })))
  })
  const url = new URL(page_url)
  if (subject.distinct_id) url.searchParams.set('user', subject.distinct_id)
  await page.goto(url.href, { waitUntil: 'load', timeout: WAIT_MS })
  // Bootstrapped: the values are there at load, before posthog-js asked flag-decide anything.
  const at_load = { flags_requests: flagsRequests.length, ...(await page.evaluate(readFlags, subject.keys)) }
  const served = await page.evaluate(reloadAndWait)
  Object.assign(served, await page.evaluate(readFlags, subject.keys))
  served.answer = (await Promise.all(flagsAnswers)).at(-1) ?? null
  const out = {
    subject,
    at_load,
    served,
    bootstrap: await page.evaluate(() => window.flagEvalExample.bootstrap),
    distinct_id: await page.evaluate(() => posthog.get_distinct_id()),
    device_id: await page.evaluate(() => posthog.get_property('$device_id')),
    lib_version: await page.evaluate(() => posthog.version),
  }
  if (subject.identify_as) {
    out.identified = await page.evaluate(identifyAndWait, subject.identify_as)
    Object.assign(out.identified, await page.evaluate(readFlags, subject.keys))
  }
  await page.close()
  return out
}

async function main() {
  const pageUrl = setting('BROWSER_PAGE')
  const flagsHost = setting('FLAG_DECIDE_HOST')
  const profiles = setting('BROWSER_PROFILES')
  const out = []
  for (const subject of subjects()) {
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: path.join(profiles, subject.profile),
      // no sandbox: the tests run in containers; no network beyond the two local servers
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
        '--disable-background-networking', '--disable-extensions'],
      protocolTimeout: WAIT_MS,
    })
    try {
      out.push(await visit(browser, subject, pageUrl, flagsHost))
    } finally {
      await browser.close()
    }
  }
  return out
}

try {
  print(await main())
} catch (error) {
  print({ error: String(error?.stack ?? error) })
  process.exitCode = 1
}
