import { mostlyRemoved, type LayeredGraph } from "./layered-graph.js";
import type { IndexedVector, ScopeIndexes } from "./scope-indexes.js";
import { ExactIndex } from "./vector-index.js";
import { sha256FilesOffThread } from "./file-hash.js";
import { loadSnapshot, readSnapshotManifest, snapshotFiles, type SnapshotEntry, type SnapshotIdentity } from "./index-snapshots.js";
import type { ScopeRows, SqliteEntries } from "./sqlite-entries.js";

/** What opening the store did to get its indexes, for startup logs. */
export interface IndexLoadReport {
  /** Scopes indexed. */
  readonly scopes: number;
  /** Vectors indexed. */
  readonly vectors: number;
  /** Scopes whose HNSW graph came from a snapshot. */
  readonly fromSnapshot: number;
  /** Vectors inserted one by one (rebuilt scopes, plus rows newer than a snapshot). */
  readonly inserted: number;
  /** Scopes loaded for exact search whose graph is still to be built off the event loop (see `graphsToBuild`). */
  readonly graphsToBuild: readonly string[];
  /** Scopes whose snapshot was reused with a long tail of newer rows, searched exactly until absorbed (see LayeredGraph). */
  readonly tailsToAbsorb: readonly string[];
  /** Wall time, in milliseconds. */
  readonly ms: number;
}

/**
 * Fills `indexes` from SQLite, the source of truth. A large scope reuses its
 * snapshot, its graph memory-mapped, when the graph holds every one of the
 * scope's rows up to the snapshot's highest label (rows deleted since stay in
 * the graph unseen; labels are never reused, so the check is exact), and
 * then only rows added after the snapshot are inserted; any other scope is
 * rebuilt from its stored vectors.
 *
 * Except when that rebuild would insert more than `rebuildAbove` vectors
 * (after a crash, a scope of 100k entries took minutes): such a scope is
 * loaded into an exact index, which answers correctly at once, and named in
 * `graphsToBuild` for the caller to build its graph in the background. And
 * when more than `rebuildAbove` rows came after a snapshot (a crash long
 * after the last clean stop), but no more than the snapshot holds, the
 * snapshot is reused all the same: those rows go into its layered graph's
 * tail, searched exactly, and are named in `tailsToAbsorb` for the caller to
 * move into the graph in the background.
 *
 * The snapshot files are hashed on a worker thread from the start, while
 * this thread reads the scopes' labels from SQLite (each about a second at
 * 1M entries).
 */
export async function loadScopeIndexes(
  entries: SqliteEntries,
  indexes: ScopeIndexes,
  dataDir: string,
  identity: SnapshotIdentity,
  rebuildAbove = Infinity,
): Promise<IndexLoadReport> {
  const started = performance.now();
  const snapshots = readSnapshotManifest(dataDir, identity);
  const files = [...snapshots.values()].flatMap((entry) => snapshotFiles(dataDir, entry)?.map((f) => f.path) ?? []);
  const hashes = sha256FilesOffThread(files);
  try {
    let fromSnapshot = 0;
    let inserted = 0;
    let vectors = 0;
    const graphsToBuild: string[] = [];
    const tailsToAbsorb: string[] = [];
    let scopeCount = 0;
    for (const [scopeKey, rows] of entries.scopesWithRows()) {
      scopeCount++;
      vectors += rows.labels.length;
      const large = rows.labels.length > indexes.exactLimit;
      const snapshot = large ? snapshots.get(scopeKey) : undefined;
      let after = 0;
      let covered: number[] = [];
      if (snapshot !== undefined) {
        covered = rows.labels.filter((label) => label <= snapshot.maxLabel);
        // Rows the snapshot holds that were deleted since (a crash came before
        // the next snapshot). Labels are never reused, so their vectors are
        // only dead weight in the graph: searches skip labels the scope no
        // longer has, as they skip expired ones.
        const deadSince = snapshot.count - covered.length;
        const tail = rows.labels.length - covered.length;
        // Decided from the manifest before the file is read and hashed (seconds
        // at 1M entries): a snapshot mostly dead, or one with more rows after it
        // than in it (a rebuild is then about as much work), is not loaded at all.
        const usable = deadSince >= 0 && tail <= Math.max(rebuildAbove, covered.length) && !hollow(snapshot, deadSince);
        // An unusable snapshot (mostly after a crash) means a rebuild on this thread, which the hashing
        // worker would only compete with; any snapshot still to load is hashed here.
        if (!usable) hashes.stop();
        const index = usable ? await loadSnapshot(dataDir, snapshot, indexes.dimension, indexes.params, indexes.insertThreads, (path) => hashes.get(path), deadSince) : undefined;
        if (index?.containsAll(covered)) {
          const expiry = new Map<number, number>();
          rows.labels.forEach((label, i) => {
            if (label <= snapshot.maxLabel) expiry.set(label, rows.expiries[i] as number);
          });
          indexes.install(scopeKey, { namespace: rows.namespace, index, expiry });
          after = snapshot.maxLabel;
          fromSnapshot++;
          if (tail > rebuildAbove) {
            loadTail(entries, index, expiry, scopeKey, after);
            tailsToAbsorb.push(scopeKey);
            continue;
          }
        }
      }
      const toInsert = after === 0 ? rows.labels.length : rows.labels.length - covered.length;
      if (large && toInsert > rebuildAbove) {
        loadExact(entries, indexes, scopeKey, rows);
        graphsToBuild.push(scopeKey);
      } else {
        inserted += addVectors(entries, indexes, scopeKey, rows.namespace, after);
      }
    }
    return { scopes: scopeCount, vectors, fromSnapshot, inserted, graphsToBuild, tailsToAbsorb, ms: performance.now() - started };
  } finally {
    hashes.stop();
  }
}

