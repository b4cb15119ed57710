import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { IndexParams } from "../cache-store.js";
import { sha256File } from "./file-hash.js";
import type { ScopeIndexes } from "./scope-indexes.js";
import { LayeredGraph } from "./layered-graph.js";
import { HnswIndex } from "./vector-index.js";

/** Directory, inside the data directory, of the HNSW snapshots. */
export const SNAPSHOT_DIR = "hnsw";
const MANIFEST = "manifest.json";
/** 2: a scope may be a mapped graph plus additions and removals (layered-graph.ts); 1 (one graph file a scope) is still read. */
const FORMAT = 2;

/** What a snapshot must have been built with to be reused. */
export interface SnapshotIdentity {
  readonly modelId: string;
  readonly dimension: number;
  readonly m: number;
  readonly efConstruction: number;
}

/** One graph file of a snapshot. */
export interface SnapshotFile {
  /** File name inside the snapshot directory. */
  readonly file: string;
  /** Vectors in it. */
  readonly count: number;
  /** SHA-256 of the file, checked before usearch sees it. */
  readonly sha256: string;
}

/** One saved scope index. */
export interface SnapshotEntry {
  /** Highest label in the index when saved; rows above it were added later. */
  readonly maxLabel: number;
  /** Number of labels in the index when saved. */
  readonly count: number;
  /** The graph, memory-mapped when loaded. */
  readonly graph: SnapshotFile;
  /** Vectors added after `graph` was mapped, loaded into memory. */
  readonly added?: SnapshotFile;
  /** Labels of `graph` removed after it was mapped. */
  readonly removed?: readonly number[];
}

/** A snapshot file and where it is now. */
export interface StoredFile {
  readonly path: string;
  readonly file: SnapshotFile;
}

/** Where an index's contents are on disk, as of its change count `changes`. */
interface OnDisk {
  /** The graph (a layered graph's mapped one). */
  readonly graph: StoredFile;
  /** A layered graph's additions, when it had any. */
  readonly added: StoredFile | undefined;
  readonly changes: number;
}

/**
 * Index objects whose contents are files on disk. An index unchanged since
 * it was loaded or saved is linked into the next snapshot instead of written
 * again (at 1M entries writing one took 11 s of a graceful stop; a link takes
 * none), and so is a layered graph's mapped graph, which never changes.
 */
const onDisk = new WeakMap<HnswIndex | LayeredGraph, OnDisk>();

interface Manifest extends SnapshotIdentity {
  readonly format: number;
  readonly scopes: Record<string, SnapshotEntry>;
}

/** A format-1 entry: one graph file. */
interface SnapshotEntryV1 {
  readonly file: string;
  readonly maxLabel: number;
  readonly count: number;
  readonly sha256: string;
}

/**
 * Records that `graph`, mapped from `path` (SHA-256 `sha256`, `count`
 * vectors), is on disk, so that a snapshot links the file rather than
 * writing the graph again. For graphs built off the event loop.
 */
export function noteMappedGraph(graph: LayeredGraph, path: string, count: number, sha256: string): void {
  onDisk.set(graph, { graph: { path, file: { file: basename(path), count, sha256 } }, added: undefined, changes: graph.changes });
}

/**
 * Saves every HNSW scope index, so a clean restart maps graphs instead of
 * rebuilding them (a rebuild inserts every vector again: tens of seconds per
 * 100k vectors at efConstruction 200). Small exact scopes are not saved: they
 * rebuild from SQLite in no time.
 *
 * Written to a fresh directory, fsynced, then renamed over the old one, so a
 * crash leaves either the old set, the new set or none, never a mix. The
 * snapshots are only a cache of SQLite: a missing or stale one costs a
 * rebuild, never data. Files whose contents did not change (an index
 * unchanged since it was loaded or last saved, a mapped graph) are
 * hard-linked from where they are rather than written again. Returns the
 * number of scopes saved.
 */
