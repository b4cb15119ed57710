/**
 * What Ask does when the cache itself fails (the store is down, the disk is
 * full, the embedder is gone): by default it fails open, answering from the
 * LLM as if there were no cache, because a cache outage must not become an
 * LLM outage for the callers. SEMCACHE_FAIL_OPEN=false fails closed instead,
 * for deployments where an uncached call is worse than an error (cost caps).
 *
 * Either way the failure is counted (Stats.cache_errors) and logged. The
 * caller's own mistakes are never cache failures: InvalidInputError always
 * propagates, so an invalid request is INVALID_ARGUMENT in both modes.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidInputError, NotReadyError } from "../cache/errors.js";
import type { Counters } from "../cache/counters.js";
import { EmbedderClosedError } from "../embedder/errors.js";
import { toConnectError } from "../server/api/errors.js";
import type { Logger } from "../server/logger.js";

/** The cache operations Ask performs. */
export type CacheOperation = "lookup" | "store";

/** The outcome of a guarded cache operation. */
export type CacheAttempt<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Whether an error is the cache failing, as opposed to the request being wrong. */
export function isCacheFailure(error: unknown): boolean {
  return !(error instanceof InvalidInputError || error instanceof ConnectError || error instanceof NotReadyError);
}

/** The error a fail-closed Ask reports for a cache failure. */
export function cacheFailureError(error: unknown, log: (error: unknown) => void): ConnectError {
  // Shutting down closes the embedder under in-flight calls: retryable, like a store outage.
  if (error instanceof EmbedderClosedError) return new ConnectError(`cache unavailable: ${error.message}`, Code.Unavailable);
  return toConnectError(error, log);
}

/** Applies the fail-open setting to cache operations; see the module comment. */
export class FailOpenPolicy {
  constructor(
    /** True: answer without the cache; false: fail the Ask with the cache's error. */
    readonly failOpen: boolean,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs a cache operation. A cache failure is counted under `namespace`,
   * then either reported as `{ ok: false }` (fail-open) or thrown as a
   * ConnectError (fail-closed). Anything else propagates unchanged.
   */
  async attempt<T>(counters: Counters, namespace: string, operation: CacheOperation, work: () => Promise<T>): Promise<CacheAttempt<T>> {
    try {
      return { ok: true, value: await work() };
    } catch (error) {
      if (!isCacheFailure(error)) throw error;
      counters.add(namespace, "cacheErrors");
      this.logger.warn(
        { err: error, namespace, operation, failOpen: this.failOpen },
        this.failOpen ? `cache ${operation} failed; answering without the cache` : `cache ${operation} failed; failing the Ask`,
      );
      if (!this.failOpen) throw cacheFailureError(error, (e) => this.logger.error({ err: e }, "unexpected cache error in Ask"));
      return { ok: false, error };
    }
  }
}
