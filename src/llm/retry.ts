/**
 * Retry timing: backoff with jitter, and upstream's own retry-after hints.
 * Pure functions, so the policy is testable without a server.
 */

/** Backoff before jitter when the client config does not say. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 250;
/** Cap of the backoff before jitter when the client config does not say. */
export const DEFAULT_RETRY_MAX_DELAY_MS = 8_000;

/**
 * The wait before retry number `retry` (0 for the first retry): exponential,
 * capped, then "equal jitter" (a random point in the upper half) so that
 * many semcache instances hit by the same outage do not retry in lockstep,
 * while each still waits at least half the nominal delay.
 */
export function backoffMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** retry);
  return nominal / 2 + random() * (nominal / 2);
}

/**
 * How long upstream asked to wait, from `retry-after-ms` (OpenAI's, in
 * milliseconds) or `retry-after` (seconds, or an HTTP date). Undefined when
 * neither is present and valid.
 */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (headers === undefined) return undefined;
  const millis = headers.get("retry-after-ms");
  if (millis !== null && millis.trim() !== "") {
    const value = Number(millis);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers.get("retry-after")?.trim();
  if (after === undefined || after === "") return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
