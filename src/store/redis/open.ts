/**
 * Opening the Redis store: settings checked, connection made, the query
 * engine required, the index created or verified.
 */
import type { Logger } from "../../observability/logger.js";
import type { IndexParams } from "../cache-store.js";
import { storeLogger } from "../store-logger.js";
import { RedisConnection, type StoreConnection } from "./connection.js";
import { ensureIndex, listIndexes } from "./index-setup.js";
import { buildCreateIndexArgs, type IndexDefinition } from "./index-schema.js";
import { DEFAULT_KEY_PREFIX, embeddingTag, entryKeyPrefix, indexName } from "./naming.js";
import { RedisStore } from "./redis-store.js";
import { SearchIndex } from "./search-index.js";
import { NO_QUERY_ENGINE_MESSAGE, RedisStoreStartupError } from "./startup-error.js";

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
  /**
   * Where what no caller can be told goes: connection errors (once per
   * outage), the index re-created, an existing index built with other HNSW
   * settings. Default: the project logger on stderr.
   */
  readonly logger?: Logger;
}

/**
 * Connects to Redis, checks for the query engine, and creates or verifies the
 * vector index. Throws StoreUnavailableError when Redis cannot be reached
 * within `startupTimeoutMs`, RedisStoreStartupError when it is unfit.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  return initRedisStore(await connectRedis(options), options);
}

/**
 * The connection alone, with the options' defaults: what `openRedisStore`
 * starts from. Checks the settings before any connection attempt.
 */
export async function connectRedis(options: RedisStoreOptions): Promise<RedisConnection> {
  const definition = indexDefinition(options);
  const logger = options.logger ?? storeLogger();
  return RedisConnection.open({
    url: options.url,
    commandTimeoutMs: options.commandTimeoutMs ?? 1000,
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    startupTimeoutMs: options.startupTimeoutMs ?? 10_000,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 2000,
    onError: (error: Error) => logger.warn({ err: error, index: definition.name }, `redis store: connection error: ${error.message}`),
  });
}

/**
 * The startup checks on an open connection: credentials, query engine,
 * index. Closes the connection when they fail. Exported for tests, which
 * pass a connection with canned replies; the server uses openRedisStore.
 */
export async function initRedisStore(connection: StoreConnection, options: Omit<RedisStoreOptions, "url">): Promise<RedisStore> {
  const logger = options.logger ?? storeLogger();
  try {
    const definition = indexDefinition(options);
    // Checks the credentials too: without AUTH, Redis still answers
    // "unknown command" to FT._LIST, which would read as "no query engine".
    await connection.command(["PING"]);
    const indexes = await listIndexes(connection);
    if (indexes === undefined) throw new RedisStoreStartupError(`${NO_QUERY_ENGINE_MESSAGE} (${connection.safeUrl})`);
    const actual = await ensureIndex(connection, definition, indexes.includes(definition.name), (message) =>
      logger.warn({ index: definition.name }, `redis store: ${message}`),
    );
    const params: IndexParams = {
      m: actual.m ?? options.index.m,
      efConstruction: actual.efConstruction ?? options.index.efConstruction,
      efSearch: options.index.efSearch,
    };
    const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    return new RedisStore(connection, keyPrefix, definition, params, new SearchIndex(connection, keyPrefix, definition, params, logger));
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/**
 * The index the options call for (named after the key prefix, model and
 * dimension). Throws RangeError for settings no index can have.
 */
export function indexDefinition(options: Omit<RedisStoreOptions, "url">): IndexDefinition {
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (!Number.isSafeInteger(options.dimension) || options.dimension < 1) {
    throw new RangeError(`dimension must be a whole number of at least 1 (got ${options.dimension})`);
  }
  if (keyPrefix.length === 0) throw new RangeError("keyPrefix must not be empty");
  if (options.modelId.length === 0) throw new RangeError("modelId must not be empty");
  const definition: IndexDefinition = {
    name: indexName(keyPrefix, options.modelId, options.dimension),
    prefix: entryKeyPrefix(keyPrefix),
    embedding: embeddingTag(options.modelId, options.dimension),
    dimension: options.dimension,
    params: options.index,
  };
  // Builds (and so validates) the index arguments before anything touches Redis.
  buildCreateIndexArgs(definition);
  return definition;
}
