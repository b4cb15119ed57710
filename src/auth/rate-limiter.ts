import type { RateLimit } from "./principal.js";

/** The outcome of asking for one request's token. */
export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/** What the access checks take a request's token from: this per-process limiter, or a fleet's (src/fleet). */
export interface RequestLimiter {
  /** Takes a token from `keyId`'s bucket under `limit`, or says how long until one is there. Never waits. */
  take(keyId: string, limit: RateLimit): RateDecision;
  /** Forgets the buckets of keys no longer in force. */
  retain(keyIds: ReadonlySet<string>): void;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
  limit: RateLimit;
}

/**
 * One token bucket per key id: `burst` tokens, refilled at
 * `requestsPerSecond`; each request takes one. Buckets are kept by id, so a
 * key file reload neither resets nor doubles anyone's budget.
 */
export class RateLimiter implements RequestLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes a token from `keyId`'s bucket under `limit`, or says how long until one is there. */
  take(keyId: string, limit: RateLimit): RateDecision {
    if (limit.requestsPerSecond <= 0) return { allowed: true };
    const now = this.now();
    let bucket = this.buckets.get(keyId);
    if (bucket === undefined) {
      bucket = { tokens: limit.burst, updatedMs: now, limit };
      this.buckets.set(keyId, bucket);
    }
    bucket.limit = limit;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * limit.requestsPerSecond);
    bucket.updatedMs = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / limit.requestsPerSecond) * 1000) };
  }

  /** Forgets the buckets of keys no longer in force. */
  retain(keyIds: ReadonlySet<string>): void {
    for (const id of this.buckets.keys()) if (!keyIds.has(id)) this.buckets.delete(id);
  }
}
