import type { Embedder } from "../embedder/embedder.js";
import type { CacheStore, EntryScope, StoredEntry } from "../store/cache-store.js";
import { Counters, type CounterValues } from "./counters.js";
import { InvalidInputError } from "./errors.js";
import { checkMetadata, checkText, checkThreshold, normalizedPrompt, type InputLimits } from "./limits.js";
import { normalizePrompt } from "./normalize.js";
import { entryId, resolveNamespace, resolveScope, type ScopeInput } from "./scope.js";

/** How a lookup matched. */
export type MatchKind = "exact" | "semantic";

/** A lookup request, in the core's terms. */
export interface LookupInput {
  readonly prompt: string;
  readonly scope?: ScopeInput;
  /** Overrides the default threshold; must be in (0, 1]. */
  readonly minSimilarity?: number;
}

/** The result of a lookup. */
export type LookupResult =
  | { readonly hit: true; readonly kind: MatchKind; readonly similarity: number; readonly entry: StoredEntry; readonly threshold: number }
  | {
      readonly hit: false;
      readonly similarity: number;
      readonly threshold: number;
      readonly rejectedByGuard: boolean;
      /** The normalised prompt's embedding, computed for the search; pass it to `store` so it is not computed twice. */
      readonly vector: Float32Array;
    };

/** A store request, in the core's terms. */
export interface StoreInput {
  readonly prompt: string;
  readonly response: string;
  readonly scope?: ScopeInput;
  /** Seconds to live; undefined: the default TTL; 0: never expires. */
  readonly ttlSeconds?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * The normalised prompt's embedding when the caller already has it (a
   * miss's `vector`); computed here when unset.
   */
  readonly vector?: Float32Array;
}

/** The result of a store. */
export interface StoreResult {
  readonly id: string;
  readonly replaced: boolean;
  /** 0 when the entry never expires. */
  readonly expiresAtMs: number;
}

/** Counters plus the entry count, for one namespace or all. */
export interface CacheStats extends CounterValues {
  readonly entries: number;
  readonly hitRate: number;
}

/**
 * Decides whether a semantic match may be served. Returning false rejects a
 * match whose prompts differ in what embeddings blur (numbers, negation, ...).
 */
export type MatchGuard = (queryPrompt: string, storedPrompt: string) => boolean;

/** Hooks for metrics; called synchronously, so they must be cheap and must not throw. */
export interface CacheObserver {
  /** One nearest-neighbour search of the store took `ms` milliseconds. */
  onSearch?(ms: number): void;
  /**
   * The semantic layer's best candidate had `similarity`; `hit` says whether
   * a match was served. Not called for exact hits, nor when the scope had no
   * candidate at all.
   */
  onMatch?(namespace: string, similarity: number, hit: boolean): void;
}

/** Settings of the cache core. */
export interface SemanticCacheOptions extends InputLimits {
  /** Similarity at or above which a semantic match is a hit. */
  readonly defaultThreshold: number;
  /** TTL for entries stored without one; 0 means no expiry. */
  readonly defaultTtlSeconds: number;
  /** Candidates fetched per semantic search, so a guard-rejected best match can yield to the next. */
  readonly searchK?: number;
  /** Optional hard-negative guard. */
  readonly guard?: MatchGuard;
  /** Clock, for tests. */
  readonly now?: () => number;
}

// float32 on the wire turns 0.9 into 0.899999976; a hair of slack keeps a
// threshold of exactly 1 reachable for identical embeddings.
const SIMILARITY_EPSILON = 1e-6;

/**
 * The cache core: validates requests, runs the exact layer, then the
 * semantic layer over the store's per-scope index, and keeps the counters.
 */
export class SemanticCache {
  /** Counters since start, per namespace. */
  readonly counters = new Counters();
  /** Told search timings and match similarities, for metrics. */
  observer: CacheObserver | undefined;
  private readonly now: () => number;

