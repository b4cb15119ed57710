import { statSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import {
  StoreUnavailableError,
  type CacheStore,
  type EntryScope,
  type IndexParams,
  type Neighbour,
  type NewEntry,
  type Observation,
  type StoredEntry,
} from "../cache-store.js";
import { isLive } from "../expiry.js";
import { fromFloor } from "../recall.js";
import { toObservationTuple, type ObservationTuple } from "../observations.js";
import { checkVector } from "../vectors.js";
import { SemcacheError } from "../../errors/index.js";
import { GroupCommit } from "./group-commit.js";
import { removeSnapshots, saveSnapshots, type SnapshotIdentity } from "./index-snapshots.js";
import type { IndexLoadReport } from "./index-loader.js";
import type { ScopeIndexes } from "./scope-indexes.js";
import { DATABASE_FILE, type SqliteEntries } from "./sqlite-entries.js";

/** Timings and hooks of a running embedded store. */
export interface EmbeddedStoreRuntime {
  /** The data directory (absolute). */
  readonly dataDir: string;
  /** Length of every vector. */
  readonly dimension: number;
  /** What snapshots are tagged with. */
  readonly snapshotIdentity: SnapshotIdentity;
  /** Whether to save HNSW snapshots at close (otherwise any old ones are deleted). */
  readonly snapshots: boolean;
  /** Milliseconds between expiry purges; 0 disables the timer. */
  readonly purgeIntervalMs: number;
  /** Milliseconds between writes of accumulated hit counts; 0 disables the timer. */
  readonly hitFlushIntervalMs: number;
  /** The clock for expiry decisions the interface gives no time for (purge, count, replace). */
  readonly now: () => number;
  /** Receives failures of background work (purge, hit flush, snapshots), which have no caller to reject. */
  readonly onBackgroundError: (error: unknown) => void;
  /** Most scopes a namespace may hold; a put that would open one more is refused. 0: no limit. */
  readonly maxScopesPerNamespace: number;
  /** Milliseconds between checks that the data directory is still the one opened; 0 disables the timer. */
  readonly dataDirCheckIntervalMs: number;
}

/** Which file a path named when the store opened (device and inode). */
interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

function identityOf(path: string): FileIdentity | undefined {
  try {
    const stat = statSync(path);
    return { dev: stat.dev, ino: stat.ino };
  } catch {
    return undefined;
  }
}

/** The setting that bounds scopes per namespace, named in the refusal. */
export const MAX_SCOPES_SETTING = "SEMCACHE_MAX_SCOPES_PER_NAMESPACE";

// Rows deleted per purge transaction: bounded so a large purge yields to the
// event loop between batches instead of stalling requests. 5,000 held it for
// 85-150 ms a batch (the delete of the rows and their vectors, and its
// fsync); 1,000 for about 30 ms, for a purge about half as long again.
const PURGE_BATCH = 1000;

/**
 * The embedded store: SQLite is the source of truth, the per-scope vector
 * indexes live in memory and mirror it. Every SQLite call is synchronous and
 * every index update follows its commit in the same synchronous block, so
 * the two never disagree as seen by a caller. Made by `openEmbeddedStore`.
 */
export class EmbeddedStore implements CacheStore {
  readonly kind = "embedded";
  private closed = false;
  private closing: Promise<void> | undefined;
  private purging: Promise<number> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  // id → hit increments not yet written: a hit is not worth an fsync.
  private pendingHits = new Map<string, number>();
  // Scopes that queued puts will open (scope key → namespace), counted
  // against the limit until their commit indexes them.
  private readonly pendingScopes = new Map<string, string>();
  // Set for good once the data directory is found deleted or replaced.
  private lost: StoreUnavailableError | undefined;
  private readonly databasePath: string;
  private readonly opened: { readonly dir: FileIdentity | undefined; readonly database: FileIdentity | undefined };
  private readonly writes = new GroupCommit<NewEntry, boolean>((batch) => this.commit(batch));
  // Observations get their own group commit: concurrent ones share one fsync.
  private readonly observationWrites = new GroupCommit<{ id: string; tuple: ObservationTuple; nowMs: number }, boolean>((batch) => {
    this.checkDataDir();
    return this.sqliteFailuresAsUnavailable(() => this.entries.addObservations(batch));
  });

  constructor(
    private readonly entries: SqliteEntries,
    private readonly indexes: ScopeIndexes,
    /** The HNSW parameters in use. */
    readonly indexParams: IndexParams,
    private readonly runtime: EmbeddedStoreRuntime,
    /** How the indexes were obtained at open. */
    readonly loadReport: IndexLoadReport,
  ) {
    if (runtime.purgeIntervalMs > 0) {
      this.timers.push(setInterval(() => void this.purgeExpired().catch(runtime.onBackgroundError), runtime.purgeIntervalMs).unref());
    }
    if (runtime.hitFlushIntervalMs > 0) {
      this.timers.push(setInterval(() => this.persistHitsInBackground(), runtime.hitFlushIntervalMs).unref());
    }
    this.databasePath = join(runtime.dataDir, DATABASE_FILE);
    this.opened = { dir: identityOf(runtime.dataDir), database: identityOf(this.databasePath) };
    if (runtime.dataDirCheckIntervalMs > 0) {
      this.timers.push(setInterval(() => this.checkDataDirInBackground(), runtime.dataDirCheckIntervalMs).unref());
    }
  }

  async get(id: string, nowMs: number): Promise<StoredEntry | undefined> {
    this.ensureOpen();
    const found = this.sqliteFailuresAsUnavailable(() => this.entries.getById(id));
    if (found === undefined || !isLive(found.entry.expiresAtMs, nowMs)) return undefined;
    return this.withPendingHits(found.entry);
  }

  async search(scope: EntryScope, vector: Float32Array, k: number, nowMs: number, floor?: number): Promise<Neighbour[]> {
    this.ensureOpen();
    checkVector(vector, this.runtime.dimension);
    // The floor applies to the labels, before any row is read.
    const matches = fromFloor(this.indexes.search(scope.scopeKey, vector, Math.floor(k), nowMs), floor);
    const out: Neighbour[] = [];
    for (const { label, similarity } of matches) {
      const found = this.sqliteFailuresAsUnavailable(() => this.entries.getByLabel(label));
      if (found !== undefined) out.push({ entry: this.withPendingHits(found.entry), similarity });
    }
    return out;
  }

  async put(entries: readonly NewEntry[]): Promise<boolean[]> {
    this.ensureOpen();
    for (const entry of entries) checkVector(entry.vector, this.runtime.dimension);
    if (entries.length === 0) return [];
    this.checkDataDir();
    this.admitScopes(entries);
    return this.writes.submit(entries);
  }

  async recordHit(id: string): Promise<number> {
    this.ensureOpen();
    const stored = this.sqliteFailuresAsUnavailable(() => this.entries.hitsOf(id));
    if (stored === undefined) return 0;
    const pending = (this.pendingHits.get(id) ?? 0) + 1;
    this.pendingHits.set(id, pending);
    return stored + pending;
  }

  async addObservation(id: string, observation: Observation, nowMs: number): Promise<boolean> {
    this.ensureOpen();
    const tuple = toObservationTuple(observation);
    this.checkDataDir();
    const [stored] = await this.observationWrites.submit([{ id, tuple, nowMs }]);
    return stored === true;
  }

  /** Rejects once the data directory was deleted or replaced (see checkDataDir). */
  async ping(): Promise<void> {
    this.ensureOpen();
    this.checkDataDir();
  }

  async count(namespace?: string): Promise<number> {
    this.ensureOpen();
    return this.sqliteFailuresAsUnavailable(() => this.entries.count(namespace, this.runtime.now()));
  }

  async flushNamespace(namespace: string): Promise<number> {
    this.ensureOpen();
    this.checkDataDir();
    // Writes issued before the flush must not land after it.
    this.writes.drain();
    this.observationWrites.drain();
    const deleted = this.sqliteFailuresAsUnavailable(() => this.entries.deleteNamespace(namespace, this.runtime.now()));
    this.indexes.dropNamespace(namespace);
    return deleted;
  }

  async flushAll(): Promise<number> {
    this.ensureOpen();
    this.checkDataDir();
    this.writes.drain();
    this.observationWrites.drain();
    const deleted = this.sqliteFailuresAsUnavailable(() => this.entries.deleteAll(this.runtime.now()));
    this.indexes.clear();
    this.pendingHits.clear();
    return deleted;
  }

  async listRecent(namespace: string, limit: number, nowMs: number): Promise<StoredEntry[]> {
    this.ensureOpen();
    if (!(limit >= 1)) return [];
    const rows = this.sqliteFailuresAsUnavailable(() => this.entries.listRecent(namespace, Math.floor(limit), nowMs));
    return rows.map((entry) => this.withPendingHits(entry));
  }

  /**
   * Deletes expired rows and their vectors now; resolves to how many. Runs on
   * a timer; exposed for tests and tools. Concurrent calls share one run.
   */
  purgeExpired(nowMs: number = this.runtime.now()): Promise<number> {
    if (this.closed) return Promise.reject(this.closedError());
    this.purging ??= this.runPurge(nowMs).finally(() => {
      this.purging = undefined;
    });
    return this.purging;
  }

  /** Writes accumulated hit counts now (also done on a timer, with puts, and at close). */
  persistHits(): void {
    this.ensureOpen();
    const hits = this.takePendingHits();
    try {
      this.entries.addHits(hits);
    } catch (error) {
      this.restorePendingHits(hits);
      throw unavailable(error);
    }
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.purging?.catch(() => undefined);
    // Settles every write accepted before close (resolved, or rejected if the disk fails).
    this.writes.drain();
    this.observationWrites.drain();
    try {
      this.entries.addHits(this.takePendingHits());
      try {
        // A lost directory gets no snapshot: saving one would recreate it holding nothing else.
        if (this.lost !== undefined) return;
        if (this.runtime.snapshots) saveSnapshots(this.runtime.dataDir, this.indexes, this.runtime.snapshotIdentity);
        else removeSnapshots(this.runtime.dataDir);
      } catch (error) {
        // Only a startup cache: the next open rebuilds from SQLite.
        this.runtime.onBackgroundError(error);
      }
    } finally {
      this.entries.close();
      this.indexes.clear();
    }
  }

  /**
   * Refuses, before anything is written, a put that would give a namespace
   * more scopes than the limit: each distinct scope costs memory for as long
   * as it has entries, so a client must not be able to open them without end.
   */
  private admitScopes(entries: readonly NewEntry[]): void {
    const limit = this.runtime.maxScopesPerNamespace;
    if (limit <= 0) return;
    const opened = new Map<string, string>();
    const openedIn = new Map<string, number>();
    for (const { scope } of entries) {
      if (this.indexes.has(scope.scopeKey) || this.pendingScopes.has(scope.scopeKey) || opened.has(scope.scopeKey)) continue;
      const pendingIn = [...this.pendingScopes.values()].filter((ns) => ns === scope.namespace).length;
      const wouldHave = this.indexes.scopesIn(scope.namespace) + pendingIn + (openedIn.get(scope.namespace) ?? 0) + 1;
      if (wouldHave > limit) {
        throw new SemcacheError(
          "resource_exhausted",
          `namespace "${scope.namespace}" already has ${wouldHave - 1} scopes (distinct model and params), the most ` +
            `${MAX_SCOPES_SETTING} allows (${limit}): reuse an existing scope, flush the namespace, or raise the setting`,
          { field: "scope" },
        );
      }
      opened.set(scope.scopeKey, scope.namespace);
      openedIn.set(scope.namespace, (openedIn.get(scope.namespace) ?? 0) + 1);
    }
    for (const [scopeKey, namespace] of opened) this.pendingScopes.set(scopeKey, namespace);
  }

  private commit(batch: NewEntry[]): boolean[] {
    // Indexed below, or failed: either way no longer pending.
    for (const entry of batch) this.pendingScopes.delete(entry.scope.scopeKey);
    // Again at the write itself: the directory may have gone since the put was queued.
    this.checkDataDir();
    // Hits ride along with the puts' transaction: no extra fsync.
    const hits = this.takePendingHits();
    let outcomes: ReturnType<typeof this.entries.write>;
    try {
      outcomes = this.entries.write(batch, hits, this.runtime.now());
    } catch (error) {
      this.restorePendingHits(hits);
      throw unavailable(error);
    }
    // Mirror the committed rows in the indexes, in order (a batch may replace
    // its own earlier entry), grouping consecutive adds per scope so a bulk
    // load inserts in multi-threaded batches.
    let run: { scopeKey: string; namespace: string; items: { label: number; expiresAtMs: number; vector: Float32Array }[] } | undefined;
    const flushRun = (): void => {
      if (run !== undefined) this.indexes.add(run.scopeKey, run.namespace, run.items);
      run = undefined;
    };
    batch.forEach((entry, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) return;
      if (outcome.previous !== undefined) {
        flushRun();
        this.indexes.remove(outcome.previous.scopeKey, outcome.previous.label);
      }
      if (run !== undefined && run.scopeKey !== entry.scope.scopeKey) flushRun();
      run ??= { scopeKey: entry.scope.scopeKey, namespace: entry.scope.namespace, items: [] };
      run.items.push({ label: outcome.label, expiresAtMs: entry.expiresAtMs, vector: entry.vector });
    });
    flushRun();
    return outcomes.map((outcome) => outcome.replacedLive);
  }

  private async runPurge(nowMs: number): Promise<number> {
    let total = 0;
    while (!this.closed) {
      const removed = this.sqliteFailuresAsUnavailable(() => this.entries.deleteExpired(nowMs, PURGE_BATCH));
      for (const { label, scopeKey } of removed) this.indexes.remove(scopeKey, label);
      total += removed.length;
      if (removed.length < PURGE_BATCH) break;
      await nextTurn();
    }
    return total;
  }

  /**
   * Throws (and from then on always throws) when the data directory or its
   * database file is no longer the one opened: deleted, or replaced by
   * another. SQLite keeps writing to the unlinked file without an error, so
   * without this check writes would be acknowledged and then lost at the
   * next restart. One stat per check, a few microseconds. Reports the loss
   * once through onBackgroundError (the server's log).
   */
  private checkDataDir(): void {
    if (this.lost !== undefined) throw this.lost;
    const dir = identityOf(this.runtime.dataDir);
    const database = identityOf(this.databasePath);
    const problem =
      dir === undefined ? "was deleted"
      : database === undefined ? `no longer holds ${DATABASE_FILE} (deleted)`
      : !sameFile(dir, this.opened.dir) || !sameFile(database, this.opened.database) ? "was replaced by another directory or database"
      : undefined;
    if (problem === undefined) return;
    this.lost = new StoreUnavailableError(
      `the data directory ${this.runtime.dataDir} ${problem} while semcache was running: writes are refused, since ` +
        "they could not survive a restart; restore the directory and restart semcache",
      { permanent: true },
    );
    this.runtime.onBackgroundError(this.lost);
    throw this.lost;
  }

  private checkDataDirInBackground(): void {
    if (this.closed || this.lost !== undefined) return;
    try {
      this.checkDataDir();
    } catch {
      // Reported by checkDataDir itself.
    }
  }

  private persistHitsInBackground(): void {
    if (this.closed || this.lost !== undefined || this.pendingHits.size === 0) return;
    try {
      this.persistHits();
    } catch (error) {
      this.runtime.onBackgroundError(error);
    }
  }

  private takePendingHits(): Map<string, number> {
    const hits = this.pendingHits;
    this.pendingHits = new Map();
    return hits;
  }

  private restorePendingHits(hits: ReadonlyMap<string, number>): void {
    for (const [id, n] of hits) this.pendingHits.set(id, (this.pendingHits.get(id) ?? 0) + n);
  }

  private withPendingHits(entry: StoredEntry): StoredEntry {
    const pending = this.pendingHits.get(entry.id);
    return pending === undefined ? entry : { ...entry, hits: entry.hits + pending };
  }

  private ensureOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): StoreUnavailableError {
    return new StoreUnavailableError(`the embedded store at ${this.runtime.dataDir} is closed`);
  }

  private sqliteFailuresAsUnavailable<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw unavailable(error);
    }
  }
}

/** SQLite failures (disk full, I/O error, corruption) become UNAVAILABLE; anything else is a bug and passes through. */
function unavailable(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && code.startsWith("SQLITE_")) {
    return new StoreUnavailableError(`embedded store: ${(error as Error).message} (${code})`, { cause: error });
  }
  return error;
}

function sameFile(now: FileIdentity, then: FileIdentity | undefined): boolean {
  return then === undefined || (now.dev === then.dev && now.ino === then.ino);
}
