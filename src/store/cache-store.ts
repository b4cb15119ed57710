/**
 * The storage contract every cache store implements (embedded and Redis).
 *
 * The cache core owns ids, normalisation, thresholds and expiry policy; a
 * store persists entries, answers exact look-ups by id and nearest-neighbour
 * searches restricted to one scope, and never returns an expired entry.
 */
import { SemcacheError } from "../errors/index.js";

/** The scope an entry belongs to, already validated and canonicalised. */
export interface EntryScope {
  /** Tenant / application namespace. */
  readonly namespace: string;
  /** The LLM model name (may be empty). */
  readonly model: string;
  /** The caller's scope params, as given. */
  readonly params: Readonly<Record<string, string>>;
  /** Canonical hash of (namespace, model, params): entries match only within one scope key. */
  readonly scopeKey: string;
}

/** A stored entry as read back from a store. */
export interface StoredEntry {
  /** Deterministic id: a hash of (scope key, normalised prompt). */
  readonly id: string;
  readonly scope: EntryScope;
  /** The prompt as the caller sent it. */
  readonly prompt: string;
  readonly response: string;
  /** Milliseconds since the epoch. */
  readonly createdAtMs: number;
  /** Milliseconds since the epoch; 0 when the entry never expires. */
  readonly expiresAtMs: number;
  /** Lookups answered by this entry. */
  readonly hits: number;
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * What was learned about this entry's answer, oldest first, at most
   * {@link MAX_OBSERVATIONS_PER_ENTRY}; `[]` for a new entry. A `put` that
   * replaces the entry starts it again at `[]`: the evidence was about the
   * old answer, not the new one.
   */
  readonly observations: readonly Observation[];
}

/**
 * One judgement of an entry's answer: a later prompt at `similarity` to the
 * entry's prompt, and whether the entry's answer was right for it (the LLM's
 * fresh answer matched it, or a client's feedback said so). The evidence
 * verified answers learn each entry's decision boundary from.
 */
export interface Observation {
  /** Cosine similarity of the later prompt's embedding to the entry's. */
  readonly similarity: number;
  /** Whether the entry's answer was right for that prompt. */
  readonly correct: boolean;
  /** When it was observed, in milliseconds since the epoch. */
  readonly atMs: number;
}

/** Most observations a store keeps per entry; older ones are dropped first. */
export const MAX_OBSERVATIONS_PER_ENTRY = 64;

/** An entry to write, with its embedding (a new entry has no hits and no observations). */
export interface NewEntry extends Omit<StoredEntry, "hits" | "observations"> {
  /** The prompt's embedding, unit length, `dimension` long. */
  readonly vector: Float32Array;
}

/** One result of a nearest-neighbour search. */
export interface Neighbour {
  readonly entry: StoredEntry;
  /** Cosine similarity in [-1, 1]. */
  readonly similarity: number;
}

/** HNSW parameters a store reports (and, for stores that build an index, uses). */
export interface IndexParams {
  readonly m: number;
  readonly efConstruction: number;
  readonly efSearch: number;
}

/** Persistent storage of cache entries with a per-scope vector index. */
export interface CacheStore {
  /** "embedded" or "redis". */
  readonly kind: string;
  /** The vector index's parameters. */
  readonly indexParams: IndexParams;

  /** Returns the unexpired entry with this id, if any. */
  get(id: string, nowMs: number): Promise<StoredEntry | undefined>;
  /**
   * Returns up to `k` unexpired entries of `scope` closest to `vector`, best
   * first. Only entries with the same scope key are ever considered (a
   * pre-filter, never a filter applied after a global search).
   *
   * `floor`, when given, is the least similarity whose entry the caller can
   * use (its threshold's `similarityFloor`, similarity.ts): only entries at
   * least that similar come back, or the nearest alone when none is, so a
   * miss still learns how close the scope came. A store need not read the
   * other entries (recall.ts, `fromFloor`): a miss then costs one entry read
   * instead of k, whatever the size of the answers stored.
   */
  search(scope: EntryScope, vector: Float32Array, k: number, nowMs: number, floor?: number): Promise<Neighbour[]>;
  /**
   * Writes entries, replacing any with the same id. Resolves once they are
   * durable. Returns, per entry, whether it replaced an existing one.
   */
  put(entries: readonly NewEntry[]): Promise<boolean[]>;
  /** Adds one to an entry's hit count; resolves to the new count (0 if it is gone). */
  recordHit(id: string): Promise<number>;
  /**
   * Appends one observation to an unexpired entry, keeping its newest
   * {@link MAX_OBSERVATIONS_PER_ENTRY}. Atomic: concurrent calls all land.
   * Resolves true once durable, false when the entry is gone or expired at
   * `nowMs` (it is never recreated). The similarity is kept to six decimals.
   * Throws RangeError for an observation out of range (similarity outside
   * [-1, 1], a time that is not a whole non-negative number of ms).
   */
  addObservation(id: string, observation: Observation, nowMs: number): Promise<boolean>;
  /** Number of unexpired entries, in one namespace or in all. */
  count(namespace?: string): Promise<number>;
  /** Deletes the entries of one namespace; resolves to how many. */
  flushNamespace(namespace: string): Promise<number>;
  /** Deletes every entry; resolves to how many. */
  flushAll(): Promise<number>;
  /** Lists the most recently stored unexpired entries of a namespace, newest first. */
  listRecent(namespace: string, limit: number, nowMs: number): Promise<StoredEntry[]>;
  /**
   * Resolves when the store can serve reads and writes right now; rejects
   * (StoreUnavailableError, naming what is wrong) when it cannot: Redis
   * unreachable or its index missing (and not re-created on the spot), or
   * the embedded store's data directory deleted or replaced.
   * Cheap enough for every health check.
   */
  ping(): Promise<void>;
  /** Flushes pending writes and releases resources. */
  close(): Promise<void>;
}

/** Thrown by a store when its backend is unreachable or failing (UNAVAILABLE); the message says so to callers. */
export class StoreUnavailableError extends SemcacheError {
  override readonly name: string = "StoreUnavailableError";
  /**
   * True when the store cannot recover by itself and needs its operator (the
   * embedded store's data directory deleted or replaced); false for outages
   * that heal (Redis away, its index being re-created). Either way /healthz,
   * gRPC health and the semcache_store_up gauge say the store is down while
   * it lasts.
   */
  readonly permanent: boolean;

  constructor(message: string, options: { readonly cause?: unknown; readonly permanent?: boolean } = {}) {
    super("unavailable", `cache store unavailable: ${message}`, options.cause === undefined ? {} : { cause: options.cause });
    this.permanent = options.permanent ?? false;
  }
}
