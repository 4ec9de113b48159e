// An app server whose pages read feature flags from flag_eval with posthog-js (docs/web.md).
//
// Each page is rendered with posthog-js's `bootstrap`: the flags of the visitor, asked of
// flag-decide by this server before it answers, so the page's first paint already knows them and
// needs no flags request. posthog-js then asks flag-decide itself when the visitor changes
// (identify, reset) or the page calls reloadFeatureFlags().
//
//   FLAG_DECIDE_URL=http://127.0.0.1:8000 POSTHOG_TOKEN=phc_demo node server.mjs
//   open http://127.0.0.1:3000/              an anonymous visitor (a cookie keeps its id)
//   open http://127.0.0.1:3000/?user=user-7  signed in as user-7
//
// Settings (environment): PORT [3000], HOST [127.0.0.1], POSTHOG_TOKEN [phc_demo],
// FLAG_DECIDE_URL [http://127.0.0.1:8000] (how this server reaches flag-decide),
// FLAG_DECIDE_PUBLIC_URL [FLAG_DECIDE_URL] (how browsers reach it), BOOTSTRAP_TIMEOUT_MS [300].
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import { createRequire } from 'node:module'

const PORT = Number(process.env.PORT ?? 3000)
const HOST = process.env.HOST ?? '127.0.0.1'
const TOKEN = process.env.POSTHOG_TOKEN ?? 'phc_demo'
const FLAG_DECIDE_URL = process.env.FLAG_DECIDE_URL ?? 'http://127.0.0.1:8000'
const FLAG_DECIDE_PUBLIC_URL = process.env.FLAG_DECIDE_PUBLIC_URL ?? FLAG_DECIDE_URL
const BOOTSTRAP_TIMEOUT_MS = Number(process.env.BOOTSTRAP_TIMEOUT_MS ?? 300)

// posthog-js as a plain script that defines window.posthog.
const POSTHOG_JS = createRequire(import.meta.url).resolve('posthog-js/dist/array.full.js')

// posthog-js for a flags-only service: no events (flag-decide keeps none), no surveys, no scripts
// loaded from api_host. See docs/web.md to send events to PostHog instead.
const POSTHOG_OPTIONS = {
  api_host: FLAG_DECIDE_PUBLIC_URL,
  opt_out_capturing_by_default: true,
  disable_surveys: true,
  disable_external_dependency_loading: true,
  persistence: 'localStorage',
}

// The visitor's flags from flag-decide, as posthog-js's bootstrap. Only a complete answer is
// bootstrapped: posthog-js takes bootstrapped flags for the whole truth and would hide what it
// stored for a flag missing from them. When some flag failed (a database outage) or flag-decide
// cannot be reached in time, only the identity is bootstrapped: posthog-js then starts from what
// it stored and asks flag-decide itself, keeping its stored value wherever a flag failed.
async function bootstrapFor(distinctId, identified) {
  const bootstrap = { distinctID: distinctId, isIdentifiedID: identified }
  try {
    const response = await fetch(`${FLAG_DECIDE_URL}/flags?v=2`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      // The browser is the runtime: client-only flags are answered, server-only ones not.
      body: JSON.stringify({ token: TOKEN, distinct_id: distinctId, evaluation_runtime: 'client' }),
      signal: AbortSignal.timeout(BOOTSTRAP_TIMEOUT_MS),
    })
    if (!response.ok) return bootstrap
    const { flags, errorsWhileComputingFlags } = await response.json()
    if (errorsWhileComputingFlags) return bootstrap
    const featureFlags = {}
    const featureFlagPayloads = {}
    for (const [key, flag] of Object.entries(flags ?? {})) {
      featureFlags[key] = flag.variant ?? flag.enabled
      const payload = flag.metadata?.payload
      if (flag.enabled && payload != null) featureFlagPayloads[key] = JSON.parse(payload)
    }
    Object.assign(bootstrap, { featureFlags, featureFlagPayloads })  // all of them, or none
  } catch (error) {
    console.error(`bootstrap for ${distinctId}: ${error.message}`)
  }
  return bootstrap
}

function cookies(request) {
  const out = {}
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim())
  }
  return out
}

// JSON inside a <script>: '<' escaped so that no value can close the element.
const scriptJson = (value) => JSON.stringify(value).replace(/</g, '\\u003c')

function page(bootstrap) {
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>flag_eval and posthog-js</title>
<script src="/posthog.js"></script>
<script>
  window.flagEvalExample = { bootstrap: ${scriptJson(bootstrap)} }
  posthog.init(${scriptJson(TOKEN)}, { ...${scriptJson(POSTHOG_OPTIONS)}, bootstrap: window.flagEvalExample.bootstrap })
</script>
</head>
<body>
<h1>Flags for <span id="who"></span></h1>
<ul id="flags"></ul>
<script>
  // Called at once with the bootstrapped flags, then whenever flag-decide answers.
  posthog.onFeatureFlags((flags, variants) => {
    document.getElementById('who').textContent = posthog.get_distinct_id()
    const list = document.getElementById('flags')
    list.replaceChildren()
    for (const key of Object.keys(variants).sort()) {
      const item = document.createElement('li')
      item.textContent = key + ': ' + JSON.stringify(variants[key])
      list.append(item)
    }
  })
</script>
</body>
</html>
`
}

const server = http.createServer(async (request, response) => {
  try {
    const url = new URL(request.url, 'http://localhost')
    if (url.pathname === '/posthog.js') {
      response.writeHead(200, { 'Content-Type': 'application/javascript', 'Cache-Control': 'max-age=3600' })
      response.end(await readFile(POSTHOG_JS))
      return
    }
    if (url.pathname !== '/') {
      response.writeHead(404, { 'Content-Type': 'text/plain' })
      response.end('not found\n')
      return
    }
    // A stand-in for sign-in: ?user=<distinct id> signs in; otherwise an anonymous id in a cookie.
    const jar = cookies(request)
    const user = url.searchParams.get('user') || jar.user
    const distinctId = user || jar.anon || randomUUID()
    const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }
    headers['Set-Cookie'] = user
      ? `user=${encodeURIComponent(user)}; Path=/; HttpOnly; SameSite=Lax`
      : `anon=${encodeURIComponent(distinctId)}; Path=/; HttpOnly; SameSite=Lax`
    const bootstrap = await bootstrapFor(distinctId, Boolean(user))
    response.writeHead(200, headers)
    response.end(page(bootstrap))
  } catch (error) {
    console.error(error)
    response.writeHead(500, { 'Content-Type': 'text/plain' })
    response.end('internal error\n')
  }
})

server.listen(PORT, HOST, () => {
  const { port } = server.address()
  console.log(`example app on http://${HOST}:${port}/ (flags from ${FLAG_DECIDE_URL})`)
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)))
