import { SemcacheError } from "../errors/index.js";

/**
 * Checks an error budget (`max_error_rate`, `SEMCACHE_MAX_ERROR_RATE`): a
 * share of requests, strictly between 0 and 1, and returns it rounded to six
 * significant digits, so a float32 0.02 from the wire and a configured 0.02
 * are one budget (they share a ledger account).
 *
 * @throws SemcacheError `invalid_argument` naming `field`.
 */
export function checkErrorBudget(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new SemcacheError("invalid_argument", `${field}: must be a number strictly between 0 and 1, such as 0.02 (got ${value})`, { field });
  }
  return Number(value.toPrecision(6));
}
