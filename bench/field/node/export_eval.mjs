// bench/field/node/export_eval.mjs FLAG.json < rows
//
// What a team does without flag_eval to answer "how many persons are in this rollout, and in
// which variant": export the persons and evaluate the flag with posthog-node's local evaluation.
// Reads `COPY (SELECT distinct_id, properties FROM persons) TO STDOUT` (text format) on stdin,
// evaluates FLAG.json (a PostHog flag object) for every row through posthog-node's public API,
// and prints key=value lines on stdout:
//
//   rows=N  evaluate_ms=T (the getFeatureFlag calls alone)  read_ms=T (from start to the last row)
//   on=N off=N inconclusive=N  variant.<key>=N ...
//
// The definitions come from an in-process `fetch` (posthog-node's `fetch` option) that answers
// the local-evaluation request with this one flag: no network, no server. An inconclusive answer
// (posthog-node returns undefined, e.g. a filter on a property the person lacks) counts as off,
// as `if (await getFeatureFlag(...))` would, and is also counted on its own.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PostHog } from 'posthog-node';

function fail(message) {
    console.error(`export_eval: ${message}`);
    process.exit(2);
}

// COPY's text format escapes backslash, tab, newline and other control characters; undo that.
const COPY_ESCAPES = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
function unescapeCopy(field) {
    if (!field.includes('\\')) return field;
    return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e) => {
        if (e in COPY_ESCAPES) return COPY_ESCAPES[e];
        if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
        if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
        return e; // "\\" and any other escaped character stand for themselves
    });
}

const flagPath = process.argv[2];
if (!flagPath || process.argv.length !== 3) fail('usage: export_eval.mjs FLAG.json < copy-text-rows');
let flag;
try {
    flag = JSON.parse(readFileSync(flagPath, 'utf8'));
} catch (e) {
    fail(`cannot read the flag ${flagPath}: ${e.message}`);
}
if (typeof flag?.key !== 'string') fail(`${flagPath}: the flag has no "key"`);
const feed = { flags: [{ id: 1, ...flag }], group_type_mapping: {}, cohorts: {} };

// posthog-node asks `${host}/flags/definitions?...` for the definitions; answer it in process.
async function localFeed(url) {
    if (!url.includes('/flags/definitions')) fail(`unexpected request from posthog-node: ${url}`);
    const body = JSON.stringify(feed);
    return {
        status: 200,
        headers: new Headers({ 'Content-Type': 'application/json' }),
        json: async () => JSON.parse(body),
        text: async () => body,
    };
}

const client = new PostHog('phc_export_eval', {
    host: 'http://127.0.0.1:9', // never contacted: `fetch` answers, and nothing is captured
    personalApiKey: 'phs_export_eval',
    fetch: localFeed,
    featureFlagsPollingInterval: null,
    flushAt: 1000000,
    disableGeoip: true,
});
await client.waitForLocalEvaluationReady?.();

const counts = { on: 0, off: 0, inconclusive: 0 };
const variants = new Map();
let rows = 0;
let evaluateNs = 0n;
const started = process.hrtime.bigint();

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of input) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    if (tab < 0) fail(`row ${rows + 1}: expected "distinct_id<TAB>properties"`);
    const distinctId = unescapeCopy(line.slice(0, tab));
    let personProperties;
    try {
        personProperties = JSON.parse(unescapeCopy(line.slice(tab + 1)));
    } catch (e) {
        fail(`row ${rows + 1}: properties are not JSON: ${e.message}`);
    }
    const t0 = process.hrtime.bigint();
    const value = await client.getFeatureFlag(flag.key, distinctId, {
        personProperties,
        onlyEvaluateLocally: true,
        sendFeatureFlagEvents: false,
    });
    evaluateNs += process.hrtime.bigint() - t0;
    rows++;
    if (value === undefined) {
        counts.inconclusive++;
        counts.off++;
    } else if (value === false) {
        counts.off++;
    } else {
        counts.on++;
        if (typeof value === 'string') variants.set(value, (variants.get(value) ?? 0) + 1);
    }
}
const readNs = process.hrtime.bigint() - started;
await client.shutdown();

const out = [
    `rows=${rows}`,
    `evaluate_ms=${(Number(evaluateNs) / 1e6).toFixed(1)}`,
    `read_ms=${(Number(readNs) / 1e6).toFixed(1)}`,
    `on=${counts.on}`,
    `off=${counts.off}`,
    `inconclusive=${counts.inconclusive}`,
    ...[...variants.keys()].sort().map((k) => `variant.${k}=${variants.get(k)}`),
];
console.log(out.join('\n'));
