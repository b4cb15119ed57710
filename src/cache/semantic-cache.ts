import type { Embedder } from "../embedder/embedder.js";
import { cosineSimilarity } from "../embedder/pooling.js";
import { SemcacheError } from "../errors/index.js";
import { MAX_OBSERVATIONS_PER_ENTRY, type CacheStore, type EntryScope, type IndexParams, type Observation, type StoredEntry } from "../store/cache-store.js";
import { checkErrorBudget, DEFAULT_ANSWER_MATCH, DEFAULT_EXPLORE_FLOOR, judgeAnswers, ServedLog, Verifier, type AnswerVerdict, type VerifyCandidate } from "../verify/index.js";
import { Counters, type CounterName, type CounterValues, type SharedCounters } from "./counters.js";
import { InvalidInputError } from "./errors.js";
import { checkMetadata, checkText, normalizedPrompt, type InputLimits } from "./limits.js";
import { normalizePrompt } from "./normalize.js";
import { DEFAULT_RECENT_EMBEDDINGS, RecentEmbeddings } from "./recent-embeddings.js";
import { entryId, resolveNamespace, resolveScope, type ScopeInput } from "./scope.js";
import { checkThreshold } from "./threshold.js";
import { meetsThreshold, similarityFloor } from "../store/similarity.js";

/** The budget ListEntries' learned boundary is computed for when the server has none. */
const DEFAULT_BOUNDARY_BUDGET = 0.02;

/** How a lookup matched. */
export type MatchKind = "exact" | "semantic";

/** A prompt in a scope as a request sends it, not yet validated. */
export interface PromptInput {
  readonly prompt: string;
  readonly scope?: ScopeInput;
  /** The request field that holds the prompt, as errors name it; default "prompt". */
  readonly field?: string;
  /**
   * Who asks, for the embedder's fair batches (tenancy/tenant.ts): the API
   * key's id when keys are on; unset, the scope's namespace.
   */
  readonly tenant?: string | undefined;
}

declare const preparedBrand: unique symbol;

/**
 * A prompt validated in its scope, which can be looked up and stored any
 * number of times without checking it again. Only
 * {@link SemanticCache.prepare} makes one.
 */
export interface PreparedPrompt {
  /** The prompt as sent (what is stored and reported as matched_prompt). */
  readonly prompt: string;
  /** The prompt normalised: what the exact layer compares and the model embeds. */
  readonly normalized: string;
  /** The validated scope, with its scope key. */
  readonly scope: EntryScope;
  /** The id an answer to this prompt is stored under. */
  readonly entryId: string;
  /** Who asks (the input's tenant, else the namespace): the embedder queues this prompt as theirs. */
  readonly tenant: string;
  readonly [preparedBrand]: true;
}

/** A lookup request, in the core's terms. */
export interface LookupInput extends PromptInput {
  /** Overrides the default threshold; must be in (0, 1]. */
  readonly minSimilarity?: number;
  /** The error budget (`max_error_rate`), in (0, 1); unset: the server's default, if any. */
  readonly maxErrorRate?: number;
}

/** How {@link SemanticCache.lookupPrepared} decides a semantic match. */
export interface MatchPolicy {
  /**
   * Without a budget: the similarity a match needs (default: the default
   * threshold). With one: the least similarity a candidate needs to be
   * considered at all (default: the verifier's exploration floor).
   */
  readonly threshold?: number;
  /** An error budget from {@link SemanticCache.resolveBudget}: semantic matches are verified (src/verify). */
  readonly budget?: number;
}

/** A candidate an error budget did not let the cache serve: the caller may check it (explore) and report. */
export interface UncertainCandidate {
  readonly entry: StoredEntry;
  readonly similarity: number;
}

/** The result of a lookup. */
export type LookupResult =
  | { readonly hit: true; readonly kind: MatchKind; readonly similarity: number; readonly entry: StoredEntry; readonly threshold: number }
  | {
      readonly hit: false;
      readonly similarity: number;
      readonly threshold: number;
      readonly rejectedByGuard: boolean;
      /** The normalised prompt's embedding, computed for the search; pass it to `storePrepared` so it is not computed twice. */
      readonly vector: Float32Array;
      /** Under an error budget: the candidate the cache was not confident enough to serve. */
      readonly uncertain?: UncertainCandidate;
    };

