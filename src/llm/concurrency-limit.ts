import { SemcacheError } from "../errors/index.js";
import { FairQueue } from "../tenancy/fair-queue.js";
import { NO_TENANT } from "../tenancy/tenant.js";
import type { LlmClient, LlmCompletion, LlmRequest, LlmStreamEvent } from "./types.js";

/** How many upstream calls may run, and how many may wait for a slot. */
export interface ConcurrencyLimits {
  /** Calls in flight at once; at least 1. */
  readonly maxInFlight: number;
  /** Calls waiting for a slot, all tenants together; beyond it a call fails at once with RESOURCE_EXHAUSTED. */
  readonly maxQueued: number;
  /** Calls one tenant may have waiting; default (and at most) `maxQueued`. */
  readonly maxQueuedPerTenant?: number;
}

/** Counts of an LLM slot pool, for metrics and tests. */
export interface SlotCounts {
  readonly inFlight: number;
  readonly queued: number;
}

interface Waiter {
  readonly grant: () => void;
  readonly fail: (error: unknown) => void;
}

/**
 * A fixed number of slots with a bounded queue that is fair between tenants:
 * a freed slot goes to the tenants with waiting calls in turn (round robin),
 * first-come, first-served within each. A tenant may hold at most
 * `maxQueuedPerTenant` waiting calls; and when the whole queue is full, a
 * call of a tenant holding fewer than the busiest one takes the place of
 * that tenant's newest waiting call, which fails with RESOURCE_EXHAUSTED. So
 * however hard some tenants push, another one's calls are queued, not
 * refused. A waiter whose signal aborts leaves the queue at once, so a
 * caller that gave up never takes a slot from one still waiting.
 */
export class SlotPool {
  private running = 0;
  private readonly waiting = new FairQueue<Waiter>();
  private readonly perTenant: number;

  constructor(private readonly limits: ConcurrencyLimits) {
    if (!Number.isSafeInteger(limits.maxInFlight) || limits.maxInFlight < 1) throw new RangeError("maxInFlight must be a whole number >= 1");
    if (!Number.isSafeInteger(limits.maxQueued) || limits.maxQueued < 0) throw new RangeError("maxQueued must be a whole number >= 0");
    const perTenant = limits.maxQueuedPerTenant ?? limits.maxQueued;
    if (!Number.isSafeInteger(perTenant) || perTenant < 0) throw new RangeError("maxQueuedPerTenant must be a whole number >= 0");
    this.perTenant = Math.min(perTenant, limits.maxQueued);
  }

  /** Calls running and waiting now. */
  counts(): SlotCounts {
    return { inFlight: this.running, queued: this.waiting.size };
  }

  /** Calls `tenant` has waiting now. */
  queuedFor(tenant: string): number {
    return this.waiting.sizeOf(tenant);
  }

  /**
   * Resolves with a release function once a slot is free; RESOURCE_EXHAUSTED
   * when `tenant` already has its share of the queue waiting, or the queue is
   * full of calls of tenants holding no more than `tenant` does.
   */
  acquire(signal?: AbortSignal, tenant: string = NO_TENANT): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.running < this.limits.maxInFlight) {
      this.running += 1;
      return Promise.resolve(this.releaser());
    }
    const mine = this.waiting.sizeOf(tenant);
    const queueFull = (): SemcacheError =>
      new SemcacheError(
        "resource_exhausted",
        `too many LLM calls: ${this.running} in flight and ${this.waiting.size} queued (SEMCACHE_LLM_MAX_CONCURRENCY, SEMCACHE_LLM_MAX_QUEUE); retry later`,
      );
    if (mine >= this.perTenant) {
      // A share as big as the queue is no share: then the queue is what is full.
      if (this.perTenant >= this.limits.maxQueued) return Promise.reject(queueFull());
      return Promise.reject(
        new SemcacheError(
          "resource_exhausted",
          `too many LLM calls: ${mine} of this caller's are already queued, its share (SEMCACHE_LLM_MAX_QUEUE_PER_TENANT=${this.perTenant}); retry later`,
        ),
      );
    }
    if (this.waiting.size >= this.limits.maxQueued && !this.displaceForFairness(mine)) return Promise.reject(queueFull());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiting.remove(tenant, waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.releaser());
        },
        fail: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(tenant, waiter);
    });
  }

  /** Makes room in a full queue for a tenant holding `mine` waiting calls, at the busiest tenant's expense; false when none holds more. */
  private displaceForFairness(mine: number): boolean {
    const busiest = this.waiting.largest();
    // Taking the place of a tenant with only one more would just swap who is short.
    if (busiest === undefined || busiest.queued <= mine + 1) return false;
    this.waiting
      .popNewest(busiest.tenant)
      ?.fail(
        new SemcacheError(
          "resource_exhausted",
          "too many LLM calls: the queue is full (SEMCACHE_LLM_MAX_QUEUE) and this call gave its place to a caller with fewer calls queued; retry later",
        ),
      );
    return true;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter: `running` stays as it is.
      if (next !== undefined) next.grant();
      else this.running -= 1;
    };
  }
}

/**
 * Wraps an LlmClient so that at most `maxInFlight` upstream calls run at
 * once, shared fairly between the tenants making them (`request.tenant`,
 * see tenancy/tenant.ts); a stream holds its slot until it ends or its
 * consumer stops. Coalesced callers
 * (single-flight) share their leader's slot, so this bounds distinct
 * upstream requests, which is what the upstream's own limits count.
 */
export function limitConcurrency(client: LlmClient, pool: SlotPool): LlmClient {
  return {
    async complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmCompletion> {
      const release = await pool.acquire(signal, request.tenant);
      try {
        return await client.complete(request, signal);
      } finally {
        release();
      }
    },
    async *stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmStreamEvent> {
      const release = await pool.acquire(signal, request.tenant);
      try {
        yield* client.stream(request, signal);
      } finally {
        release();
      }
    },
  };
}
