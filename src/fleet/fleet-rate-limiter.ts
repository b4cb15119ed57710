/**
 * Rate limits per API key for the whole fleet: one token bucket per key in
 * Redis, with the settings of the per-replica limiter (src/auth/rate-limiter.ts:
 * `burst` tokens, refilled at `requestsPerSecond`, one per request).
 *
 * A request is never kept waiting for Redis: the edge decides from the
 * headers, synchronously, before the body is read. So each replica decides
 * on its own copy of the key's bucket, and reconciles it with the fleet's:
 * what it admitted is taken from the bucket in Redis by one script (Redis's
 * clock, so the replicas' clocks do not matter), whose answer (the tokens
 * the fleet has left) replaces the local copy, less what was admitted since.
 * At most one script per key is in flight per replica; admissions meanwhile
 * are sent together with the next. The fleet bucket may go into debt (down
 * to -burst) by what replicas admitted before they heard it was empty, and
 * that debt is paid back before anyone is admitted again, so over a second
 * the fleet admits what one replica would; the overshoot is bounded by what
 * the replicas admit within one round trip to Redis.
 *
 * Redis away or slow: the local copy keeps refilling and deciding on its
 * own, which is exactly the per-replica limiter; reconciliation resumes when
 * Redis answers again.
 */
import type { RateDecision, RequestLimiter } from "../auth/rate-limiter.js";
import type { RateLimit } from "../auth/principal.js";
import type { FleetLink } from "./fleet-link.js";
import { luaScript } from "./lua.js";

/**
 * KEYS[1]: the key's bucket (a hash: tokens, ts in ms of Redis's clock).
 * ARGV: requests per second, burst, tokens to take. Returns the tokens left
 * (as a string: Lua numbers would be truncated to integers), at least -burst.
 * The bucket expires once it would be full again, so idle keys cost nothing.
 */
const TAKE = luaScript(
  "fleet-rate-take",
  `local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local take = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(v[1]) or burst
local ts = tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
tokens = math.max(-burst, tokens - take)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return tostring(tokens)`,
);

/** After a failed reconciliation, how long a key decides alone before trying again. */
const RETRY_AFTER_FAILURE_MS = 1000;

interface Bucket {
  tokens: number;
  updatedMs: number;
  limit: RateLimit;
  /** Admitted here and not yet sent to Redis. */
  unsent: number;
  /** Sent in the script in flight, whose answer will not include later admissions. */
  inFlight: boolean;
  /** No reconciliation before this time (after a failure). */
  quietUntilMs: number;
}

/** See the module comment. */
export class FleetRateLimiter implements RequestLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly link: FleetLink,
    private readonly now: () => number = () => performance.now(),
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  take(keyId: string, limit: RateLimit): RateDecision {
    if (limit.requestsPerSecond <= 0) return { allowed: true };
    const now = this.now();
    let bucket = this.buckets.get(keyId);
    if (bucket === undefined) {
      bucket = { tokens: limit.burst, updatedMs: now, limit, unsent: 0, inFlight: false, quietUntilMs: 0 };
      this.buckets.set(keyId, bucket);
    }
    bucket.limit = limit;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * limit.requestsPerSecond);
    bucket.updatedMs = now;
    if (bucket.tokens < 1) return { allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / limit.requestsPerSecond) * 1000) };
    bucket.tokens -= 1;
    bucket.unsent += 1;
    this.reconcile(keyId, bucket);
    return { allowed: true };
  }

  retain(keyIds: ReadonlySet<string>): void {
    for (const id of this.buckets.keys()) if (!keyIds.has(id)) this.buckets.delete(id);
  }

  /** Sends what `bucket` admitted to the fleet's bucket, and takes the fleet's answer as the local copy. */
  private reconcile(keyId: string, bucket: Bucket): void {
    const connection = this.link.connection;
    if (bucket.inFlight || bucket.unsent === 0 || connection === undefined || !connection.isReady || this.now() < bucket.quietUntilMs) return;
    const sent = bucket.unsent;
    bucket.unsent = 0;
    bucket.inFlight = true;
    const { requestsPerSecond, burst } = bucket.limit;
    connection.script<string>(TAKE, [this.link.key("rate", keyId)], [String(requestsPerSecond), String(burst), String(sent)]).then(
      (reply) => {
        const fleetTokens = Number(reply);
        if (Number.isFinite(fleetTokens)) {
          // Admissions since the script was sent are not in its answer: taken off again.
          bucket.tokens = Math.min(bucket.limit.burst, fleetTokens - bucket.unsent);
          bucket.updatedMs = this.now();
        }
        bucket.inFlight = false;
        if (this.buckets.get(keyId) === bucket) this.reconcile(keyId, bucket);
      },
      (error: unknown) => {
        // What was admitted during the outage is not charged to the fleet later: the replica was the limit then.
        bucket.inFlight = false;
        bucket.quietUntilMs = this.now() + RETRY_AFTER_FAILURE_MS;
        this.onError(error);
      },
    );
  }
}