  constructor(
    readonly backend: CacheStore,
    readonly embedder: Embedder,
    readonly options: SemanticCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Validates a scope and returns it with its scope key. */
  resolveScope(scope: ScopeInput | undefined): EntryScope {
    return resolveScope(scope);
  }

  /** Looks a prompt up: exact layer first, then the semantic layer within the scope. */
  async lookup(input: LookupInput): Promise<LookupResult> {
    const scope = resolveScope(input.scope);
    const normalized = normalizedPrompt("prompt", input.prompt, this.options.maxPromptBytes);
    const threshold = input.minSimilarity ?? this.options.defaultThreshold;
    if (input.minSimilarity !== undefined) {
      checkThreshold("min_similarity", input.minSimilarity);
    }
    const result = await this.lookupNormalized(scope, normalized, threshold);
    this.countLookup(scope.namespace, result);
    return result;
  }

  private async lookupNormalized(scope: EntryScope, normalized: string, threshold: number): Promise<LookupResult> {
    const now = this.now();
    const exact = await this.backend.get(entryId(scope.scopeKey, normalized), now);
    if (exact !== undefined) {
      return { hit: true, kind: "exact", similarity: 1, entry: await this.withHit(exact), threshold };
    }
    const vector = await this.embedder.embed(normalized);
    const searchStarted = performance.now();
    const neighbours = await this.backend.search(scope, vector, this.options.searchK ?? 4, now);
    this.observer?.onSearch?.(performance.now() - searchStarted);
    const best = neighbours[0]?.similarity ?? 0;
    let rejectedByGuard = false;
    for (const { entry, similarity } of neighbours) {
      if (similarity + SIMILARITY_EPSILON < threshold) break;
      if (this.options.guard !== undefined && !this.options.guard(normalized, normalizePrompt(entry.prompt))) {
        rejectedByGuard = true;
        continue;
      }
      const served = await this.withHit(entry);
      this.observer?.onMatch?.(scope.namespace, similarity, true);
      return { hit: true, kind: "semantic", similarity, entry: served, threshold };
    }
    if (neighbours.length > 0) this.observer?.onMatch?.(scope.namespace, best, false);
    return { hit: false, similarity: Math.max(0, best), threshold, rejectedByGuard, vector };
  }

  private async withHit(entry: StoredEntry): Promise<StoredEntry> {
    const hits = await this.backend.recordHit(entry.id);
    return { ...entry, hits: Math.max(hits, entry.hits + 1) };
  }

  private countLookup(namespace: string, result: LookupResult): void {
    this.counters.add(namespace, "lookups");
    if (result.hit) {
      this.counters.add(namespace, result.kind === "exact" ? "exactHits" : "semanticHits");
      const saved = Number(result.entry.metadata["completion_tokens"] ?? 0);
      if (Number.isFinite(saved) && saved > 0) this.counters.add(namespace, "tokensSaved", saved);
    } else {
      this.counters.add(namespace, "misses");
      if (result.rejectedByGuard) this.counters.add(namespace, "guardRejections");
    }
  }

  /** Stores an answer; resolves once it is durable. */
  async store(input: StoreInput): Promise<StoreResult> {
    const scope = resolveScope(input.scope);
    const normalized = normalizedPrompt("prompt", input.prompt, this.options.maxPromptBytes);
    checkText("response", input.response, this.options.maxResponseBytes);
    const metadata = input.metadata ?? {};
    checkMetadata(metadata, this.options);
    const ttl = input.ttlSeconds ?? this.options.defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 0) {
      throw new InvalidInputError("ttl_seconds", `must be a whole number of seconds, 0 or more (got ${ttl})`);
    }
    if (input.vector !== undefined && input.vector.length !== this.embedder.dimension) {
      throw new RangeError(`vector must have ${this.embedder.dimension} components (got ${input.vector.length})`);
    }
    const vector = input.vector ?? (await this.embedder.embed(normalized));
    const createdAtMs = this.now();
    const expiresAtMs = ttl === 0 ? 0 : createdAtMs + ttl * 1000;
    const id = entryId(scope.scopeKey, normalized);
    const [replaced = false] = await this.backend.put([
      { id, scope, prompt: input.prompt, response: input.response, createdAtMs, expiresAtMs, metadata: { ...metadata }, vector },
    ]);
    this.counters.add(scope.namespace, "stores");
    return { id, replaced, expiresAtMs };
  }

  /** Counters and entry count for one namespace, or for all. */
  async stats(namespace?: string): Promise<CacheStats> {
    const ns = namespace === undefined ? undefined : resolveNamespace(namespace, "namespace");
    const counters = this.counters.read(ns);
    const entries = await this.backend.count(ns);
    const hits = counters.exactHits + counters.semanticHits;
    return { ...counters, entries, hitRate: counters.lookups === 0 ? 0 : hits / counters.lookups };
  }

  /** Deletes one namespace's entries, or all entries; exactly one must be asked for. */
  async flush(input: { readonly namespace: string; readonly all: boolean }): Promise<number> {
    if (input.all && input.namespace !== "") {
      throw new InvalidInputError("namespace", "set either namespace or all, not both");
    }
    if (!input.all && input.namespace === "") {
      throw new InvalidInputError("namespace", "set a namespace to flush, or all=true to flush everything");
    }
    if (input.all) {
      const deleted = await this.backend.flushAll();
      // Not any one namespace's flush: counted under "*", which only the all-namespace total includes.
      this.counters.add("*", "flushes");
      return deleted;
    }
    const namespace = resolveNamespace(input.namespace, "namespace");
    const deleted = await this.backend.flushNamespace(namespace);
    this.counters.add(namespace, "flushes");
    return deleted;
  }
}
