// Timing of one evaluator in node: ns per evaluation over a batch of evaluations, persons in
// rotation, every result folded into a checksum so no evaluation can be dropped as dead code.

const ROTATION = 1024; // persons per rotation (a power of two: the rotation is a mask)

// batch(n) -> Promise<{ns, checksum}>: n evaluations of `evaluateOne(i)`, n a multiple of ROTATION.
//  - 'sync': evaluateOne returns the value;
//  - 'sequential': it returns a promise, awaited before the next evaluation starts (a request
//    handler that needs the answer before it can go on);
//  - 'concurrent': a whole rotation of promises in flight at once, then awaited together
//    (throughput: what an evaluation costs when the waits overlap).
export function batchRunner(evaluateOne, mode) {
  const run = {
    sync: async (n) => {
      let checksum = 0;
      for (let i = 0; i < n; i++) checksum += fold(evaluateOne(i & (ROTATION - 1)));
      return checksum;
    },
    sequential: async (n) => {
      let checksum = 0;
      for (let i = 0; i < n; i++) checksum += fold(await evaluateOne(i & (ROTATION - 1)));
      return checksum;
    },
    concurrent: async (n) => {
      let checksum = 0;
      const pending = new Array(ROTATION);
      for (let done = 0; done < n; done += ROTATION) {
        for (let i = 0; i < ROTATION; i++) pending[i] = evaluateOne(i);
        for (const value of await Promise.all(pending)) checksum += fold(value);
      }
      return checksum;
    },
  }[mode];
  if (!run) throw new Error(`unknown mode ${mode}`);
  return async (n) => {
    const start = process.hrtime.bigint();
    const checksum = await run(n);
    return { ns: Number(process.hrtime.bigint() - start), checksum };
  };
}

// false -> 0, true -> 1, a variant -> its length (cheap, and depends on the value).
function fold(value) {
  return value === true ? 1 : typeof value === 'string' ? value.length : 0;
}

// Runs whole rotations until `seconds` have passed (the warm-up, which also lets the JIT settle),
// and returns the number of evaluations that take about `targetSeconds`, in whole rotations.
export async function calibrate(batch, seconds, targetSeconds) {
  let n = 0, ns = 0;
  while (ns < seconds * 1e9) {
    const r = await batch(ROTATION);
    n += ROTATION;
    ns += r.ns;
  }
  const perEval = ns / n;
  return Math.max(ROTATION, Math.round((targetSeconds * 1e9) / perEval / ROTATION) * ROTATION);
}

export function summarize(nsPerEval) {
  const sorted = [...nsPerEval].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const sd = Math.sqrt(sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, sorted.length - 1));
  return { median_ns: median, min_ns: sorted[0], max_ns: sorted[sorted.length - 1], cv: sd / mean, runs_ns: nsPerEval };
}
