// posthog-node's local evaluation hashes with the Web Crypto API (globalThis.crypto.subtle).
// Node 20 and later expose it; Node 18, Debian 12's, keeps it behind --experimental-global-webcrypto
// but ships the same implementation as node:crypto's webcrypto, which this lends to the global.
// Imported first by common.mjs, so it is in place before any SDK code runs.
import { webcrypto } from 'node:crypto'

if (!globalThis.crypto?.subtle) {
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true, writable: true })
}
