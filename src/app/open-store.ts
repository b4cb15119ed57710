import { resolve } from "node:path";
import type { ServerConfig } from "../config/settings.js";
import type { Embedder } from "../embedder/embedder.js";
import type { Logger } from "../observability/logger.js";
import type { CacheStore, IndexParams } from "../store/cache-store.js";
import { openEmbeddedStore } from "../store/embedded/index.js";
import { openRedisStore } from "../store/redis/index.js";

/** The HNSW parameters the configuration asks for. */
export function indexParamsOf(config: ServerConfig): IndexParams {
  return { m: config.hnswM, efConstruction: config.hnswEfConstruction, efSearch: config.hnswEfSearch };
}

/** Opens a cache store for a loaded embedder; `openStore` is the one production uses. */
export type StoreOpener = (config: ServerConfig, embedder: Embedder, logger: Logger) => Promise<CacheStore>;

/** Opens the store the configuration selects: Redis when a URL is set, the embedded store otherwise. */
export function openStore(config: ServerConfig, embedder: Embedder, logger: Logger): Promise<CacheStore> {
  const index = indexParamsOf(config);
  if (config.redisUrl !== undefined) {
    return openRedisStore({
      url: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      modelId: embedder.modelId,
      dimension: embedder.dimension,
      index,
      logger,
    });
  }
  const dataDir = resolve(config.dataDir);
  return openEmbeddedStore({
    dataDir,
    modelId: embedder.modelId,
    dimension: embedder.dimension,
    index,
    maxScopesPerNamespace: config.maxScopesPerNamespace,
    logger,
  });
}