/**
 * Whether most of a snapshot's mapped graph was removed since it was built
 * (`deadSince` more since the snapshot itself): every search would then wade
 * through the dead to reach the live, so the scope is rebuilt instead (see
 * layered-graph.ts).
 */
function hollow(entry: SnapshotEntry, deadSince: number): boolean {
  return mostlyRemoved((entry.removed?.length ?? 0) + deadSince, entry.graph.count);
}

/** Puts a scope's rows after `afterLabel` into its layered graph's tail, with their expiries. */
function loadTail(entries: SqliteEntries, graph: LayeredGraph, expiry: Map<number, number>, scopeKey: string, afterLabel: number): void {
  copyRows(entries, scopeKey, afterLabel, graph.dimension, expiry, (labels, vectors) => graph.addToTail(labels, vectors));
}

/** Installs a scope's every row in an exact index sized for them. */
function loadExact(entries: SqliteEntries, indexes: ScopeIndexes, scopeKey: string, rows: ScopeRows): void {
  const index = new ExactIndex(indexes.dimension, rows.labels.length);
  const expiry = new Map<number, number>();
  copyRows(entries, scopeKey, 0, indexes.dimension, expiry, (labels, vectors) => index.add(labels, vectors));
  indexes.install(scopeKey, { namespace: rows.namespace, index, expiry });
}

/**
 * Hands a scope's rows after `afterLabel` to `add` in flat chunks of 4,096
 * vectors (one buffer reused: `add` must copy), and records their expiries.
 */
function copyRows(
  entries: SqliteEntries,
  scopeKey: string,
  afterLabel: number,
  dimension: number,
  expiry: Map<number, number>,
  add: (labels: readonly number[], vectors: Float32Array) => void,
): void {
  const CHUNK = 4096;
  let labels: number[] = [];
  const chunk = new Float32Array(CHUNK * dimension);
  for (const item of entries.scopeVectors(scopeKey, afterLabel)) {
    chunk.set(item.vector, labels.length * dimension);
    labels.push(item.label);
    expiry.set(item.label, item.expiresAtMs);
    if (labels.length === CHUNK) {
      add(labels, chunk);
      labels = [];
    }
  }
  add(labels, chunk.subarray(0, labels.length * dimension));
}

function addVectors(entries: SqliteEntries, indexes: ScopeIndexes, scopeKey: string, namespace: string, afterLabel: number): number {
  // Chunks larger than the exact limit, so the first chunk alone decides
  // whether the scope is exact or HNSW, and bounded so a huge scope does not
  // hold all its vectors twice in memory.
  const chunkSize = Math.max(4096, indexes.exactLimit + 1);
  let chunk: IndexedVector[] = [];
  let n = 0;
  for (const item of entries.scopeVectors(scopeKey, afterLabel)) {
    chunk.push(item);
    if (chunk.length === chunkSize) {
      indexes.add(scopeKey, namespace, chunk);
      n += chunk.length;
      chunk = [];
    }
  }
  indexes.add(scopeKey, namespace, chunk);
  return n + chunk.length;
}
