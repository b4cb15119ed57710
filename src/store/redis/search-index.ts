/**
 * The Redis store's searches (FT.SEARCH, FT.INFO) and the index they run
 * on, which repairs itself: when Redis answers that the index does not
 * exist (Redis restarted without persistence, or someone dropped it), the
 * call fails UNAVAILABLE (IndexMissingError) and the index is re-created at
 * once; RediSearch then re-indexes the entries still in Redis by itself. It
 * is also checked each time the connection comes back, so an instance that
 * sees no search at all still repairs it.
 */
import type { Logger } from "../../observability/logger.js";
import type { EntryScope, IndexParams, Neighbour, StoredEntry } from "../cache-store.js";
import { isLive } from "../expiry.js";
import { DEFAULT_EXACT_SCOPE_LIMIT, hnswCandidates } from "../recall.js";
import { encodeFloat32 } from "../vectors.js";
import { IndexMissingError, toStoreError, type StoreConnection } from "./connection.js";
import { decodeEntry } from "./entry-codec.js";
import { parseIndexInfo } from "./index-info.js";
import type { IndexDefinition } from "./index-schema.js";
import { createIndex } from "./index-setup.js";
import { idFromEntryKey } from "./naming.js";
import { ScopeSizes } from "./scope-sizes.js";
import {
  DISTANCE_FIELD,
  buildKnnSearchArgs,
  buildNamespaceCountArgs,
  buildRecentArgs,
  buildScopeCountArgs,
  overfetch,
} from "./search-query.js";
import { parseSearchReply } from "./search-reply.js";

/** What the Redis store needs from a search index: the operations plain hash commands cannot do. */
export interface EntrySearch {
  /** See CacheStore.search; the vector is already checked. */
  search(scope: EntryScope, vector: Float32Array, k: number, nowMs: number): Promise<Neighbour[]>;
  /** See CacheStore.listRecent. */
  listRecent(namespace: string, limit: number, nowMs: number): Promise<StoredEntry[]>;
  /** See CacheStore.count. */
  count(namespace?: string): Promise<number>;
  /** Resolves when searches can run now; rejects with StoreUnavailableError when they cannot. */
  ready(): Promise<void>;
  /** An entry is being written to this scope: a size remembered for it grows. */
  entryAdded(scopeKey: string): void;
  /** Entries were deleted in bulk (a flush): sizes remembered for scopes are stale. */
  entriesRemoved(): void;
}

// Least time between two attempts to re-create the index, so a Redis that
// keeps refusing FT.CREATE is not sent one per request.
const REPAIR_INTERVAL_MS = 1_000;

