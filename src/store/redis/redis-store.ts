/**
 * The production CacheStore: entries as Redis hashes, searched through a
 * RediSearch (Redis query engine) HNSW vector index.
 *
 * Layout (prefix "semcache:" by default):
 * - `<prefix>entry:<id>`: HASH with prompt, response, ns, model, scope,
 *   params (JSON), created, expires (ms, 0 = never), hits, meta (JSON),
 *   vec (FLOAT32 LE blob) and emb (embedding model and dimension), and a
 *   PEXPIREAT TTL when the entry expires.
 * - `<prefix>idx:<model-slug>:<dim>`: the vector index over those hashes,
 *   admitting only the entries of its own embedding model and dimension.
 *
 * Exact look-ups, writes, hit counting and flushes use plain hash commands
 * and Lua scripts; search, listRecent and counting go through the index
 * (search-index.ts). Made by `openRedisStore` (open.ts).
 */
import type { CacheStore, EntryScope, IndexParams, Neighbour, NewEntry, Observation, StoredEntry } from "../cache-store.js";
import { MAX_OBSERVATIONS_PER_ENTRY } from "../cache-store.js";
import { isLive } from "../expiry.js";
import { toObservationTuple } from "../observations.js";
import { checkVector } from "../vectors.js";
import { fromFloor } from "../recall.js";
import type { StoreConnection } from "./connection.js";
import { READ_FIELDS, decodeEntry, encodeEntry } from "./entry-codec.js";
import type { IndexDefinition } from "./index-schema.js";
import { entryKey, escapeGlob } from "./naming.js";
import { ADD_OBSERVATION, PUT_ENTRY, RECORD_HIT, UNLINK_NAMESPACE } from "./scripts.js";
import type { EntrySearch } from "./search-index.js";

/** Keys per SCAN page and per UNLINK batch when walking the entries. */
const SCAN_BATCH = 500;
/** Entry writes in flight at once during one put. */
const PUT_WINDOW = 64;

/** The Redis CacheStore; create it with `openRedisStore`. */
export class RedisStore implements CacheStore {
  readonly kind = "redis";
  /** The vector index's name (per embedding model and dimension). */
  readonly indexName: string;
  private readonly entryPrefix: string;
  private readonly dimension: number;

  /** @internal Use `openRedisStore`. */
  constructor(
    private readonly connection: StoreConnection,
    /** The prefix of every key this store writes. */
    readonly keyPrefix: string,
    private readonly definition: IndexDefinition,
    /** HNSW parameters of the index in use (as FT.INFO reports them, where it does). */
    readonly indexParams: IndexParams,
    /** The index the searches run on. */
    private readonly index: EntrySearch,
  ) {
    this.indexName = definition.name;
    this.entryPrefix = definition.prefix;
    this.dimension = definition.dimension;
  }

  /** Whether the connection to Redis is up at this moment. */
  get isReady(): boolean {
    return this.connection.isReady;
  }

  async get(id: string, nowMs: number): Promise<StoredEntry | undefined> {
    const values = await this.connection.command<(string | null)[]>(["HMGET", entryKey(this.keyPrefix, id), ...READ_FIELDS]);
    const entry = decodeEntry(id, values);
    return entry === undefined || !isLive(entry.expiresAtMs, nowMs) ? undefined : entry;
  }

  async search(scope: EntryScope, vector: Float32Array, k: number, nowMs: number, floor?: number): Promise<Neighbour[]> {
    checkVector(vector, this.dimension);
    // One FT.SEARCH returns the entries with their distances, so the floor saves no read here; it keeps the contract.
    return fromFloor(await this.index.search(scope, vector, k, nowMs), floor);
  }

