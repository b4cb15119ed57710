/**
 * The store opener of the fleet tests' replicas: the production Redis store
 * (SEMCACHE_REDIS_URL, SEMCACHE_REDIS_KEY_PREFIX) over a plain redis-server,
 * which has no query engine (test/support/plain-redis-store.ts). The store's
 * search then throws StoreUnavailableError, so an Ask that misses the exact
 * layer counts a cache error and fails open to the LLM (its answer is still
 * stored, and found by exact key by every replica).
 */
import { indexParamsOf, type StoreOpener } from "../../../src/app/open-store.js";
import { openPlainRedisStore } from "../../support/plain-redis-store.js";

/** Opens the Redis store of the configuration on a Redis without FT.*. */
export const plainRedisStoreOpener: StoreOpener = (config, embedder, logger) => {
  if (config.redisUrl === undefined) throw new Error("the fleet tests' replicas need SEMCACHE_REDIS_URL");
  return openPlainRedisStore({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    modelId: embedder.modelId,
    dimension: embedder.dimension,
    index: indexParamsOf(config),
    logger,
  });
};
