/**
 * An in-process semcache server whose store is the Redis store on a plain
 * redis-server (no query engine), wired the way src/app/start-server.ts
 * wires a server (Ask layer from the configuration, health, reflection), but
 * with its own `loadCache`: the production loader refuses a Redis without
 * FT.*, and only a test may open the store with `requireQueryEngine: false`.
 *
 * What that store can and cannot do (and so what a test can assert): the
 * exact layer (a hash read by id), Store, hit counting, Flush and Stats'
 * entry count (a SCAN) work; the semantic layer's KNN search always throws
 * StoreUnavailableError. So a Lookup that is not an exact hit is UNAVAILABLE
 * even while Redis is up, and an Ask that misses the exact layer counts a
 * cache error and fails open to the LLM (its answer is still stored, and the
 * same prompt is an exact hit afterwards).
 */
import { rmSync } from "node:fs";
import { askLayerFromConfig } from "../../../src/ask/index.js";
import { embedderOptionsOf } from "../../../src/app/load-cache.js";
import { indexParamsOf } from "../../../src/app/open-store.js";
import { guardFromSetting } from "../../../src/cache/guard/index.js";
import { SemanticCache } from "../../../src/cache/semantic-cache.js";
import { loadConfig } from "../../../src/config/load-config.js";
import type { ServerConfig } from "../../../src/config/settings.js";
import { loadOnnxEmbedder } from "../../../src/embedder/load.js";
import { cacheHealthSource, registerHealthService, type HealthServiceHandle } from "../../../src/server/health/index.js";
import { createLogger, type Logger } from "../../../src/server/logger.js";
import { registerReflectionService } from "../../../src/server/reflection/index.js";
import { startSemcacheServer, type SemcacheServer } from "../../../src/server/semcache-server.js";
import { openRedisStore } from "../../../src/store/redis/index.js";
import { tempDir, testEnv } from "../../support/test-server.js";

/** What the server is started with. */
export interface RedisSemcacheOptions {
  /** The plain redis-server. */
  readonly redisUrl: string;
  /** Prefix of every key; unique per test so runs never see each other's entries. */
  readonly keyPrefix: string;
  /** SEMCACHE_* settings on top of the test defaults (the LLM, timeouts, log level). */
  readonly env?: Record<string, string>;
}

/** A running server over Redis. */
export interface RedisSemcache {
  readonly server: SemcacheServer;
  readonly config: ServerConfig;
  readonly url: string;
  readonly health: HealthServiceHandle;
  /** Graceful shutdown (health NOT_SERVING first, as start-server.ts does). */
  stop(): Promise<void>;
}

/** Loads the model and opens the Redis store with the query-engine check off; the rest as loadSemanticCache does. */
async function loadRedisCache(config: ServerConfig, options: RedisSemcacheOptions, logger: Logger): Promise<SemanticCache> {
  const embedder = await loadOnnxEmbedder(embedderOptionsOf(config));
  try {
    const store = await openRedisStore({
      url: options.redisUrl,
      keyPrefix: options.keyPrefix,
      modelId: embedder.modelId,
      dimension: embedder.dimension,
      index: indexParamsOf(config),
      // TESTS ONLY: plain Redis has no FT.*; search throws StoreUnavailableError instead.
      requireQueryEngine: false,
      onError: (error: unknown) => logger.warn({ err: error }, "redis connection error"),
      onWarning: (message: string) => logger.warn(message),
    });
    return new SemanticCache(store, embedder, {
      defaultThreshold: config.threshold,
      defaultTtlSeconds: config.defaultTtlSeconds,
      maxPromptBytes: config.maxPromptBytes,
      maxResponseBytes: config.maxResponseBytes,
      maxMetadataEntries: config.maxMetadataEntries,
      maxMetadataBytes: config.maxMetadataBytes,
      guard: guardFromSetting(config.guard),
    });
  } catch (error) {
    await embedder.close();
    throw error;
  }
}

/** Starts the server on a free loopback port and waits until the model and the store are loaded. */
export async function startRedisSemcache(options: RedisSemcacheOptions): Promise<RedisSemcache> {
  // Only for the configuration's sake: nothing is written there with a Redis store.
  const dir = tempDir("semcache-redis-");
  const config = loadConfig({ env: await testEnv(dir, options.env), argv: [], cwd: dir });
  const logger = createLogger(config.logLevel);
  let health: HealthServiceHandle | undefined;
  const server = await startSemcacheServer({
    host: config.host,
    port: config.port,
    corsOrigins: config.corsOrigins,
    maxMessageBytes: config.maxMessageBytes,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    logger,
    loadCache: () => loadRedisCache(config, options, logger),
    ask: askLayerFromConfig(config, logger),
    extendRoutes: (router, _service, cache) => {
      // Production probe settings (1 s probe timeout, results reused for 2 s).
      health = registerHealthService(router, cacheHealthSource(cache));
      registerReflectionService(router);
    },
  });
  try {
    await server.ready;
  } catch (error) {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const handle = health;
  if (handle === undefined) throw new Error("the health service was not registered");
  return {
    server,
    config,
    url: server.url,
    health: handle,
    async stop() {
      handle.shutdown();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
