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
 * Exact look-ups, hit counting and namespace flushes use plain hash commands,
 * so they keep working (and can be tested) on a Redis without the query
 * engine; only search, listRecent and counting need FT.*.
 */
import { ErrorReply } from "redis";
import { StartupError } from "../../errors/index.js";
import type { CacheStore, EntryScope, IndexParams, Neighbour, NewEntry, Observation, StoredEntry } from "../cache-store.js";
import { MAX_OBSERVATIONS_PER_ENTRY, StoreUnavailableError } from "../cache-store.js";
import { toObservationTuple } from "../observations.js";
import { RedisConnection, type StoreConnection } from "./connection.js";
import { READ_FIELDS, decodeEntry, encodeEntry, float32ToBuffer, isExpired } from "./entry-codec.js";
import { compareIndex, parseIndexInfo } from "./index-info.js";
import { buildCreateIndexArgs, type IndexDefinition } from "./index-schema.js";
import {
  DEFAULT_KEY_PREFIX,
  embeddingTag,
  entryKey,
  entryKeyPrefix,
  escapeGlob,
  idFromEntryKey,
  indexName,
} from "./naming.js";
import { ADD_OBSERVATION, COUNT_ENTRIES, PUT_ENTRY, RECORD_HIT, UNLINK_NAMESPACE } from "./scripts.js";
import {
  DISTANCE_FIELD,
  buildDimensionProbeArgs,
  buildKnnSearchArgs,
  buildNamespaceCountArgs,
  buildRecentArgs,
  overfetch,
} from "./search-query.js";
import { parseSearchReply } from "./search-reply.js";

/** What the store refuses to start with, in so many words. */
export const NO_QUERY_ENGINE_MESSAGE = "this Redis has no query engine: use redis/redis-stack-server or Redis 8";

/** Keys per SCAN page and per UNLINK batch when walking the entries. */
const SCAN_BATCH = 500;
/** Entry writes in flight at once during one put. */
const PUT_WINDOW = 64;

/** Settings of the Redis store. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...`. */
  readonly url: string;
  /** Prefix of every key the store writes; default "semcache:". */
  readonly keyPrefix?: string;
  /** The embedding model's id; names the index, so a model change never mixes vectors. */
  readonly modelId: string;
  /** Floats per embedding. */
  readonly dimension: number;
  /** HNSW parameters for a new index (M, EF_CONSTRUCTION, EF_RUNTIME). */
  readonly index: IndexParams;
  /** Upper bound on one command, from call to answer; default 1000 ms. */
  readonly commandTimeoutMs?: number;
  /** Upper bound on one connection attempt; default 2000 ms. */
  readonly connectTimeoutMs?: number;
  /** How long startup waits for an unreachable Redis; default 10000 ms. */
  readonly startupTimeoutMs?: number;
  /** Cap of the reconnection backoff; default 2000 ms. */
  readonly maxReconnectDelayMs?: number;
  /** Connection errors, once per outage (default: console.error). Never let it throw. */
  readonly onError?: (error: Error) => void;
  /** Non-fatal findings, e.g. an existing index built with other HNSW settings (default: console.warn). */
  readonly onWarning?: (message: string) => void;
  /**
   * TESTS ONLY, never in production. `false` lets the store start on a Redis
   * without the query engine, with search, listRecent and index management
   * switched off (they throw), so the parts that need no FT.* can be tested
   * against a plain redis-server. Default true.
   */
  readonly requireQueryEngine?: boolean;
}

/** Thrown by `openRedisStore` when Redis is reachable but unfit (no query engine, an incompatible index). */
export class RedisStoreStartupError extends StartupError {
  override readonly name = "RedisStoreStartupError";
}

/**
 * Connects to Redis, checks for the query engine, and creates or verifies the
 * vector index. Throws StoreUnavailableError when Redis cannot be reached
 * within `startupTimeoutMs`, RedisStoreStartupError when it is unfit.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  // Bad settings are reported before any connection attempt.
  checkOptions(options, options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  const connection = await RedisConnection.open({
    url: options.url,
    commandTimeoutMs: options.commandTimeoutMs ?? 1000,
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    startupTimeoutMs: options.startupTimeoutMs ?? 10_000,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 2000,
    onError: options.onError ?? ((error: Error) => console.error(`semcache redis store: ${error.message}`)),
  });
  return initRedisStore(connection, options);
}

/**
 * The startup checks on an open connection: credentials, query engine,
 * index. Closes the connection when they fail. Exported for tests, which
 * pass a connection with canned replies; the server uses openRedisStore.
 */