export function saveSnapshots(dataDir: string, indexes: ScopeIndexes, identity: SnapshotIdentity): number {
  const final = join(dataDir, SNAPSHOT_DIR);
  const temp = join(dataDir, `${SNAPSHOT_DIR}.tmp`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  const scopes: Record<string, SnapshotEntry> = {};
  let n = 0;
  const saved: [HnswIndex | LayeredGraph, OnDisk, string | undefined][] = [];
  for (const [scopeKey, scope] of indexes.entries()) {
    const index = scope.index;
    if (!(index instanceof HnswIndex || index instanceof LayeredGraph)) continue;
    const known = onDisk.get(index);
    const record = saveIndex(index, known, () => join(temp, `${n++}.usearch`));
    // A tail still being absorbed is left out: the next start finds its rows after the snapshot, as now.
    const inTail = index instanceof LayeredGraph ? index.layers.inTail : () => false;
    const { maxLabel, count: live } = liveCounts(scope.expiry, inTail);
    // What the graphs hold: after a crash, rows deleted unseen are still in them, and the next start counts them dead.
    const count = index instanceof LayeredGraph ? index.size - index.tailSize : live;
    scopes[scopeKey] = { maxLabel, count, ...entryFiles(record), ...removedLabels(index) };
    saved.push([index, record, known?.graph.path]);
  }
  const manifest: Manifest = { format: FORMAT, ...pickIdentity(identity), scopes };
  writeFileSync(join(temp, MANIFEST), JSON.stringify(manifest));
  fsyncPath(join(temp, MANIFEST));
  fsyncPath(temp);
  rmSync(final, { recursive: true, force: true });
  renameSync(temp, final);
  fsyncPath(dataDir);
  for (const [index, record, previousPath] of saved) {
    onDisk.set(index, atPaths(record, final));
    // A graph built off the event loop now lives in the snapshot: its build file goes.
    if (previousPath !== undefined && dirname(previousPath) !== final) rmSync(previousPath, { force: true });
  }
  return saved.length;
}

/**
 * Puts one scope index's files in the new snapshot (`newPath` names each):
 * linked when `known` says a file already holds them, written otherwise.
 */
function saveIndex(index: HnswIndex | LayeredGraph, known: OnDisk | undefined, newPath: () => string): OnDisk {
  const unchanged = known?.changes === index.changes;
  if (index instanceof HnswIndex) return { graph: linkOrWrite(unchanged ? known.graph : undefined, index, newPath()), added: undefined, changes: index.changes };
  const { mapped, added } = index.layers;
  // The mapped graph never changes: its file is linked whenever it is known.
  const graph = linkOrWrite(known?.graph, mapped, newPath());
  const addedFile = added !== undefined && added.size > 0 ? linkOrWrite(unchanged ? known.added : undefined, added, newPath()) : undefined;
  return { graph, added: addedFile, changes: index.changes };
}

/** Hard-links `previous` to `path` when there is one and the filesystem allows it; writes `graph` there otherwise. */
function linkOrWrite(previous: StoredFile | undefined, graph: HnswIndex, path: string): StoredFile {
  if (previous !== undefined) {
    try {
      linkSync(previous.path, path);
      return { path, file: { ...previous.file, file: basename(path) } };
    } catch {
      // Gone, or a filesystem without hard links: written instead.
    }
  }
  return { path, file: writeGraph(graph, path) };
}

/** The files part of a snapshot entry. */
function entryFiles(record: OnDisk): Pick<SnapshotEntry, "graph" | "added"> {
  return { graph: record.graph.file, ...(record.added === undefined ? {} : { added: record.added.file }) };
}

/** A layered graph's removed labels, as the snapshot entry lists them. */
function removedLabels(index: HnswIndex | LayeredGraph): Pick<SnapshotEntry, "removed"> {
  const removed = index instanceof LayeredGraph ? index.layers.removed : undefined;
  return removed === undefined || removed.size === 0 ? {} : { removed: [...removed] };
}

/** `record` with its files moved from the temporary directory to `dir`. */
function atPaths(record: OnDisk, dir: string): OnDisk {
  const moved = (stored: StoredFile): StoredFile => ({ ...stored, path: join(dir, basename(stored.path)) });
  return { ...record, graph: moved(record.graph), added: record.added === undefined ? undefined : moved(record.added) };
}

/** Writes `graph` to `path` and describes the file. */
function writeGraph(graph: HnswIndex, path: string): SnapshotFile {
  graph.save(path);
  fsyncPath(path);
  return { file: basename(path), count: graph.size, sha256: sha256File(path) };
}

/** The label facts of a snapshot entry, from a scope's live labels (label → expiry) less those `skip` says are not in its graphs. */
function liveCounts(expiry: ReadonlyMap<number, number>, skip: (label: number) => boolean): { maxLabel: number; count: number } {
  let maxLabel = 0;
  let count = 0;
  for (const label of expiry.keys()) {
    if (skip(label)) continue;
    maxLabel = Math.max(maxLabel, label);
    count++;
  }
  return { maxLabel, count };
}

/**
 * The saved scope indexes usable with this identity, by scope key; empty when
 * there are none, the manifest is unreadable, or they were built for another
 * model or graph shape.
 */
export function readSnapshotManifest(dataDir: string, identity: SnapshotIdentity): Map<string, SnapshotEntry> {
  const path = join(dataDir, SNAPSHOT_DIR, MANIFEST);
  if (!existsSync(path)) return new Map();
  try {
    const manifest = JSON.parse(readFileSync(path, "utf8")) as Manifest;
    const expected = pickIdentity(identity);
    const same =
      (manifest.format === FORMAT || manifest.format === 1) &&
      manifest.modelId === expected.modelId &&
      manifest.dimension === expected.dimension &&
      manifest.m === expected.m &&
      manifest.efConstruction === expected.efConstruction;
    if (!same) return new Map();
    const entries = Object.entries(manifest.scopes);
    if (manifest.format === FORMAT) return new Map(entries);
    return new Map(entries.map(([key, v1]) => [key, fromV1(v1 as unknown as SnapshotEntryV1)]));
  } catch {
    return new Map();
  }
}

function fromV1(entry: SnapshotEntryV1): SnapshotEntry {
  return { maxLabel: entry.maxLabel, count: entry.count, graph: { file: entry.file, count: entry.count, sha256: entry.sha256 } };
}

/** The snapshot files of an entry, its graph first; undefined for a name the manifest should not hold. */
export function snapshotFiles(dataDir: string, entry: SnapshotEntry): StoredFile[] | undefined {
  const files = entry.added === undefined ? [entry.graph] : [entry.graph, entry.added];
  if (!files.every((f) => /^\d+\.usearch$/.test(f.file))) return undefined;
  return files.map((file) => ({ path: join(dataDir, SNAPSHOT_DIR, file.file), file }));
}

/**
 * Opens one saved scope index, its graph memory-mapped, once every file's
 * checksum matched `hashOf` (the file's SHA-256 as the caller computed it);
 * undefined if a file is missing, altered or unreadable. The checksum
 * matters: usearch aborts the whole process on a truncated file instead of
 * throwing. `unseenDead`: its rows deleted since it was saved (see LayeredGraph).
 */
export async function loadSnapshot(
  dataDir: string,
  entry: SnapshotEntry,
  dimension: number,
  params: IndexParams,
  insertThreads: number,
  hashOf: (path: string) => Promise<string | undefined>,
  unseenDead = 0,
): Promise<LayeredGraph | undefined> {
  const files = snapshotFiles(dataDir, entry);
  const [graph, addedFile] = files ?? [];
  if (files === undefined || graph === undefined) return undefined;
  // A missing or unreadable file hashes to undefined, which matches no checksum.
  for (const { path, file } of files) if ((await hashOf(path)) !== file.sha256) return undefined;
  try {
    const mapped = HnswIndex.map(graph.path, dimension, params, entry.graph.count);
    const added = addedFile === undefined ? undefined : HnswIndex.load(addedFile.path, dimension, params, addedFile.file.count, insertThreads);
    const index = new LayeredGraph(mapped, dimension, params, insertThreads, { ...(added ? { added } : {}), removed: entry.removed ?? [], unseenDead });
    onDisk.set(index, { graph, added: addedFile, changes: index.changes });
    return index;
  } catch {
    return undefined;
  }
}

/** Deletes the snapshots, so none go stale on disk when saving is turned off. */
export function removeSnapshots(dataDir: string): void {
  rmSync(join(dataDir, SNAPSHOT_DIR), { recursive: true, force: true });
}

function pickIdentity(identity: SnapshotIdentity): SnapshotIdentity {
  return { modelId: identity.modelId, dimension: identity.dimension, m: identity.m, efConstruction: identity.efConstruction };
}


function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
