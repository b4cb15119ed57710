import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IndexParams } from "../cache-store.js";
import { sha256File } from "./file-hash.js";
import type { ScopeIndexes } from "./scope-indexes.js";
import { HnswIndex } from "./vector-index.js";

/** Directory, inside the data directory, of the HNSW snapshots. */
export const SNAPSHOT_DIR = "hnsw";
const MANIFEST = "manifest.json";
const FORMAT = 1;

/** What a snapshot must have been built with to be reused. */
export interface SnapshotIdentity {
  readonly modelId: string;
  readonly dimension: number;
  readonly m: number;
  readonly efConstruction: number;
}

/** One saved scope index. */
export interface SnapshotEntry {
  /** File name inside the snapshot directory. */
  readonly file: string;
  /** Highest label in the index when saved; rows above it were added later. */
  readonly maxLabel: number;
  /** Number of labels in the index when saved. */
  readonly count: number;
  /** SHA-256 of the file, checked before usearch sees it. */
  readonly sha256: string;
}

/**
 * Index objects whose contents are a file in the snapshot directory: its
 * entry (which names the file) and the index's change count then.
 * An index unchanged since it was loaded or saved is linked into the next
 * snapshot instead of written again (at 1M entries writing one took 11 s of
 * a graceful stop; a link takes none).
 */
const onDisk = new WeakMap<HnswIndex, { readonly entry: SnapshotEntry; readonly changes: number }>();

interface Manifest extends SnapshotIdentity {
  readonly format: number;
  readonly scopes: Record<string, SnapshotEntry>;
}

/**
 * Saves every HNSW scope index, so a clean restart loads graphs instead of
 * rebuilding them (a rebuild inserts every vector again: tens of seconds per
 * 100k vectors at efConstruction 200). Small exact scopes are not saved: they
 * rebuild from SQLite in no time.
 *
 * Written to a fresh directory, fsynced, then renamed over the old one, so a
 * crash leaves either the old set, the new set or none, never a mix. The
 * snapshots are only a cache of SQLite: a missing or stale one costs a
 * rebuild, never data. A scope index unchanged since it was loaded or last
 * saved is hard-linked from the old set rather than written again.
 */
export function saveSnapshots(dataDir: string, indexes: ScopeIndexes, identity: SnapshotIdentity): number {
  const final = join(dataDir, SNAPSHOT_DIR);
  const temp = join(dataDir, `${SNAPSHOT_DIR}.tmp`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  const scopes: Record<string, SnapshotEntry> = {};
  let n = 0;
  const saved: [HnswIndex, SnapshotEntry][] = [];
  for (const [scopeKey, scope] of indexes.entries()) {
    const index = scope.index;
    if (!(index instanceof HnswIndex)) continue;
    const file = `${n++}.usearch`;
    const path = join(temp, file);
    const entry = linkUnchanged(final, index, path, file) ?? writeIndex(index, path, file, scope.expiry);
    scopes[scopeKey] = entry;
    saved.push([index, entry]);
  }
  const manifest: Manifest = { format: FORMAT, ...pickIdentity(identity), scopes };
  writeFileSync(join(temp, MANIFEST), JSON.stringify(manifest));
  fsyncPath(join(temp, MANIFEST));
  fsyncPath(temp);
  rmSync(final, { recursive: true, force: true });
  renameSync(temp, final);
  fsyncPath(dataDir);
  for (const [index, entry] of saved) onDisk.set(index, { entry, changes: index.changes });
  return n;
}

/** The entry of `index` linked from the current snapshot set to `path`, if its file there still holds exactly this index. */
function linkUnchanged(final: string, index: HnswIndex, path: string, file: string): SnapshotEntry | undefined {
  const known = onDisk.get(index);
  if (known === undefined || known.changes !== index.changes) return undefined;
  try {
    linkSync(join(final, known.entry.file), path);
  } catch {
    // Gone, or a filesystem without hard links: written again instead.
    return undefined;
  }
  return { ...known.entry, file };
}

/** Writes `index` to `path` and returns its entry. */
function writeIndex(index: HnswIndex, path: string, file: string, expiry: ReadonlyMap<number, number>): SnapshotEntry {
  index.save(path);
  fsyncPath(path);
  let maxLabel = 0;
  for (const label of expiry.keys()) maxLabel = Math.max(maxLabel, label);
  return { file, maxLabel, count: expiry.size, sha256: sha256File(path) };
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
      manifest.format === FORMAT &&
      manifest.modelId === expected.modelId &&
      manifest.dimension === expected.dimension &&
      manifest.m === expected.m &&
      manifest.efConstruction === expected.efConstruction;
    return same ? new Map(Object.entries(manifest.scopes)) : new Map();
  } catch {
    return new Map();
  }
}

/** Where a snapshot entry's file is; undefined for a name the manifest should not hold. */
export function snapshotFile(dataDir: string, entry: SnapshotEntry): string | undefined {
  return /^\d+\.usearch$/.test(entry.file) ? join(dataDir, SNAPSHOT_DIR, entry.file) : undefined;
}

/**
 * Loads one saved index after checking its checksum against `fileHash`, the
 * file's SHA-256 as the caller computed it; undefined if the file is
 * missing, altered or unreadable. The checksum matters: usearch
 * aborts the whole process on a truncated file instead of throwing.
 */
export function loadSnapshot(
  dataDir: string,
  entry: SnapshotEntry,
  dimension: number,
  params: IndexParams,
  insertThreads: number,
  fileHash: string,
): HnswIndex | undefined {
  const path = snapshotFile(dataDir, entry);
  try {
    if (path === undefined || !existsSync(path) || fileHash !== entry.sha256) return undefined;
    const index = HnswIndex.load(path, dimension, params, entry.count, insertThreads);
    onDisk.set(index, { entry, changes: index.changes });
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
