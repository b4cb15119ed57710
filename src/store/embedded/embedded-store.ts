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
import { toObservationTuple, type ObservationTuple } from "../observations.js";
import { GroupCommit } from "./group-commit.js";
import { removeSnapshots, saveSnapshots, type SnapshotIdentity } from "./index-snapshots.js";
import type { IndexLoadReport } from "./index-loader.js";
import type { ScopeIndexes } from "./scope-indexes.js";
import { isLive, type SqliteEntries } from "./sqlite-entries.js";

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
}

// Rows deleted per purge transaction: bounded so a large purge yields to the
// event loop between batches instead of stalling requests.
const PURGE_BATCH = 5000;

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
  private readonly writes = new GroupCommit<NewEntry, boolean>((batch) => this.commit(batch));
  // Observations get their own group commit: concurrent ones share one fsync.
  private readonly observationWrites = new GroupCommit<{ id: string; tuple: ObservationTuple; nowMs: number }, boolean>((batch) =>
    this.guard(() => this.entries.addObservations(batch)),
  );

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
      this.timers.push(setInterval(() => this.flushHitsInBackground(), runtime.hitFlushIntervalMs).unref());
    }
  }

  async get(id: string, nowMs: number): Promise<StoredEntry | undefined> {
    this.ensureOpen();
    const found = this.guard(() => this.entries.getById(id));
    if (found === undefined || !isLive(found.entry.expiresAtMs, nowMs)) return undefined;
    return this.withPendingHits(found.entry);
  }

  async search(scope: EntryScope, vector: Float32Array, k: number, nowMs: number): Promise<Neighbour[]> {
    this.ensureOpen();
    this.checkVector(vector);
    const matches = this.indexes.search(scope.scopeKey, vector, Math.floor(k), nowMs);
    const out: Neighbour[] = [];
    for (const { label, similarity } of matches) {
      const found = this.guard(() => this.entries.getByLabel(label));
      if (found !== undefined) out.push({ entry: this.withPendingHits(found.entry), similarity });
    }
    return out;
  }

  async put(entries: readonly NewEntry[]): Promise<boolean[]> {
    this.ensureOpen();
    for (const entry of entries) this.checkVector(entry.vector);
    if (entries.length === 0) return [];
    return this.writes.submit(entries);
  }

  async recordHit(id: string): Promise<number> {
    this.ensureOpen();
    const stored = this.guard(() => this.entries.hitsOf(id));
    if (stored === undefined) return 0;
    const pending = (this.pendingHits.get(id) ?? 0) + 1;
    this.pendingHits.set(id, pending);
    return stored + pending;
  }

  async addObservation(id: string, observation: Observation, nowMs: number): Promise<boolean> {
    this.ensureOpen();
    const tuple = toObservationTuple(observation);
    const [stored] = await this.observationWrites.submit([{ id, tuple, nowMs }]);
    return stored === true;
  }

  async ping(): Promise<void> {
    this.ensureOpen();
  }

  async count(namespace?: string): Promise<number> {
    this.ensureOpen();
    return this.guard(() => this.entries.count(namespace, this.runtime.now()));
  }

  async flushNamespace(namespace: string): Promise<number> {
    this.ensureOpen();
    // Writes issued before the flush must not land after it.
    this.writes.drain();
    this.observationWrites.drain();
    const deleted = this.guard(() => this.entries.deleteNamespace(namespace, this.runtime.now()));
    this.indexes.dropNamespace(namespace);
    return deleted;
  }

  async flushAll(): Promise<number> {
    this.ensureOpen();
    this.writes.drain();
    this.observationWrites.drain();
    const deleted = this.guard(() => this.entries.deleteAll(this.runtime.now()));
    this.indexes.clear();
    this.pendingHits.clear();
    return deleted;
  }

  async listRecent(namespace: string, limit: number, nowMs: number): Promise<StoredEntry[]> {
    this.ensureOpen();
    if (!(limit >= 1)) return [];
    const rows = this.guard(() => this.entries.listRecent(namespace, Math.floor(limit), nowMs));
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
  flushHits(): void {
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

  private commit(batch: NewEntry[]): boolean[] {
    // Hits ride along with the puts' transaction: no extra fsync.
    const hits = this.takePendingHits();
    let outcomes;
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
      const removed = this.guard(() => this.entries.deleteExpired(nowMs, PURGE_BATCH));
      for (const { label, scopeKey } of removed) this.indexes.remove(scopeKey, label);
      total += removed.length;
      if (removed.length < PURGE_BATCH) break;
      await nextTurn();
    }
    return total;
  }

  private flushHitsInBackground(): void {
    if (this.closed || this.pendingHits.size === 0) return;
    try {
      this.flushHits();
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

  private checkVector(vector: Float32Array): void {
    if (!(vector instanceof Float32Array) || vector.length !== this.runtime.dimension) {
      throw new RangeError(`vector must be a Float32Array of length ${this.runtime.dimension} (got ${describeVector(vector)})`);
    }
    for (let i = 0; i < vector.length; i++) {
      if (!Number.isFinite(vector[i])) throw new RangeError(`vector has a non-finite component at ${i}`);
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): StoreUnavailableError {
    return new StoreUnavailableError(`the embedded store at ${this.runtime.dataDir} is closed`);
  }

  private guard<T>(operation: () => T): T {
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

function describeVector(vector: unknown): string {
  if (vector instanceof Float32Array) return `length ${vector.length}`;
  return vector === null ? "null" : typeof vector === "object" ? (vector.constructor?.name ?? "object") : typeof vector;
}
