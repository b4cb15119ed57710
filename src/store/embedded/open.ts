/**
 * Opening the embedded store: settings checked, data directory prepared,
 * SQLite opened, the per-scope vector indexes loaded.
 */
import type { Logger } from "../../observability/logger.js";
import type { IndexParams } from "../cache-store.js";
import { DEFAULT_EXACT_SCOPE_LIMIT } from "../recall.js";
import { storeLogger } from "../store-logger.js";
import { prepareDataDir } from "./data-dir.js";
import { EmbeddedStore } from "./embedded-store.js";
import { workerGraphBuilder } from "./graph-build.js";
import { loadScopeIndexes } from "./index-loader.js";
import type { RebuildReason } from "./layered-graph.js";
import { ScopeIndexes } from "./scope-indexes.js";
import { SqliteEntries } from "./sqlite-entries.js";

/** What the log says when a scope's graph is rebuilt while serving, by reason (see LayeredGraph.rebuildReason). */
const REBUILD_LOG: Record<RebuildReason, string> = {
  hollow: "most of a scope's memory-mapped graph was removed (expired, replaced or evicted); rebuilding it from the live rows in the background",
  outgrown: "a scope's in-memory graph outgrew its memory-mapped one; merging them into one graph in the background",
  slowed: "searching a scope's two graphs has cost as much as merging them would; merging them into one graph in the background",
};

/** HNSW parameters used when none are given. */
export const DEFAULT_INDEX_PARAMS: IndexParams = { m: 16, efConstruction: 200, efSearch: 64 };

/** Options of {@link openEmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /** Directory of the database and index snapshots; created if missing. */
  readonly dataDir: string;
  /** The embedder's model id; a data directory only ever holds one model's vectors. */
  readonly modelId: string;
  /** Length of the embedder's vectors. */
  readonly dimension: number;
  /** HNSW parameters; missing fields take {@link DEFAULT_INDEX_PARAMS}. */
  readonly index?: Partial<IndexParams>;
  /** Milliseconds between purges of expired entries (default 60 000; 0: no timer). */
  readonly purgeIntervalMs?: number;
  /** Milliseconds between writes of accumulated hit counts (default 1 000; 0: only with puts and at close). */
  readonly hitFlushIntervalMs?: number;
  /**
   * Threads for inserting a batch into an HNSW index (bulk puts, rebuilds at
   * open); 0: every core. Default 1: parallel construction is not
   * deterministic and leaves a few vectors per thousand unreachable on hard
   * data; on a 2-core host it was no faster.
   */
  readonly insertThreads?: number;
  /**
   * Scopes with at most this many vectors are searched exactly (a flat
   * array, brute-force cosine) instead of through HNSW; default
   * {@link DEFAULT_EXACT_SCOPE_LIMIT}.
   */
  readonly exactScopeLimit?: number;
  /**
   * Save HNSW graphs at close so the next open need not rebuild them (default
   * true; false deletes old ones at close). Snapshots found at open are used
   * whenever they match the database.
   */
  readonly snapshots?: boolean;
  /**
   * A scope whose graph would need more than this many vectors inserted at
   * open (no usable snapshot, e.g. after a crash) opens for exact search at
   * once and gets its graph built on a worker thread, then switches to it.
   * Default: the exact scope limit, so no open rebuilds more than that on
   * the event loop.
   */
  readonly backgroundRebuildAbove?: number;
  /** Clock for the purge, `count` and replace decisions (default Date.now). */
  readonly now?: () => number;
  /**
   * Where what no caller can be told goes: failures of background work
   * (purge, hit flush, snapshots) and the data directory found deleted or
   * replaced (reported once), as errors. Default: the project logger on
   * stderr.
   */
  readonly logger?: Logger;
  /**
   * Milliseconds between checks that the data directory and its database are
   * still the ones opened (default 1 000; 0: only at writes and pings, which
   * always check).
   */
  readonly dataDirCheckIntervalMs?: number;
  /**
   * Most scopes (distinct model and params) one namespace may hold; a put
   * that would open one more fails with RESOURCE_EXHAUSTED. Default
   * {@link DEFAULT_MAX_SCOPES_PER_NAMESPACE}; 0: no limit.
   */
  readonly maxScopesPerNamespace?: number;
}

/**
 * Default bound on scopes per namespace: far above what an application uses
 * (one per model and system prompt / parameter set), while 10,000 small
 * scopes cost only a few tens of MB (about 2 KB each beyond their entries).
 */
export const DEFAULT_MAX_SCOPES_PER_NAMESPACE = 10_000;

