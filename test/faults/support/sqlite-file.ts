/**
 * Reads an embedded store's SQLite file directly, read-only, the way an
 * operator would inspect a data directory after a crash: before any server
 * has opened (and so recovered or rewritten) it again.
 */
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DATABASE_FILE } from "../../../src/store/embedded/sqlite-entries.js";

/** What a read-only look at a data directory's database found. */
export interface DatabaseInspection {
  /** The rows of `PRAGMA integrity_check`: exactly ["ok"] for a sound file. */
  readonly integrity: string[];
  /** Rows in the entries table. */
  readonly entries: number;
  /** The stored response of each prompt (of one namespace), as written on disk. */
  readonly responses: ReadonlyMap<string, string>;
}

/** Opens `<dataDir>/semcache.db` read-only, runs `PRAGMA integrity_check`, and reads the entries of `namespace`. */
export function inspectDatabase(dataDir: string, namespace: string): DatabaseInspection {
  const path = join(dataDir, DATABASE_FILE);
  if (!existsSync(path)) throw new Error(`${path} does not exist`);
  // fileMustExist: a missing file must fail here, not be created empty.
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma("integrity_check", { simple: false }) as { integrity_check: string }[];
    const entries = (db.prepare("SELECT COUNT(*) AS n FROM entries").get() as { n: number }).n;
    const rows = db.prepare<[string], { prompt: string; response: string }>("SELECT prompt, response FROM entries WHERE namespace = ?").all(namespace);
    return { integrity: integrity.map((row) => row.integrity_check), entries, responses: new Map(rows.map((row) => [row.prompt, row.response])) };
  } finally {
    db.close();
  }
}
