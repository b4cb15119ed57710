import { Code, ConnectError } from "@connectrpc/connect";
import type { LlmClient, LlmCompletion, LlmRequest, LlmStreamEvent } from "./types.js";

/** How many upstream calls may run, and how many may wait for a slot. */
export interface ConcurrencyLimits {
  /** Calls in flight at once; at least 1. */
  readonly maxInFlight: number;
  /** Calls waiting for a slot; beyond it a call fails at once with RESOURCE_EXHAUSTED. */
  readonly maxQueued: number;
}

/** Counts of an LLM slot pool, for metrics and tests. */
export interface SlotCounts {
  readonly inFlight: number;
  readonly queued: number;
}

/**
 * A fixed number of slots with a bounded FIFO queue. A waiter whose signal
 * aborts leaves the queue at once, so a caller that gave up never takes a
 * slot from one still waiting.
 */
export class SlotPool {
  private running = 0;
  private readonly waiting: { grant: () => void; fail: (error: unknown) => void }[] = [];

  constructor(private readonly limits: ConcurrencyLimits) {
    if (!Number.isSafeInteger(limits.maxInFlight) || limits.maxInFlight < 1) throw new RangeError("maxInFlight must be a whole number >= 1");
    if (!Number.isSafeInteger(limits.maxQueued) || limits.maxQueued < 0) throw new RangeError("maxQueued must be a whole number >= 0");
  }

  /** Calls running and waiting now. */
  counts(): SlotCounts {
    return { inFlight: this.running, queued: this.waiting.length };
  }

  /** Resolves with a release function once a slot is free; RESOURCE_EXHAUSTED when the queue is full. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.running < this.limits.maxInFlight) {
      this.running += 1;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.limits.maxQueued) {
      return Promise.reject(
        new ConnectError(
          `too many LLM calls: ${this.running} in flight and ${this.waiting.length} queued (SEMCACHE_LLM_MAX_CONCURRENCY, SEMCACHE_LLM_MAX_QUEUE); retry later`,
          Code.ResourceExhausted,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.releaser());
        },
        fail: reject,
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
    });
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
 * once; a stream holds its slot until it ends or its consumer stops.
 * Coalesced callers (single-flight) share their leader's slot, so this bounds
 * distinct upstream requests, which is what the upstream's own limits count.
 */
export function limitConcurrency(client: LlmClient, pool: SlotPool): LlmClient {
  return {
    async complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmCompletion> {
      const release = await pool.acquire(signal);
      try {
        return await client.complete(request, signal);
      } finally {
        release();
      }
    },
    async *stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmStreamEvent> {
      const release = await pool.acquire(signal);
      try {
        yield* client.stream(request, signal);
      } finally {
        release();
      }
    },
  };
}