/**
 * Opens the embedded store in `options.dataDir`: SQLite for durability, one
 * in-memory vector index per scope, loaded before this resolves.
 *
 * Rejects, with the path in the message, when the directory cannot be
 * created or written, is in use by another process, or holds vectors of
 * another embedding model or dimension.
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const params: IndexParams = { ...DEFAULT_INDEX_PARAMS, ...definedOnly(options.index ?? {}) };
  checkPositiveInteger("dimension", options.dimension);
  checkPositiveInteger("index.m", params.m);
  checkPositiveInteger("index.efConstruction", params.efConstruction);
  checkPositiveInteger("index.efSearch", params.efSearch);
  const exactLimit = options.exactScopeLimit ?? DEFAULT_EXACT_SCOPE_LIMIT;
  if (!Number.isInteger(exactLimit) || exactLimit < 0) throw new RangeError(`exactScopeLimit must be an integer ≥ 0 (got ${exactLimit})`);
  const rebuildAbove = options.backgroundRebuildAbove ?? exactLimit;
  if (!(rebuildAbove >= 0) || (!Number.isInteger(rebuildAbove) && rebuildAbove !== Infinity)) {
    throw new RangeError(`backgroundRebuildAbove must be an integer ≥ 0 or Infinity (got ${rebuildAbove})`);
  }
  const insertThreads = options.insertThreads ?? 1;
  if (!Number.isInteger(insertThreads) || insertThreads < 0) throw new RangeError(`insertThreads must be an integer ≥ 0 (got ${insertThreads})`);

  const purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
  const hitFlushIntervalMs = options.hitFlushIntervalMs ?? 1_000;
  checkInterval("purgeIntervalMs", purgeIntervalMs);
  checkInterval("hitFlushIntervalMs", hitFlushIntervalMs);
  const dataDirCheckIntervalMs = options.dataDirCheckIntervalMs ?? 1_000;
  checkInterval("dataDirCheckIntervalMs", dataDirCheckIntervalMs);
  const maxScopesPerNamespace = options.maxScopesPerNamespace ?? DEFAULT_MAX_SCOPES_PER_NAMESPACE;
  if (!Number.isSafeInteger(maxScopesPerNamespace) || maxScopesPerNamespace < 0) {
    throw new RangeError(`maxScopesPerNamespace must be a whole number ≥ 0 (got ${maxScopesPerNamespace})`);
  }

  const logger = options.logger ?? storeLogger();
  const dataDir = prepareDataDir(options.dataDir);
  const identity = { modelId: options.modelId, dimension: options.dimension };
  const entries = SqliteEntries.open(dataDir, identity);
  try {
    const snapshotIdentity = { ...identity, m: params.m, efConstruction: params.efConstruction };
    const snapshots = options.snapshots ?? true;
    const indexes = new ScopeIndexes(options.dimension, params, exactLimit, insertThreads);
    const report = await loadScopeIndexes(entries, indexes, dataDir, snapshotIdentity, rebuildAbove);
    // Loaded: from now on a scope outgrowing exact search builds its graph without stalling requests.
    indexes.promoteInBackground = true;
    indexes.onBuildError = (error) => logger.error({ err: error, dataDir }, `embedded store: background graph build failed, building on the event loop instead: ${String(error)}`);
    const builder = workerGraphBuilder(dataDir, options.dimension, params, insertThreads);
    indexes.onGraphBuilt = (scopeKey, vectors, ms) =>
      logger.info(
        { scopeKey, vectors, ms: Math.round(ms), rebuildMsPerVector: Number(indexes.rebuildMsPerVector.toFixed(3)) },
        "embedded store: graph built in the background; the scope is searched through it again",
      );
    if (report.graphsToBuild.length > 0) {
      logger.warn(
        { scopes: report.graphsToBuild.length, dataDir },
        "embedded store: no usable HNSW snapshot for some large scopes (the last stop was not clean); " +
          "they are searched exactly, correct but slower, while their graphs are built in the background",
      );
    }
    for (const scopeKey of report.graphsToBuild) indexes.buildGraphOffThread(scopeKey, builder);
    if (report.tailsToAbsorb.length > 0) {
      logger.warn(
        { scopes: report.tailsToAbsorb.length, dataDir },
        "embedded store: many rows were written after the last HNSW snapshot of some large scopes (the last stop was not clean); " +
          "their snapshots are reused and those rows searched exactly, correct but slower, while they are moved into the graphs in the background",
      );
    }
    for (const scopeKey of report.tailsToAbsorb) indexes.absorbTail(scopeKey);
    indexes.onRebuildDue = (scopeKey, graph, reason) => {
      const { mapped, added, removed } = graph.layers;
      logger.info({ scopeKey, reason, mapped: mapped.size, added: added?.size ?? 0, removed: removed.size }, `embedded store: ${REBUILD_LOG[reason]}`);
      indexes.compactGraph(scopeKey, (afterLabel, upToLabel, limit) => entries.scopeVectorPage(scopeKey, afterLabel, upToLabel, limit), builder);
    };
    return new EmbeddedStore(entries, indexes, params, {
      dataDir,
      dimension: options.dimension,
      snapshotIdentity,
      snapshots,
      purgeIntervalMs,
      hitFlushIntervalMs,
      now: options.now ?? Date.now,
      onBackgroundError: (error: unknown) => logger.error({ err: error, dataDir }, `embedded store: ${error instanceof Error ? error.message : String(error)}`),
      maxScopesPerNamespace,
      dataDirCheckIntervalMs,
    }, report);
  } catch (error) {
    entries.close();
    throw error;
  }
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer (got ${value})`);
}

function checkInterval(name: string, value: number): void {
  // Node clamps longer timers to 1 ms, which would turn a typo into a busy loop.
  if (!Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new RangeError(`${name} must be an integer number of milliseconds in [0, 2147483647] (got ${value})`);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
