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
import { InvalidInputError, NotReadyError } from "../cache/errors.js";
import type { SemanticCache } from "../cache/semantic-cache.js";
import { EmbedderClosedError } from "../embedder/errors.js";
import { SemcacheError } from "../errors/index.js";
import type { Logger } from "../observability/logger.js";

/** The cache operations Ask performs. */
export type CacheOperation = "lookup" | "store";

/** The outcome of a cache operation run under the fail-open policy. */
export type CacheAttempt<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Whether an error is the cache failing, as opposed to the request being wrong or the server not ready yet. */
export function isCacheFailure(error: unknown): boolean {
  return !(error instanceof InvalidInputError || error instanceof NotReadyError);
}

/**
 * The error a fail-closed Ask reports for a cache failure: the failure
 * itself (a store outage is UNAVAILABLE as it is), except that a closed
 * embedder says it is the cache that is unavailable. Shutting down closes
 * the embedder under in-flight calls: retryable, like a store outage.
 */
export function cacheFailureError(error: unknown): unknown {
  if (error instanceof EmbedderClosedError) return new SemcacheError("unavailable", `cache unavailable: ${error.message}`, { cause: error });
  return error;
}

/** Applies the fail-open setting to cache operations; see the module comment. */
export class FailOpenPolicy {
  constructor(
    /** True: answer without the cache; false: fail the Ask with the cache's error. */
    readonly failOpen: boolean,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs a cache operation. A cache failure is counted under `namespace`
   * (cacheErrors), then either reported as `{ ok: false }` (fail-open) or
   * thrown (fail-closed; see {@link cacheFailureError}). Anything else
   * propagates unchanged.
   */
  async attempt<T>(cache: Pick<SemanticCache, "count">, namespace: string, operation: CacheOperation, work: () => Promise<T>): Promise<CacheAttempt<T>> {
    try {
      return { ok: true, value: await work() };
    } catch (error) {
      if (!isCacheFailure(error)) throw error;
      cache.count(namespace, "cacheErrors");
      this.logger.warn(
        { err: error, namespace, operation, failOpen: this.failOpen },
        this.failOpen ? `cache ${operation} failed; answering without the cache` : `cache ${operation} failed; failing the Ask`,
      );
      if (!this.failOpen) throw cacheFailureError(error);
      return { ok: false, error };
    }
  }
}
