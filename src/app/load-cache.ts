import { resolve } from "node:path";
import { tokensSavedOnHit } from "../ask/answer-metadata.js";
import type { SharedCounters } from "../cache/counters.js";
import { createMatchGuard } from "../cache/guard/index.js";
import { SemanticCache, type CacheObserver } from "../cache/semantic-cache.js";
import type { ServerConfig } from "../config/settings.js";
import type { EmbedderObserver } from "../embedder/embedder.js";
import { loadOnnxEmbedder, type LoadOnnxEmbedderOptions } from "../embedder/load.js";
import type { Logger } from "../observability/logger.js";
import { LoadProgress } from "./load-progress.js";
import { openStore, type StoreOpener } from "./open-store.js";

/** The embedder options the configuration asks for (model source and tuning). */
export function embedderOptionsOf(config: ServerConfig): LoadOnnxEmbedderOptions {
  return {
    ...(config.modelDir === undefined ? {} : { modelDir: resolve(config.modelDir) }),
    cacheDir: config.modelCacheDir,
    downloadBaseUrl: config.modelBaseUrl,
    workers: config.embedWorkers,
    nice: config.embedNice,
    ...(config.embedThreads === undefined ? {} : { threads: config.embedThreads }),
    maxBatchSize: config.embedMaxBatch,
    maxBatchWaitMs: config.embedMaxWaitMs,
  };
}

/** Hooks (metrics, a fleet's counters) the loaded parts report to. */
export interface CacheObservers {
  readonly cache?: CacheObserver;
  readonly embedder?: EmbedderObserver;
  /** A fleet's counters (src/fleet): told every count, and what Stats answers with. */
  readonly sharedCounters?: SharedCounters;
}

/**
 * Loads the embedding model (downloading it on first use when no model
 * directory is set), opens the store, and assembles the cache core, which
 * owns both from then on (its `close` releases them). `progress` hears
 * each step (and the download), for the log and /healthz.
 */
export async function loadSemanticCache(
  config: ServerConfig,
  logger: Logger,
  open: StoreOpener = openStore,
  observers: CacheObservers = {},
  progress: LoadProgress = new LoadProgress(logger),
): Promise<SemanticCache> {
  const started = Date.now();
  const embedder = await loadOnnxEmbedder({ ...embedderOptionsOf(config), onDownloadProgress: progress.onDownload }).catch((error: unknown) => {
    progress.finish();
    throw error;
  });
  progress.step("opening store");
  embedder.observer = observers.embedder;
  logger.info({ model: embedder.modelId, dimension: embedder.dimension, ms: Date.now() - started }, "model loaded");
  try {
    const store = await open(config, embedder, logger).finally(() => progress.finish());
    logger.info({ store: store.kind, ms: Date.now() - started }, "store open");
    return new SemanticCache(store, embedder, {
      defaultThreshold: config.threshold,
      defaultTtlSeconds: config.defaultTtlSeconds,
      maxPromptBytes: config.maxPromptBytes,
      maxResponseBytes: config.maxResponseBytes,
      maxMetadataEntries: config.maxMetadataEntries,
      maxMetadataBytes: config.maxMetadataBytes,
      // "off" turns the heuristic checks off, never the identity rule (cache/guard).
      guard: createMatchGuard(config.guard, embedder),
      observer: observers.cache,
      ...(observers.sharedCounters === undefined ? {} : { sharedCounters: observers.sharedCounters }),
      // What a hit saved is Ask's knowledge (its answer metadata), not the core's.
      tokensSavedOnHit,
      ...(config.maxErrorRate === undefined ? {} : { maxErrorRate: config.maxErrorRate }),
      answerMatch: config.answerMatch,
      recentEmbeddings: config.embedMemoEntries,
    });
  } catch (error) {
    await embedder.close();
    throw error;
  }
}
