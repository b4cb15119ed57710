/**
 * The store opener of the fleet tests' replicas: the production Redis store
 * (SEMCACHE_REDIS_URL, SEMCACHE_REDIS_KEY_PREFIX) on a plain redis-server,
 * which has no query engine. The one place these tests switch the
 * production refusal off, and only here, in a test: the store's search then
 * throws StoreUnavailableError, so an Ask that misses the exact layer counts
 * a cache error and fails open to the LLM (its answer is still stored, and
 * found by exact key by every replica).
 */
import { indexParamsOf, type StoreOpener } from "../../../src/app/open-store.js";
import { openRedisStore } from "../../../src/store/redis/index.js";

/** Opens the Redis store of the configuration without requiring FT.*. */
export const plainRedisStoreOpener: StoreOpener = (config, embedder, logger) => {
  if (config.redisUrl === undefined) throw new Error("the fleet tests' replicas need SEMCACHE_REDIS_URL");
  return openRedisStore({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    modelId: embedder.modelId,
    dimension: embedder.dimension,
    index: indexParamsOf(config),
    // TESTS ONLY: plain Redis has no FT.*.
    requireQueryEngine: false,
    onError: (error: unknown) => logger.warn({ err: error }, "redis connection error"),
    onWarning: (message: string) => logger.warn(message),
  });
};