/** The RediSearch index of one key prefix, embedding model and dimension. */
export class SearchIndex implements EntrySearch {
  private readonly scopeSizes = new ScopeSizes();
  // Set when Redis said the index is missing; cleared once it is re-created.
  private missing: IndexMissingError | undefined;
  private repairing: Promise<void> | undefined;
  private lastRepairAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly connection: StoreConnection,
    private readonly keyPrefix: string,
    private readonly definition: IndexDefinition,
    private readonly params: IndexParams,
    private readonly logger: Logger,
  ) {
    connection.onReconnect(() => {
      // Redis may be back without the index: FT.INFO says, and a missing index is re-created.
      this.run(["FT.INFO", definition.name]).catch(() => undefined);
    });
  }

  /** The index's name. */
  get name(): string {
    return this.definition.name;
  }

  /**
   * A scope of at most DEFAULT_EXACT_SCOPE_LIMIT entries (by a count
   * remembered for 30 s) is searched exactly (HYBRID_POLICY ADHOC_BF: the
   * distance to each of its entries); a larger one through the HNSW graph
   * with a widened candidate set (`hnswCandidates`), of which the nearest
   * are returned, sorted by their exact float32 cosine distances.
   */
  async search(scope: EntryScope, vector: Float32Array, k: number, nowMs: number): Promise<Neighbour[]> {
    if (k < 1) return [];
    const limit = overfetch(k);
    const exact = (await this.scopeSize(scope)) <= DEFAULT_EXACT_SCOPE_LIMIT;
    const reply = await this.run(
      buildKnnSearchArgs({
        index: this.definition.name,
        namespace: scope.namespace,
        scopeKey: scope.scopeKey,
        vector: encodeFloat32(vector),
        k: limit,
        candidates: exact ? limit : Math.max(limit, hnswCandidates(k, this.params.efSearch)),
        exact,
      }),
    );
    const neighbours: Neighbour[] = [];
    for (const doc of parseSearchReply(reply).documents) {
      const id = idFromEntryKey(this.keyPrefix, doc.key);
      const entry = id === undefined ? undefined : decodeEntry(id, doc.fields);
      const distance = Number(doc.fields.get(DISTANCE_FIELD));
      if (entry === undefined || !Number.isFinite(distance) || !isLive(entry.expiresAtMs, nowMs)) continue;
      // The TAG filter already did this; checking again costs nothing and
      // keeps a scope boundary from ever depending on query escaping alone.
      if (entry.scope.scopeKey !== scope.scopeKey || entry.scope.namespace !== scope.namespace) continue;
      neighbours.push({ entry, similarity: Math.max(-1, Math.min(1, 1 - distance)) });
    }
    neighbours.sort((a, b) => b.similarity - a.similarity);
    return neighbours.slice(0, k);
  }

  async listRecent(namespace: string, limit: number, nowMs: number): Promise<StoredEntry[]> {
    if (limit < 1) return [];
    const reply = await this.run(buildRecentArgs(this.definition.name, namespace, overfetch(limit)));
    const out: StoredEntry[] = [];
    for (const doc of parseSearchReply(reply).documents) {
      const id = idFromEntryKey(this.keyPrefix, doc.key);
      const entry = id === undefined ? undefined : decodeEntry(id, doc.fields);
      if (entry === undefined || !isLive(entry.expiresAtMs, nowMs) || entry.scope.namespace !== namespace) continue;
      out.push(entry);
    }
    out.sort((a, b) => b.createdAtMs - a.createdAtMs);
    return out.slice(0, limit);
  }

  /**
   * FT.SEARCH `@ns:{..}` LIMIT 0 0 for a namespace, FT.INFO num_docs for all
   * (both O(1)-ish and exact for indexed entries).
   */
  async count(namespace?: string): Promise<number> {
    if (namespace !== undefined) {
      return parseSearchReply(await this.run(buildNamespaceCountArgs(this.definition.name, namespace))).total;
    }
    return parseIndexInfo(await this.run(["FT.INFO", this.definition.name])).numDocs ?? 0;
  }

  /** Rejects while the index is known to be missing, after one attempt to re-create it. */
  async ready(): Promise<void> {
    if (this.missing === undefined) return;
    await this.repair();
    if (this.missing !== undefined) throw this.missing;
  }

  entryAdded(scopeKey: string): void {
    this.scopeSizes.added(scopeKey);
  }

  entriesRemoved(): void {
    this.scopeSizes.clear();
  }

  /** The scope's entry count, remembered for a while (see ScopeSizes). */
  private async scopeSize(scope: EntryScope): Promise<number> {
    const now = Date.now();
    const known = this.scopeSizes.get(scope.scopeKey, now);
    if (known !== undefined) return known;
    const reply = await this.run(buildScopeCountArgs(this.definition.name, scope.namespace, scope.scopeKey));
    const size = parseSearchReply(reply).total;
    this.scopeSizes.set(scope.scopeKey, size, now);
    return size;
  }

  /** Sends one FT.* command; a missing index fails it UNAVAILABLE and starts the repair. */
  private async run(args: readonly (string | Buffer)[]): Promise<unknown> {
    try {
      const reply = await this.connection.command(args);
      this.missing = undefined;
      return reply;
    } catch (error) {
      // The connection translates already; a substitute connection (tests) may not.
      const translated = toStoreError(error, this.connection.safeUrl, String(args[0]));
      if (translated instanceof IndexMissingError) {
        this.missing ??= translated;
        void this.repair();
      }
      throw translated;
    }
  }

  /**
   * Re-creates the index, once at a time and at most once per
   * REPAIR_INTERVAL_MS: a repair asked for sooner waits for its turn.
   */
  private repair(): Promise<void> {
    if (this.repairing !== undefined) return this.repairing;
    const waitMs = Math.max(0, this.lastRepairAtMs + REPAIR_INTERVAL_MS - Date.now());
    this.repairing = (async () => {
      try {
        if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
        this.lastRepairAtMs = Date.now();
        if (this.missing === undefined) return;
        const created = await createIndex(this.connection, this.definition);
        this.missing = undefined;
        this.scopeSizes.clear();
        this.logger.warn(
          { index: this.definition.name, created },
          created
            ? `redis store: the index ${this.definition.name} was missing (Redis restarted empty, or the index was dropped); re-created it, and RediSearch re-indexes the entries still in Redis`
            : `redis store: the index ${this.definition.name} was missing and another instance has re-created it`,
        );
      } catch (error) {
        this.logger.error({ err: error, index: this.definition.name }, `redis store: could not re-create the missing index ${this.definition.name}`);
      } finally {
        this.repairing = undefined;
      }
    })();
    return this.repairing;
  }
}
