/**
 * The LLM calls Ask has in flight, so that a burst of the same question
 * costs one call.
 *
 * Identical Asks (same scope key, same normalised prompt, same no_store) are
 * coalesced by key through SingleFlight. On top of that, each call whose
 * leader looked the prompt up keeps the prompt's embedding here, per scope,
 * so that a near-duplicate arriving while it is in flight can wait for it
 * too: the newcomer already has its own embedding from its lookup, and a
 * dot product per in-flight call of its scope is far cheaper than an LLM
 * call. Only calls of the same scope are compared, so this is as safe as a
 * semantic cache hit.
 */
import { meetsThreshold } from "../store/similarity.js";
import { SingleFlight, type SingleFlightResult } from "./single-flight.js";

/** What is known about the prompt a call in flight answers. */
export interface FlightPrompt {
  readonly scopeKey: string;
  /** The normalised prompt. */
  readonly normalized: string;
  /** The prompt as its leader sent it (reported to near-duplicates as matched_prompt). */
  readonly prompt: string;
  /** Its embedding; undefined when its leader did not look up (no_cache, or the cache failing). */
  readonly vector: Float32Array | undefined;
  readonly noStore: boolean;
}

/** A call in flight that a near-duplicate may wait for. */
export interface NearFlight {
  readonly key: string;
  readonly similarity: number;
  /** The in-flight call's prompt, as its leader sent it. */
  readonly prompt: string;
}

/** A participation in a call: whether this caller runs it, and the shared result. */
export interface Participation<T> {
  readonly leader: boolean;
  readonly result: Promise<SingleFlightResult<T>>;
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** See the module comment. */
export class InFlightAsks<T> {
  private readonly flights = new SingleFlight<string, T>();
  // scope key → flight key → prompt; only leaders that have an embedding are listed.
  private readonly byScope = new Map<string, Map<string, FlightPrompt>>();

  /**
   * Joins the call in flight under `key`, or returns undefined when there is
   * none. `signal` ends this caller's wait only (see SingleFlight).
   */
  join(key: string, signal?: AbortSignal): Participation<T> | undefined {
    // has() and run() in one synchronous block: the call cannot end in between,
    // so the placeholder below is never run.
    if (!this.flights.has(key)) return undefined;
    const result = this.flights.run(key, () => Promise.reject(new Error("in-flight call vanished")), signal === undefined ? {} : { signal });
    return { leader: false, result };
  }

  /**
   * Runs `fn` as the call for `key`, or joins the call already in flight.
   * While `fn` runs, `prompt` is offered to near-duplicates (when it has an
   * embedding).
   */
  run(key: string, prompt: FlightPrompt, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Participation<T> {
    const leader = !this.flights.has(key);
    const result = this.flights.run(key, (flightSignal) => this.tracked(key, prompt, () => fn(flightSignal)), signal === undefined ? {} : { signal });
    return { leader, result };
  }

  /**
   * The call in flight in the same scope whose prompt's embedding is most
   * similar to `query.vector`, when at least `threshold`; `accept` may still
   * veto it (the cache's hard-negative guard, given both normalised prompts).
   */
  findNear(
    scopeKey: string,
    query: { readonly vector: Float32Array; readonly normalized: string },
    threshold: number,
    noStore: boolean,
    accept?: (normalizedQuery: string, normalizedInFlight: string) => boolean,
  ): NearFlight | undefined {
    const { vector } = query;
    const candidates = this.byScope.get(scopeKey);
    if (candidates === undefined) return undefined;
    let best: NearFlight | undefined;
    for (const [key, candidate] of candidates) {
      if (candidate.vector === undefined || candidate.noStore !== noStore || !this.flights.has(key)) continue;
      if (candidate.vector.length !== vector.length) continue;
      const similarity = dot(vector, candidate.vector);
      if (!meetsThreshold(similarity, threshold) || (best !== undefined && similarity <= best.similarity)) continue;
      if (accept !== undefined && !accept(query.normalized, candidate.normalized)) continue;
      best = { key, similarity: Math.min(1, similarity), prompt: candidate.prompt };
    }
    return best;
  }

  /** Calls in flight (for tests and metrics). */
  get size(): number {
    return this.flights.size;
  }

  private async tracked(key: string, prompt: FlightPrompt, fn: () => Promise<T>): Promise<T> {
    if (prompt.vector === undefined) return fn();
    let scope = this.byScope.get(prompt.scopeKey);
    if (scope === undefined) {
      scope = new Map();
      this.byScope.set(prompt.scopeKey, scope);
    }
    scope.set(key, prompt);
    try {
      return await fn();
    } finally {
      // An abandoned call's key may already belong to a newer call: only remove our own entry.
      const current = this.byScope.get(prompt.scopeKey);
      if (current?.get(key) === prompt) {
        current.delete(key);
        if (current.size === 0) this.byScope.delete(prompt.scopeKey);
      }
    }
  }
}