export async function initRedisStore(
  connection: StoreConnection,
  options: Omit<RedisStoreOptions, "url">,
): Promise<RedisStore> {
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const onWarning = options.onWarning ?? ((message: string) => console.warn(`semcache redis store: ${message}`));
  try {
    checkOptions(options, keyPrefix);
    const definition: IndexDefinition = {
      name: indexName(keyPrefix, options.modelId, options.dimension),
      prefix: entryKeyPrefix(keyPrefix),
      embedding: embeddingTag(options.modelId, options.dimension),
      dimension: options.dimension,
      params: options.index,
    };
    // Checks the credentials too: without AUTH, Redis still answers
    // "unknown command" to FT._LIST, which would read as "no query engine".
    await connection.command(["PING"]);
    const indexes = await listIndexes(connection);
    if (indexes === undefined) {
      if (options.requireQueryEngine !== false) {
        throw new RedisStoreStartupError(`${NO_QUERY_ENGINE_MESSAGE} (${connection.safeUrl})`);
      }
      return new RedisStore(connection, keyPrefix, definition, options.index, false);
    }
    const actual = await ensureIndex(connection, definition, indexes.includes(definition.name), onWarning);
    const params: IndexParams = {
      m: actual.m ?? options.index.m,
      efConstruction: actual.efConstruction ?? options.index.efConstruction,
      efSearch: options.index.efSearch,
    };
    return new RedisStore(connection, keyPrefix, definition, params, true);
  } catch (error) {
    await connection.close();
    throw error;
  }
}

function checkOptions(options: Omit<RedisStoreOptions, "url">, keyPrefix: string): void {
  if (!Number.isSafeInteger(options.dimension) || options.dimension < 1) {
    throw new RangeError(`dimension must be a whole number of at least 1 (got ${options.dimension})`);
  }
  if (keyPrefix.length === 0) throw new RangeError("keyPrefix must not be empty");
  if (options.modelId.length === 0) throw new RangeError("modelId must not be empty");
  // Builds (and so validates) the index arguments before anything touches Redis.
  buildCreateIndexArgs({
    name: "check",
    prefix: entryKeyPrefix(keyPrefix),
    embedding: embeddingTag(options.modelId, options.dimension),
    dimension: options.dimension,
    params: options.index,
  });
}

/**
 * The names of the existing indexes, or undefined when the server has no
 * query engine. FT._LIST rather than MODULE LIST: Redis 8 has the engine
 * built in and lists no module for it.
 */
async function listIndexes(connection: StoreConnection): Promise<string[] | undefined> {
  try {
    const reply = await connection.command<unknown>(["FT._LIST"]);
    return Array.isArray(reply) ? reply.map((name) => String(name)) : [];
  } catch (error) {
    if (error instanceof ErrorReply && /unknown command/iu.test(error.message)) return undefined;
    throw error;
  }
}

// FT.CREATE only registers the index (existing keys are indexed in the
// background), but a busy server may take a moment: not worth a failed start.
const ADMIN_TIMEOUT_MS = 10_000;

async function ensureIndex(
  connection: StoreConnection,
  def: IndexDefinition,
  exists: boolean,
  onWarning: (message: string) => void,
): Promise<{ m?: number; efConstruction?: number }> {
  if (!exists) {
    try {
      await connection.command(buildCreateIndexArgs(def), { timeoutMs: ADMIN_TIMEOUT_MS });
    } catch (error) {
      if (!(error instanceof ErrorReply)) throw error;
      // Another instance created it first: verify theirs like any existing index.
      if (!/already exists/iu.test(error.message)) {
        throw new RedisStoreStartupError(
          `FT.CREATE ${def.name} failed on ${connection.safeUrl}: ${error.message} ` +
            `(the store needs RediSearch 2.6 or later: Redis Stack 6.2.6+ or Redis 8)`,
        );
      }
    }
  }
  const info = parseIndexInfo(await connection.command(["FT.INFO", def.name], { timeoutMs: ADMIN_TIMEOUT_MS }));
  const comparison = compareIndex(info, def);
  const problems = [...comparison.problems];
  if (problems.length === 0 && !comparison.vectorDetailsReported) {
    // RediSearch 2.6 does not describe vector fields in FT.INFO: a query with
    // a vector of the expected length fails if the index's dimension differs.
    try {
      await connection.command(buildDimensionProbeArgs(def.name, float32ToBuffer(unitVector(def.dimension))), {
        timeoutMs: ADMIN_TIMEOUT_MS,
      });
    } catch (error) {
      if (!(error instanceof ErrorReply)) throw error;
      problems.push(`it rejects ${def.dimension}-dimensional query vectors (${error.message})`);
    }
  }
  if (problems.length > 0) throw startupError(connection, def, problems);
  for (const warning of comparison.warnings) {
    onWarning(`index ${def.name}: ${warning}; drop it (FT.DROPINDEX ${def.name}) to rebuild with the configured settings`);
  }
  return comparison.actual;
}

function startupError(connection: StoreConnection, def: IndexDefinition, problems: readonly string[]): RedisStoreStartupError {
  return new RedisStoreStartupError(
    `the index ${def.name} on ${connection.safeUrl} is not the one this store needs: ${problems.join("; ")}. ` +
      `It is never reused as it is: drop it with FT.DROPINDEX ${def.name} (entries are kept and re-indexed), ` +
      `or use another key prefix.`,
  );
}