/** A client's verdict on an entry's answer for a prompt. */
export interface FeedbackInput extends PromptInput {
  readonly entryId: string;
  readonly correct: boolean;
}

/** What Feedback recorded. */
export interface FeedbackResult {
  readonly similarity: number;
  readonly observations: number;
  readonly learnedBoundary: number;
}

/** What is stored for a prepared prompt. */
export interface AnswerInput {
  readonly response: string;
  /** Seconds to live; undefined: the default TTL; 0: never expires. */
  readonly ttlSeconds?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * The normalised prompt's embedding when the caller already has it (a
   * miss's `vector`); computed here when unset.
   */
  readonly vector?: Float32Array;
}

/** A store request, in the core's terms. */
export interface StoreInput extends AnswerInput, PromptInput {}

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

/** What a cache is made of and set to, for Stats, metrics and logs. */
export interface CacheDescription {
  readonly modelId: string;
  readonly dimension: number;
  /** The store's kind: "embedded" or "redis". */
  readonly storeKind: string;
  readonly indexParams: IndexParams;
  readonly defaultThreshold: number;
}

/**
 * Counters that the core's callers keep, because only they know the event:
 * Ask's LLM calls, the Asks that shared one, the tokens a shared call saved,
 * and the cache failures Ask answered around.
 */
export type CallerCounter = Extract<CounterName, "llmCalls" | "coalescedCalls" | "tokensSaved" | "cacheErrors" | "explorations">;

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
  /** A prompt's embedding was reused (see recent-embeddings.ts) instead of running the model. */
  onEmbeddingReused?(): void;
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
  /** Told search timings and match similarities (metrics). */
  readonly observer?: CacheObserver;
  /**
   * The tokens a hit on `entry` saved, added to tokensSaved. The core does
   * not know what an entry's metadata means; the layer that writes it does
   * (Ask's answer metadata: `tokensSavedOnHit` in src/ask). Unset: hits are
   * not counted as saving tokens.
   */
  readonly tokensSavedOnHit?: (entry: StoredEntry) => number;
  /** The server's error budget (SEMCACHE_MAX_ERROR_RATE), in (0, 1); unset: plain thresholds unless a request sets one. */
  readonly maxErrorRate?: number;
  /** Answer-embedding similarity at which two answers are the same (SEMCACHE_ANSWER_MATCH); default 0.95. */
  readonly answerMatch?: number;
  /**
   * Prompts whose embeddings are kept for reuse in their scope
   * (SEMCACHE_EMBED_MEMO_ENTRIES, see recent-embeddings.ts); 0: none. Default
   * {@link DEFAULT_RECENT_EMBEDDINGS}.
   */
  readonly recentEmbeddings?: number;
  /**
   * Counters shared by a fleet (src/fleet): told every count, and what Stats
   * answers with. Unset: Stats answers with this process's counters.
   */
  readonly sharedCounters?: SharedCounters;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/**
 * The cache core: validates requests, runs the exact layer, then the
 * semantic layer over the store's per-scope index, and keeps the counters.
 * It owns its store and embedder: every use of them goes through here, and
 * `close` releases both.
 *
 * Ask and other callers that look a prompt up and then store an answer for
 * it `prepare` the prompt once, then `lookupPrepared` and `storePrepared`
 * it, so it is validated and normalised once; Lookup and Store do the same
 * in one call through `lookup` and `store`.
 */
export class SemanticCache {
  readonly #store: CacheStore;
  readonly #embedder: Embedder;
  readonly #options: SemanticCacheOptions;
  readonly #counters: Counters;
  readonly #now: () => number;
  /** Verified answers' decisions and what they learned (pooled priors, budget ledger). */
  readonly #verifier = new Verifier();
  /** Which entry answered which prompt lately, for Feedback's served-then-wrong count. */
  readonly #served = new ServedLog();
  /** Embeddings of recent prompts per scope, so a prompt seen again in its scope skips the model. */
  readonly #recent: RecentEmbeddings;

