import Database from "better-sqlite3";
import { join } from "node:path";
import type { EntryScope, NewEntry, StoredEntry } from "../cache-store.js";
import { isLive } from "../expiry.js";
import { appendObservation, decodeObservations, NO_OBSERVATIONS_JSON, type ObservationTuple } from "../observations.js";
import { decodeFloat32, encodeFloat32 } from "../vectors.js";
import { DataDirError } from "./data-dir.js";

/** File name of the database inside the data directory. */
export const DATABASE_FILE = "semcache.db";

// Version 2 added `observations`; a version 1 database is migrated in place at open.
const SCHEMA_VERSION = "2";

/** What the vectors in a data directory were made with; a directory holds one kind only. */
export interface EmbeddingIdentity {
  /** The embedder's model id. */
  readonly modelId: string;
  /** Length of every vector. */
  readonly dimension: number;
}

/** A stored entry with its integer label (the key of its vector in the scope index). */
export interface LabelledEntry {
  readonly label: number;
  readonly entry: StoredEntry;
}

/** What the index needs to know about one scope's rows: their labels and until when each lives. */
export interface ScopeRows {
  readonly namespace: string;
  /** In label order. */
  readonly labels: number[];
  /** `expiries[i]` is the expiry of `labels[i]` (0: never). */
  readonly expiries: number[];
}

/** The effect of writing one entry, which the caller mirrors in the scope indexes. */
export interface WriteOutcome {
  /** Label of the new row. */
  readonly label: number;
  /** The row the entry replaced (expired or not), whose vector must leave the index. */
  readonly previous: { readonly label: number; readonly scopeKey: string } | undefined;
  /** Whether the replaced row was still live, which is what `put` reports. */
  readonly replacedLive: boolean;
}

/** A row's vector with its label and expiry, read back to (re)build an index. */
export interface LabelledVector {
  readonly label: number;
  readonly expiresAtMs: number;
  readonly vector: Float32Array;
}

interface EntryColumns {
  label: number;
  id: string;
  namespace: string;
  model: string;
  params: string;
  scope_key: string;
  prompt: string;
  response: string;
  created_at: number;
  expires_at: number;
  hits: number;
  metadata: string;
  observations: string;
}

const ENTRY_COLUMNS =
  "label, id, namespace, model, params, scope_key, prompt, response, created_at, expires_at, hits, metadata, observations";

