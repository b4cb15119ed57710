/**
 * An in-process semcache server whose store is the Redis store on a plain
 * redis-server (no query engine): the production composition
 * (startServerFromConfig) with its own store opener, because the production
 * one refuses a Redis without FT.*: the store is opened by
 * test/support/plain-redis-store.ts instead.
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
import { startServerFromConfig, type ConfiguredServer } from "../../../src/app/start-server.js";
import { indexParamsOf } from "../../../src/app/open-store.js";
import { loadConfig } from "../../../src/config/load-config.js";
import type { ServerConfig } from "../../../src/config/settings.js";
import { createLogger } from "../../../src/observability/logger.js";
import { openPlainRedisStore } from "../../support/plain-redis-store.js";
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
  readonly server: ConfiguredServer;
  readonly config: ServerConfig;
  readonly url: string;
  /** Graceful shutdown. */
  stop(): Promise<void>;
}

/** Starts the server on a free loopback port and waits until the model and the store are loaded. */
export async function startRedisSemcache(options: RedisSemcacheOptions): Promise<RedisSemcache> {
  // Only for the configuration's sake: nothing is written there with a Redis store.
  const dir = tempDir("semcache-redis-");
  const config = loadConfig({ env: await testEnv(dir, options.env), argv: [], cwd: dir });
  const server = await startServerFromConfig(config, createLogger(config.logLevel), {
    openStore: (_config, embedder, logger) =>
      openPlainRedisStore({
        url: options.redisUrl,
        keyPrefix: options.keyPrefix,
        modelId: embedder.modelId,
        dimension: embedder.dimension,
        index: indexParamsOf(config),
        logger,
      }),
  });
  try {
    await server.ready;
  } catch (error) {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    server,
    config,
    url: server.url,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