  constructor(store: CacheStore, embedder: Embedder, options: SemanticCacheOptions) {
    this.#store = store;
    this.#embedder = embedder;
    this.#options = options;
    this.#recent = new RecentEmbeddings(options.recentEmbeddings ?? DEFAULT_RECENT_EMBEDDINGS, () => options.observer?.onEmbeddingReused?.());
    this.#counters = new Counters(options.sharedCounters);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Resolves when the cache's store can serve reads and writes right now;
   * rejects (StoreUnavailableError, naming what is wrong) when it cannot.
   * For health checks; cheap enough for every one.
   */
  ping(): Promise<void> {
    return this.#store.ping();
  }

  /**
   * The size limits, for callers that validate parts of a request the core
   * never sees (Ask's earlier conversation turns, its answer metadata).
   */
  get limits(): InputLimits {
    const { maxPromptBytes, maxResponseBytes, maxMetadataEntries, maxMetadataBytes } = this.#options;
    return { maxPromptBytes, maxResponseBytes, maxMetadataEntries, maxMetadataBytes };
  }

  /** The model, store and default threshold. */
  describe(): CacheDescription {
    return {
      modelId: this.#embedder.modelId,
      dimension: this.#embedder.dimension,
      storeKind: this.#store.kind,
      indexParams: this.#store.indexParams,
      defaultThreshold: this.#options.defaultThreshold,
    };
  }

  /** Validates a scope, then a prompt (size, then not blank once normalised); throws InvalidInputError. */
  prepare(input: PromptInput): PreparedPrompt {
    const scope = resolveScope(input.scope);
    const normalized = normalizedPrompt(input.field ?? "prompt", input.prompt, this.#options.maxPromptBytes);
    const tenant = input.tenant ?? scope.namespace;
    return { prompt: input.prompt, normalized, scope, entryId: entryId(scope.scopeKey, normalized), tenant } as PreparedPrompt;
  }

  /** The threshold a request asks for (validated, as `min_similarity`), or the default when it asks for none. */
  resolveThreshold(minSimilarity: number | undefined): number {
    if (minSimilarity === undefined) return this.#options.defaultThreshold;
    checkThreshold("min_similarity", minSimilarity);
    return minSimilarity;
  }

  /**
   * The error budget a request asks for (validated, as `max_error_rate`), or
   * the server's default; undefined when neither is set (plain thresholds).
   */
  resolveBudget(maxErrorRate: number | undefined): number | undefined {
    if (maxErrorRate !== undefined) return checkErrorBudget("max_error_rate", maxErrorRate);
    return this.#options.maxErrorRate === undefined ? undefined : checkErrorBudget("SEMCACHE_MAX_ERROR_RATE", this.#options.maxErrorRate);
  }

  /** The match policy of a request's `min_similarity` and `max_error_rate`, validated. */
  matchPolicy(minSimilarity: number | undefined, maxErrorRate: number | undefined): MatchPolicy {
    const budget = this.resolveBudget(maxErrorRate);
    if (budget === undefined) return { threshold: this.resolveThreshold(minSimilarity) };
    if (minSimilarity !== undefined) checkThreshold("min_similarity", minSimilarity);
    return minSimilarity === undefined ? { budget } : { budget, threshold: minSimilarity };
  }

  /** Looks a prompt up: exact layer first, then the semantic layer within the scope. */
  async lookup(input: LookupInput): Promise<LookupResult> {
    const prepared = this.prepare(input);
    return this.lookupPrepared(prepared, this.matchPolicy(input.minSimilarity, input.maxErrorRate));
  }

  /**
   * Looks a prepared prompt up, and counts the lookup. `policy` is one
   * {@link matchPolicy} returned; default: the default threshold.
   */
  async lookupPrepared(prepared: PreparedPrompt, policy: MatchPolicy = {}): Promise<LookupResult> {
    const result =
      policy.budget === undefined
        ? await this.#search(prepared, policy.threshold ?? this.#options.defaultThreshold)
        : await this.#verifiedSearch(prepared, policy.budget, policy.threshold);
    this.#countLookup(prepared.scope.namespace, result);
    if (result.hit) this.#served.served(result.entry.id, prepared.normalized);
    return result;
  }

  /** Whether the hard-negative guard lets a match between two normalised prompts be served (true without a guard). */
  passesGuard(normalizedQuery: string, normalizedStored: string): boolean {
    return this.#options.guard === undefined || this.#options.guard(normalizedQuery, normalizedStored);
  }

  /**
   * The unexpired entry stored under `id`, if any, by the cache's clock. Not
   * a lookup: nothing is counted and no hit is recorded.
   */
  getFresh(id: string): Promise<StoredEntry | undefined> {
    return this.#store.get(id, this.#now());
  }

  async #search(prepared: PreparedPrompt, threshold: number): Promise<LookupResult> {
    const { scope, normalized, tenant } = prepared;
    const now = this.#now();
    const exact = await this.#store.get(prepared.entryId, now);
    if (exact !== undefined) {
      return { hit: true, kind: "exact", similarity: 1, entry: await this.#withHit(exact), threshold };
    }
    const vector = await this.#embedPrompt(scope, normalized, tenant);
    const searchStarted = performance.now();
    const neighbours = await this.#store.search(scope, vector, this.#options.searchK ?? 4, now, similarityFloor(threshold));
    const observer = this.#options.observer;
    observer?.onSearch?.(performance.now() - searchStarted);
    const best = neighbours[0]?.similarity ?? 0;
    let rejectedByGuard = false;
    for (const { entry, similarity } of neighbours) {
      if (!meetsThreshold(similarity, threshold)) break;
      if (!this.passesGuard(normalized, normalizePrompt(entry.prompt))) {
        rejectedByGuard = true;
        continue;
      }
      const served = await this.#withHit(entry);
      observer?.onMatch?.(scope.namespace, similarity, true);
      return { hit: true, kind: "semantic", similarity, entry: served, threshold };
    }
    if (neighbours.length > 0) observer?.onMatch?.(scope.namespace, best, false);
    return { hit: false, similarity: Math.max(0, best), threshold, rejectedByGuard, vector };
  }

  /**
   * The semantic layer under an error budget: the verifier decides which
   * candidate, if any, may be served; the one it would rather check comes
   * back as `uncertain` (src/verify/verifier.ts).
   */
  async #verifiedSearch(prepared: PreparedPrompt, budget: number, floor: number | undefined): Promise<LookupResult> {
    const { scope, normalized, tenant } = prepared;
    const now = this.#now();
    const exact = await this.#store.get(prepared.entryId, now);
    if (exact !== undefined) {
      this.#verifier.countRequest(scope.namespace, budget);
      return { hit: true, kind: "exact", similarity: 1, entry: await this.#withHit(exact), threshold: floor ?? DEFAULT_EXPLORE_FLOOR };
    }
    const vector = await this.#embedPrompt(scope, normalized, tenant);
    const searchStarted = performance.now();
    const neighbours = await this.#store.search(scope, vector, this.#options.searchK ?? 4, now);
    const observer = this.#options.observer;
    observer?.onSearch?.(performance.now() - searchStarted);
    const candidates: VerifyCandidate[] = neighbours.map(({ entry, similarity }) => ({
      entryId: entry.id,
      similarity,
      observations: entry.observations,
      guardRejected: !this.passesGuard(normalized, normalizePrompt(entry.prompt)),
    }));
    const choice = this.#verifier.decide(scope.namespace, budget, candidates, floor);
    const best = neighbours[0]?.similarity ?? 0;
    const threshold = floor ?? DEFAULT_EXPLORE_FLOOR;
    if (choice.kind === "serve") {
      const { entry, similarity } = neighbours[choice.index]!;
      observer?.onMatch?.(scope.namespace, similarity, true);
      return { hit: true, kind: "semantic", similarity, entry: await this.#withHit(entry), threshold };
    }
    if (neighbours.length > 0) observer?.onMatch?.(scope.namespace, best, false);
    if (choice.kind === "miss") return { hit: false, similarity: Math.max(0, best), threshold, rejectedByGuard: false, vector };
    const uncertain = neighbours[choice.index]!;
    return { hit: false, similarity: Math.max(0, best), threshold, rejectedByGuard: choice.reason === "guard", vector, uncertain };
  }

  /**
   * Judges a cached answer against a fresh one (src/verify/answer-match.ts):
   * equal after normalisation, or embeddings at or above SEMCACHE_ANSWER_MATCH.
   * The answers are embedded as `tenant`'s.
   */
  judgeAnswers(cached: string, fresh: string, tenant: string): Promise<AnswerVerdict> {
    return judgeAnswers(cached, fresh, this.#options.answerMatch ?? DEFAULT_ANSWER_MATCH, (text) => this.#embedder.embed(normalizePrompt(text), tenant));
  }

  /**
   * Records an observation of an entry (an exploration's verdict): durably
   * in the store, and in what the verifier learned. Resolves to false when
   * the entry is gone.
   */
  async recordObservation(namespace: string, entryId: string, observation: Observation): Promise<boolean> {
    const found = await this.#store.addObservation(entryId, observation, this.#now());
    if (found) this.#verifier.record(namespace, entryId, observation);
    return found;
  }

  /**
   * Feedback: a client's verdict on an entry's answer for a prompt, recorded
   * as an observation at the prompt's similarity to the entry. A wrong
   * verdict tightens the entry at once (it is not served at that similarity
   * or above again without new evidence).
   *
   * @throws SemcacheError `not_found` for an unknown (or expired) id, or one of another scope
   */
  async feedback(input: FeedbackInput): Promise<FeedbackResult> {
    const prepared = this.prepare(input);
    if (input.entryId === "") throw new InvalidInputError("entry_id", "must not be empty");
    const entry = await this.#store.get(input.entryId, this.#now());
    if (entry === undefined || entry.scope.scopeKey !== prepared.scope.scopeKey) {
      throw new SemcacheError("not_found", `entry_id: no entry ${JSON.stringify(input.entryId.slice(0, 64))} in this scope`, { field: "entry_id" });
    }
    const similarity =
      entry.id === prepared.entryId
        ? 1
        : cosineSimilarity(
            await this.#embedPrompt(prepared.scope, prepared.normalized, prepared.tenant),
            await this.#embedPrompt(entry.scope, normalizePrompt(entry.prompt), prepared.tenant),
          );
    const observation: Observation = { similarity: Math.max(-1, Math.min(1, similarity)), correct: input.correct, atMs: this.#now() };
    const namespace = prepared.scope.namespace;
    if (!(await this.recordObservation(namespace, entry.id, observation))) {
      throw new SemcacheError("not_found", `entry_id: entry ${JSON.stringify(entry.id)} is gone`, { field: "entry_id" });
    }
    this.#counters.add(namespace, "feedbackReceived");
    if (!input.correct && this.#served.wasServed(entry.id, prepared.normalized)) this.#counters.add(namespace, "servedThenJudgedWrong");
    const observations = [...entry.observations, observation].slice(-MAX_OBSERVATIONS_PER_ENTRY);
    return { similarity: observation.similarity, observations: observations.length, learnedBoundary: this.learnedBoundary({ ...entry, observations }) };
  }

  /**
   * The similarity at which an entry's estimated P(right) reaches 1 − the
   * default budget (SEMCACHE_MAX_ERROR_RATE, or 0.02); 0 when unknown.
   */
  learnedBoundary(entry: StoredEntry): number {
    return this.#verifier.learnedBoundary(entry.scope.namespace, entry.observations, this.#options.maxErrorRate ?? DEFAULT_BOUNDARY_BUDGET);
  }

  async #withHit(entry: StoredEntry): Promise<StoredEntry> {
    const hits = await this.#store.recordHit(entry.id);
    return { ...entry, hits: Math.max(hits, entry.hits + 1) };
  }

  /** The embedding of a normalised prompt in `scope`, queued as `tenant`'s when the model must run. */
  #embedPrompt(scope: EntryScope, normalized: string, tenant: string): Promise<Float32Array> {
    return this.#recent.embed(scope.namespace, scope.scopeKey, normalized, () => this.#embedder.embed(normalized, tenant));
  }

  #countLookup(namespace: string, result: LookupResult): void {
    this.#counters.add(namespace, "lookups");
    if (result.hit) {
      this.#counters.add(namespace, result.kind === "exact" ? "exactHits" : "semanticHits");
      const saved = this.#options.tokensSavedOnHit?.(result.entry) ?? 0;
      if (Number.isFinite(saved) && saved > 0) this.#counters.add(namespace, "tokensSaved", saved);
    } else {
      this.#counters.add(namespace, "misses");
      if (result.rejectedByGuard) this.#counters.add(namespace, "guardRejections");
    }
  }

  /** Stores an answer; resolves once it is durable. */
  async store(input: StoreInput): Promise<StoreResult> {
    return this.storePrepared(this.prepare(input), input);
  }

  /** Stores an answer to a prepared prompt (validating the answer); resolves once it is durable. */
  async storePrepared(prepared: PreparedPrompt, answer: AnswerInput): Promise<StoreResult> {
    const { scope } = prepared;
    checkText("response", answer.response, this.#options.maxResponseBytes);
    const metadata = answer.metadata ?? {};
    checkMetadata(metadata, this.#options);
    const ttl = answer.ttlSeconds ?? this.#options.defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 0) {
      throw new InvalidInputError("ttl_seconds", `must be a whole number of seconds, 0 or more (got ${ttl})`);
    }
    if (answer.vector !== undefined && answer.vector.length !== this.#embedder.dimension) {
      throw new RangeError(`vector must have ${this.#embedder.dimension} components (got ${answer.vector.length})`);
    }
    const vector = answer.vector ?? (await this.#embedPrompt(scope, prepared.normalized, prepared.tenant));
    const createdAtMs = this.#now();
    const expiresAtMs = ttl === 0 ? 0 : createdAtMs + ttl * 1000;
    const [replaced = false] = await this.#store.put([
      { id: prepared.entryId, scope, prompt: prepared.prompt, response: answer.response, createdAtMs, expiresAtMs, metadata: { ...metadata }, vector },
    ]);
    this.#counters.add(scope.namespace, "stores");
    return { id: prepared.entryId, replaced, expiresAtMs };
  }

  /** Adds `by` (default 1) to one of the counters callers keep, for a namespace. */
  count(namespace: string, counter: CallerCounter, by = 1): void {
    this.#counters.add(namespace, counter, by);
  }

  /**
   * The counters of one namespace, or their sum over all, without touching
   * the store (unlike {@link stats}, which also counts entries).
   */
  readCounters(namespace?: string): CounterValues {
    return this.#counters.read(namespace);
  }

  /** The namespaces that have counters. */
  counterNamespaces(): string[] {
    return this.#counters.namespaces();
  }

  /** Counters (a fleet's when they are shared, see `sharedCounters`) and entry count for one namespace, or for all. */
  async stats(namespace?: string): Promise<CacheStats> {
    const ns = namespace === undefined ? undefined : resolveNamespace(namespace, "namespace");
    const counters = (await this.#options.sharedCounters?.read(ns)) ?? this.#counters.read(ns);
    const entries = await this.#store.count(ns);
    const hits = counters.exactHits + counters.semanticHits;
    return { ...counters, entries, hitRate: counters.lookups === 0 ? 0 : hits / counters.lookups };
  }

  /** The most recently stored unexpired entries of a namespace ("" is the default one), newest first. */
  async listRecent(namespace: string, limit: number): Promise<StoredEntry[]> {
    return this.#store.listRecent(resolveNamespace(namespace, "namespace"), limit, this.#now());
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
      const deleted = await this.#store.flushAll();
      this.#verifier.forget();
      this.#recent.forget();
      // Not any one namespace's flush: counted under "*", which only the all-namespace total includes.
      this.#counters.add("*", "flushes");
      return deleted;
    }
    const namespace = resolveNamespace(input.namespace, "namespace");
    const deleted = await this.#store.flushNamespace(namespace);
    this.#verifier.forget(namespace);
    this.#recent.forget(namespace);
    this.#counters.add(namespace, "flushes");
    return deleted;
  }

  /** Closes the store (flushing pending writes), then the embedder. */
  async close(): Promise<void> {
    try {
      await this.#store.close();
    } finally {
      await this.#embedder.close();
    }
  }
}