// Expiry is `expires_at > 0 AND expires_at <= now`: written that way (rather than
// with OR) so SQLite can answer it from the (…, expires_at) indexes alone.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
-- AUTOINCREMENT: a label is never reused, so a stale label held by an index
-- or a snapshot can never name a different entry.
CREATE TABLE IF NOT EXISTS entries (
  label      INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  namespace  TEXT NOT NULL,
  model      TEXT NOT NULL,
  params     TEXT NOT NULL,
  scope_key  TEXT NOT NULL,
  prompt     TEXT NOT NULL,
  response   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  hits       INTEGER NOT NULL DEFAULT 0,
  metadata   TEXT NOT NULL,
  vector     BLOB NOT NULL,
  -- JSON [[similarity, correct, atMs], ...], oldest first (see store/observations.ts).
  observations TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX IF NOT EXISTS entries_namespace_created ON entries (namespace, created_at);
CREATE INDEX IF NOT EXISTS entries_namespace_expires ON entries (namespace, expires_at);
CREATE INDEX IF NOT EXISTS entries_expiring ON entries (expires_at) WHERE expires_at > 0;
-- A scope's labels and expiries straight from the index, without reading the
-- rows (each over 1.5 KB with its vector): what opening the store reads for
-- every row, 4x faster than through the table at 100k rows. It replaces an
-- index on scope_key alone, which it also serves.
CREATE INDEX IF NOT EXISTS entries_scope_label ON entries (scope_key, label, expires_at);
DROP INDEX IF EXISTS entries_scope;
`;

/**
 * The durable half of the embedded store: one SQLite database holding every
 * entry with its vector. All methods are synchronous (better-sqlite3); the
 * store decides when to call them.
 */
export class SqliteEntries {
  private readonly statements;

  private constructor(
    private readonly db: Database.Database,
    /** Path of the database file, for error messages. */
    readonly path: string,
    private readonly dimension: number,
  ) {
    this.statements = {
      // A replace deletes and re-inserts rather than updating in place, so the
      // new vector gets a new label and the old label can leave the index.
      deleteId: db.prepare<[string], { label: number; scope_key: string; expires_at: number }>(
        "DELETE FROM entries WHERE id = ? RETURNING label, scope_key, expires_at",
      ),
      insert: db.prepare(
        `INSERT INTO entries (id, namespace, model, params, scope_key, prompt, response, created_at, expires_at, hits, metadata, vector)
         VALUES (@id, @namespace, @model, @params, @scopeKey, @prompt, @response, @createdAt, @expiresAt, 0, @metadata, @vector)`,
      ),
      addHits: db.prepare<[number, string]>("UPDATE entries SET hits = hits + ? WHERE id = ?"),
      liveObservations: db.prepare<[string, number], { observations: string }>(
        "SELECT observations FROM entries WHERE id = ? AND (expires_at = 0 OR expires_at > ?)",
      ),
      setObservations: db.prepare<[string, string]>("UPDATE entries SET observations = ? WHERE id = ?"),
      byId: db.prepare<[string], EntryColumns>(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE id = ?`),
      byLabel: db.prepare<[number], EntryColumns>(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE label = ?`),
      hitsOf: db.prepare<[string], { hits: number }>("SELECT hits FROM entries WHERE id = ?"),
      recent: db.prepare<[string, number, number], EntryColumns>(
        `SELECT ${ENTRY_COLUMNS} FROM entries
         WHERE namespace = ? AND (expires_at = 0 OR expires_at > ?)
         ORDER BY created_at DESC, label DESC LIMIT ?`,
      ),
      countNamespace: db.prepare<[{ namespace: string; now: number }], { n: number }>(
        `SELECT (SELECT COUNT(*) FROM entries WHERE namespace = @namespace)
              - (SELECT COUNT(*) FROM entries WHERE namespace = @namespace AND expires_at > 0 AND expires_at <= @now) AS n`,
      ),
      countAll: db.prepare<[{ now: number }], { n: number }>(
        `SELECT (SELECT COUNT(*) FROM entries)
              - (SELECT COUNT(*) FROM entries WHERE expires_at > 0 AND expires_at <= @now) AS n`,
      ),
      deleteNamespace: db.prepare<[string]>("DELETE FROM entries WHERE namespace = ?"),
      deleteAll: db.prepare("DELETE FROM entries"),
      deleteExpired: db.prepare<[number, number], { label: number; scope_key: string }>(
        `DELETE FROM entries WHERE label IN
           (SELECT label FROM entries WHERE expires_at > 0 AND expires_at <= ? LIMIT ?)
         RETURNING label, scope_key`,
      ),
      scopeKeys: db.prepare<[], string>("SELECT DISTINCT scope_key FROM entries").pluck(),
      scopeNamespace: db.prepare<[string], string>("SELECT namespace FROM entries WHERE scope_key = ? LIMIT 1").pluck(),
      scopeLabels: db.prepare<[string], [number, number]>("SELECT label, expires_at FROM entries WHERE scope_key = ? ORDER BY label").raw(true),
      // LIMIT -1: no limit.
      scopeVectors: db.prepare<[string, number, number, number], { label: number; expires_at: number; vector: Buffer }>(
        "SELECT label, expires_at, vector FROM entries WHERE scope_key = ? AND label > ? AND label <= ? ORDER BY label LIMIT ?",
      ),
    };
  }

  /**
   * Opens (creating if needed) the database in `dir`, which must exist.
   * Refuses a database whose vectors were made by another model or have
   * another dimension: their similarities would be meaningless.
   */
  static open(dir: string, identity: EmbeddingIdentity): SqliteEntries {
    const path = join(dir, DATABASE_FILE);
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 0 });
    } catch (error) {
      throw new DataDirError(dir, `cannot open ${DATABASE_FILE} (${messageOf(error)})`, { cause: error });
    }
    try {
      // Exclusive: the in-memory indexes assume this process is the only
      // writer, so a second server on the same directory must be refused.
      // Set before WAL so SQLite never needs the shared-memory file.
      db.pragma("locking_mode = EXCLUSIVE");
      db.pragma("journal_mode = WAL");
      // FULL: fsync the WAL on every commit, so an acknowledged put survives
      // power loss, not only a process crash (NORMAL would not).
      db.pragma("synchronous = FULL");
      db.exec(SCHEMA);
      // A write transaction takes the exclusive lock now rather than at the first put.
      db.transaction(() => checkIdentity(db, dir, identity)).immediate();
    } catch (error) {
      db.close();
      if (error instanceof DataDirError) throw error;
      if ((error as { code?: string }).code === "SQLITE_BUSY") {
        throw new DataDirError(dir, `${DATABASE_FILE} is in use by another process`, { cause: error });
      }
      const code = (error as { code?: string }).code;
      if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
        throw new DataDirError(
          dir,
          `${path} is not a readable semcache database (${messageOf(error)}): it is damaged or not SQLite; ` +
            "restore it from a backup, or move it away to start an empty cache",
          { cause: error },
        );
      }
      throw new DataDirError(dir, `cannot use ${path} (${messageOf(error)})`, { cause: error });
    }
    return new SqliteEntries(db, path, identity.dimension);
  }

  /**
   * Applies pending hit increments, then writes `entries` in order, all in one
   * transaction (one fsync). Hits go first because a replace resets the count.
   * `nowMs` decides whether a replaced row was still live.
   */
  write(entries: readonly NewEntry[], hits: ReadonlyMap<string, number>, nowMs: number): WriteOutcome[] {
    const s = this.statements;
    return this.db.transaction(() => {
      for (const [id, n] of hits) s.addHits.run(n, id);
      return entries.map((entry): WriteOutcome => {
        const old = s.deleteId.get(entry.id);
        const info = s.insert.run({
          id: entry.id,
          namespace: entry.scope.namespace,
          model: entry.scope.model,
          params: JSON.stringify(entry.scope.params),
          scopeKey: entry.scope.scopeKey,
          prompt: entry.prompt,
          response: entry.response,
          createdAt: entry.createdAtMs,
          expiresAt: entry.expiresAtMs,
          metadata: JSON.stringify(entry.metadata),
          vector: encodeFloat32(entry.vector),
        });
        return {
          label: Number(info.lastInsertRowid),
          previous: old === undefined ? undefined : { label: old.label, scopeKey: old.scope_key },
          replacedLive: old !== undefined && isLive(old.expires_at, nowMs),
        };
      });
    }).immediate();
  }

  /** The entry with this id, expired or not. */
  getById(id: string): LabelledEntry | undefined {
    const row = this.statements.byId.get(id);
    return row === undefined ? undefined : toLabelled(row);
  }

  /** The entry with this label, expired or not. */
  getByLabel(label: number): LabelledEntry | undefined {
    const row = this.statements.byLabel.get(label);
    return row === undefined ? undefined : toLabelled(row);
  }

  /** The stored hit count of an entry, or undefined if there is no such entry. */
  hitsOf(id: string): number | undefined {
    return this.statements.hitsOf.get(id)?.hits;
  }

  /** Live entries of a namespace, newest first. */
  listRecent(namespace: string, limit: number, nowMs: number): StoredEntry[] {
    return this.statements.recent.all(namespace, nowMs, limit).map((row) => toLabelled(row).entry);
  }

  /** Number of live entries in a namespace, or in all. */
  count(namespace: string | undefined, nowMs: number): number {
    const row =
      namespace === undefined ? this.statements.countAll.get({ now: nowMs }) : this.statements.countNamespace.get({ namespace, now: nowMs });
    return row?.n ?? 0;
  }

  /** Deletes a namespace's rows; returns how many of them were live. */
  deleteNamespace(namespace: string, nowMs: number): number {
    return this.db.transaction(() => {
      const live = this.count(namespace, nowMs);
      this.statements.deleteNamespace.run(namespace);
      return live;
    }).immediate();
  }

  /** Deletes every row; returns how many were live. */
  deleteAll(nowMs: number): number {
    return this.db.transaction(() => {
      const live = this.count(undefined, nowMs);
      this.statements.deleteAll.run();
      return live;
    }).immediate();
  }

  /**
   * Deletes up to `limit` expired rows in one transaction and returns them, so
   * a large purge can be split and not stall the event loop in one go.
   */
  deleteExpired(nowMs: number, limit: number): { label: number; scopeKey: string }[] {
    return this.db
      .transaction(() => this.statements.deleteExpired.all(nowMs, limit).map((r) => ({ label: r.label, scopeKey: r.scope_key })))
      .immediate();
  }

  /**
   * Appends observations in one transaction, each only to an entry live at
   * its `nowMs`; returns, per item, whether it was stored. An UPDATE cannot
   * recreate a deleted row, and the liveness check shares the transaction.
   */
  addObservations(items: readonly { id: string; tuple: ObservationTuple; nowMs: number }[]): boolean[] {
    const s = this.statements;
    return this.db.transaction(() =>
      items.map(({ id, tuple, nowMs }) => {
        const row = s.liveObservations.get(id, nowMs);
        if (row === undefined) return false;
        s.setObservations.run(appendObservation(row.observations, tuple), id);
        return true;
      }),
    ).immediate();
  }

  /** Adds hit increments in one transaction. */
  addHits(hits: ReadonlyMap<string, number>): void {
    if (hits.size === 0) return;
    this.db.transaction(() => {
      for (const [id, n] of hits) this.statements.addHits.run(n, id);
    }).immediate();
  }

  /** Every scope with rows, with its rows' labels and expiries (read from an index: no row is read). */
  *scopesWithRows(): IterableIterator<[string, ScopeRows]> {
    for (const scopeKey of this.statements.scopeKeys.all()) {
      const namespace = this.statements.scopeNamespace.get(scopeKey) as string;
      const labels: number[] = [];
      const expiries: number[] = [];
      for (const [label, expiresAtMs] of this.statements.scopeLabels.iterate(scopeKey)) {
        labels.push(label);
        expiries.push(expiresAtMs);
      }
      yield [scopeKey, { namespace, labels, expiries }];
    }
  }

  /** Vectors of one scope with `afterLabel < label <= upToLabel`, in label order. */
  *scopeVectors(scopeKey: string, afterLabel = 0, upToLabel = Number.MAX_SAFE_INTEGER): IterableIterator<LabelledVector> {
    for (const r of this.statements.scopeVectors.iterate(scopeKey, afterLabel, upToLabel, -1)) {
      yield { label: r.label, expiresAtMs: r.expires_at, vector: decodeFloat32(r.vector, this.dimension) };
    }
  }

  /**
   * At most `limit` of those vectors, read at once: a caller reading a
   * large scope page by page between turns of the event loop (an open
   * iterator would keep the connection busy for every other statement).
   */
  scopeVectorPage(scopeKey: string, afterLabel: number, upToLabel: number, limit: number): LabelledVector[] {
    return this.statements.scopeVectors
      .all(scopeKey, afterLabel, upToLabel, limit)
      .map((r) => ({ label: r.label, expiresAtMs: r.expires_at, vector: decodeFloat32(r.vector, this.dimension) }));
  }

  /** Closes the database (checkpointing the WAL). */
  close(): void {
    this.db.close();
  }
}

function checkIdentity(db: Database.Database, dir: string, identity: EmbeddingIdentity): void {
  const rows = db.prepare<[], { key: string; value: string }>("SELECT key, value FROM meta").all();
  const meta = new Map(rows.map((r) => [r.key, r.value]));
  if (meta.size === 0) {
    const insert = db.prepare<[string, string]>("INSERT INTO meta (key, value) VALUES (?, ?)");
    insert.run("schema_version", SCHEMA_VERSION);
    insert.run("embedding_model", identity.modelId);
    insert.run("dimension", String(identity.dimension));
    return;
  }
  let version = meta.get("schema_version");
  if (version === "1") {
    migrateFromVersion1(db);
    version = SCHEMA_VERSION;
  }
  if (version !== SCHEMA_VERSION) {
    throw new DataDirError(dir, `has schema version ${version}; this build reads version ${SCHEMA_VERSION}`);
  }
  const model = meta.get("embedding_model");
  const dimension = Number(meta.get("dimension"));
  if (model !== identity.modelId || dimension !== identity.dimension) {
    throw new DataDirError(
      dir,
      `holds vectors of embedding model "${model}" (dimension ${dimension}), but the embedder is ` +
        `"${identity.modelId}" (dimension ${identity.dimension}); vectors of different models cannot be mixed: ` +
        "use another data directory, or delete this one to start an empty cache",
    );
  }
}

/** Version 1 → 2: entries gain `observations` (none yet). Runs inside the open's transaction. */
function migrateFromVersion1(db: Database.Database): void {
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('entries')").all();
  if (!columns.some((c) => c.name === "observations")) {
    db.exec(`ALTER TABLE entries ADD COLUMN observations TEXT NOT NULL DEFAULT '${NO_OBSERVATIONS_JSON}'`);
  }
  db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION);
}

function toLabelled(row: EntryColumns): LabelledEntry {
  const scope: EntryScope = {
    namespace: row.namespace,
    model: row.model,
    params: JSON.parse(row.params) as Record<string, string>,
    scopeKey: row.scope_key,
  };
  return {
    label: row.label,
    entry: {
      id: row.id,
      scope,
      prompt: row.prompt,
      response: row.response,
      createdAtMs: row.created_at,
      expiresAtMs: row.expires_at,
      hits: row.hits,
      metadata: JSON.parse(row.metadata) as Record<string, string>,
      observations: decodeObservations(row.observations),
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
