/**
 * The one expiry rule of every store: an entry is served until the
 * millisecond it expires, and an expiry of 0 means never. (The Redis store's
 * Lua scripts apply the same rule on the server: see scripts.ts.)
 */

/** Whether an entry with this expiry may still be served at `nowMs`. */
export function isLive(expiresAtMs: number, nowMs: number): boolean {
  return expiresAtMs === 0 || expiresAtMs > nowMs;
}