function unitVector(dimension: number): Float32Array {
  const v = new Float32Array(dimension);
  v[0] = 1;
  return v;
}

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
    /** False only when started with `requireQueryEngine: false` on a Redis without FT.*. */
    readonly searchEnabled: boolean,
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
    return entry === undefined || isExpired(entry.expiresAtMs, nowMs) ? undefined : entry;
  }

  async search(scope: EntryScope, vector: Float32Array, k: number, nowMs: number): Promise<Neighbour[]> {
    this.requireSearch("search");
    this.checkVector(vector);
    if (k < 1) return [];
    const reply = await this.connection.command(
      buildKnnSearchArgs({
        index: this.indexName,
        namespace: scope.namespace,
        scopeKey: scope.scopeKey,
        vector: float32ToBuffer(vector),
        k: overfetch(k),
      }),
    );
    const neighbours: Neighbour[] = [];
    for (const doc of parseSearchReply(reply).documents) {
      const id = idFromEntryKey(this.keyPrefix, doc.key);
      const entry = id === undefined ? undefined : decodeEntry(id, doc.fields);
      const distance = Number(doc.fields.get(DISTANCE_FIELD));
      if (entry === undefined || !Number.isFinite(distance) || isExpired(entry.expiresAtMs, nowMs)) continue;
      // The TAG filter already did this; checking again costs nothing and
      // keeps a scope boundary from ever depending on query escaping alone.
      if (entry.scope.scopeKey !== scope.scopeKey || entry.scope.namespace !== scope.namespace) continue;
      neighbours.push({ entry, similarity: Math.max(-1, Math.min(1, 1 - distance)) });
    }
    neighbours.sort((a, b) => b.similarity - a.similarity);
    return neighbours.slice(0, k);
  }

  async put(entries: readonly NewEntry[]): Promise<boolean[]> {
    for (const entry of entries) {
      this.checkVector(entry.vector);
      if (entry.id.length === 0) throw new RangeError("an entry id must not be empty");
    }
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

  /** PING through the store's connection (bounded by the command timeout; fails at once while disconnected). */
  async ping(): Promise<void> {
    await this.connection.command(["PING"]);
  }

  /**
   * With the query engine: FT.SEARCH `@ns:{..}` LIMIT 0 0 for a namespace,
   * FT.INFO num_docs for all (both O(1)-ish and exact for indexed entries).
   * Without it (tests only): a SCAN over the entry keys.
   */
  async count(namespace?: string): Promise<number> {
    if (!this.searchEnabled) return this.scanCount(namespace);
    if (namespace !== undefined) {
      return parseSearchReply(await this.connection.command(buildNamespaceCountArgs(this.indexName, namespace))).total;
    }
    return parseIndexInfo(await this.connection.command(["FT.INFO", this.indexName])).numDocs ?? 0;
  }

  /**
   * Paged SCAN over the entry keys, each page's matching keys UNLINKed by a
   * script that re-checks the namespace: Redis is never blocked for more
   * than one page, and entries the index does not hold (another embedding
   * model's) go too.
   */
  async flushNamespace(namespace: string): Promise<number> {
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
    let deleted = 0;
    await this.forEachEntryPage(async (keys) => {
      deleted += await this.connection.command<number>(["UNLINK", ...keys]);
    });
    return deleted;
  }

  async listRecent(namespace: string, limit: number, nowMs: number): Promise<StoredEntry[]> {
    this.requireSearch("listRecent");
    if (limit < 1) return [];
    const reply = await this.connection.command(buildRecentArgs(this.indexName, namespace, overfetch(limit)));
    const out: StoredEntry[] = [];
    for (const doc of parseSearchReply(reply).documents) {
      const id = idFromEntryKey(this.keyPrefix, doc.key);
      const entry = id === undefined ? undefined : decodeEntry(id, doc.fields);
      if (entry === undefined || isExpired(entry.expiresAtMs, nowMs) || entry.scope.namespace !== namespace) continue;
      out.push(entry);
    }
    out.sort((a, b) => b.createdAtMs - a.createdAtMs);
    return out.slice(0, limit);
  }

  /** Closes the connection; later calls throw StoreUnavailableError. */
  async close(): Promise<void> {
    await this.connection.close();
  }

  private async scanCount(namespace: string | undefined): Promise<number> {
    let count = 0;
    await this.forEachEntryPage(async (keys) => {
      count += await this.connection.script<number>(COUNT_ENTRIES, keys, namespace === undefined ? [] : [namespace]);
    });
    return count;
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

  private requireSearch(operation: string): void {
    if (!this.searchEnabled) {
      throw new StoreUnavailableError(`${operation} needs the Redis query engine; this store was opened with requireQueryEngine: false`);
    }
  }

  private checkVector(vector: Float32Array): void {
    if (vector.length !== this.dimension) {
      throw new RangeError(`expected a ${this.dimension}-dimensional vector, got ${vector.length}`);
    }
  }
}