  async put(entries: readonly NewEntry[]): Promise<boolean[]> {
    for (const entry of entries) {
      checkVector(entry.vector, this.dimension);
      if (entry.id.length === 0) throw new RangeError("an entry id must not be empty");
    }
    for (const entry of entries) this.index.entryAdded(entry.scope.scopeKey);
    const embedding = this.definition.embedding;
    const replies: number[] = [];
    // One script per entry, so each is replaced atomically; sent PUT_WINDOW
    // at a time, so the round trips overlap without the last of a large
    // batch outwaiting its timeout behind thousands of index insertions.
    // Order is kept: within a batch, a later entry with the same id wins.
    for (let start = 0; start < entries.length; start += PUT_WINDOW) {
      const window = entries.slice(start, start + PUT_WINDOW);
      replies.push(
        ...(await Promise.all(
          window.map((entry) =>
            this.connection.script<number>(
              PUT_ENTRY,
              [entryKey(this.keyPrefix, entry.id)],
              [String(Math.trunc(entry.expiresAtMs)), ...encodeEntry(entry, embedding)],
            ),
          ),
        )),
      );
    }
    return replies.map((existed) => existed === 1);
  }

  async recordHit(id: string): Promise<number> {
    return this.connection.script<number>(RECORD_HIT, [entryKey(this.keyPrefix, id)], []);
  }

  async addObservation(id: string, observation: Observation, nowMs: number): Promise<boolean> {
    const [similarity, correct, atMs] = toObservationTuple(observation);
    const stored = await this.connection.script<number>(
      ADD_OBSERVATION,
      [entryKey(this.keyPrefix, id)],
      [String(similarity), String(correct), String(atMs), String(Math.trunc(nowMs)), String(MAX_OBSERVATIONS_PER_ENTRY)],
    );
    return stored === 1;
  }

  /**
   * PING through the store's connection (bounded by the command timeout;
   * fails at once while disconnected), and the index present (re-created
   * first when it was found missing).
   */
  async ping(): Promise<void> {
    await this.connection.command(["PING"]);
    await this.index.ready();
  }

  /** Unexpired entries, in one namespace or in all, as the index counts them. */
  async count(namespace?: string): Promise<number> {
    return this.index.count(namespace);
  }

  /**
   * Paged SCAN over the entry keys, each page's matching keys UNLINKed by a
   * script that re-checks the namespace: Redis is never blocked for more
   * than one page, and entries the index does not hold (another embedding
   * model's) go too.
   */
  async flushNamespace(namespace: string): Promise<number> {
    this.index.entriesRemoved();
    let deleted = 0;
    await this.forEachEntryPage(async (keys) => {
      deleted += await this.connection.script<number>(UNLINK_NAMESPACE, keys, [namespace]);
    });
    return deleted;
  }

  /**
   * Paged SCAN + UNLINK of every entry key, rather than FT.DROPINDEX DD:
   * DD deletes the documents in one blocking step, and leaves a window with
   * no index (searches fail) until it is recreated. The index stays, and
   * empties as its keys go.
   */
  async flushAll(): Promise<number> {
    this.index.entriesRemoved();
    let deleted = 0;
    await this.forEachEntryPage(async (keys) => {
      deleted += await this.connection.command<number>(["UNLINK", ...keys]);
    });
    return deleted;
  }

  async listRecent(namespace: string, limit: number, nowMs: number): Promise<StoredEntry[]> {
    return this.index.listRecent(namespace, limit, nowMs);
  }

  /** Closes the connection; later calls throw StoreUnavailableError. */
  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Walks the entry keys with SCAN MATCH, one page (≤ SCAN_BATCH keys, usually) at a time. */
  private async forEachEntryPage(visit: (keys: string[]) => Promise<void>): Promise<void> {
    const match = `${escapeGlob(this.entryPrefix)}*`;
    let cursor = "0";
    do {
      const reply = await this.connection.command<[string, string[]]>(["SCAN", cursor, "MATCH", match, "COUNT", String(SCAN_BATCH)]);
      cursor = String(reply[0]);
      const keys = reply[1].map(String);
      for (let i = 0; i < keys.length; i += SCAN_BATCH) await visit(keys.slice(i, i + SCAN_BATCH));
    } while (cursor !== "0");
  }
}
