import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { CacheStore } from "../../src/store/cache-store.js";
import { DataDirError, openEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from "../../src/store/embedded/index.js";
import { describeStoreContract } from "./contract.js";
import { DIM, entryOf, randomUnit, rotated, scopeOf } from "./vectors.js";

const MODEL = "test-model";
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "semcache-embedded-"));
  dirs.push(dir);
  return dir;
}

function open(dataDir: string, extra: Partial<EmbeddedStoreOptions> = {}): Promise<EmbeddedStore> {
  return openEmbeddedStore({ dataDir, modelId: MODEL, dimension: DIM, ...extra });
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract("embedded", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "semcache-contract-"));
  const opened: CacheStore[] = [await open(dataDir)];
  return {
    store: opened[0]!,
    reopen: async () => {
      const store = await open(dataDir);
      opened.push(store);
      return store;
    },
    cleanup: async () => {
      for (const store of opened) await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

describe("embedded store", () => {
  const a = scopeOf("ns-a");

  it("refuses a data directory that cannot be created, naming the path", async () => {
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "not a directory");
    const dataDir = join(file, "data");
    const failure = open(dataDir);
    await expect(failure).rejects.toBeInstanceOf(DataDirError);
    await expect(failure).rejects.toThrow(dataDir);
    await expect(open(file)).rejects.toThrow(/is not a directory/);
  });

  it("creates a missing data directory", async () => {
    const dataDir = join(tempDir(), "nested", "data");
    const store = await open(dataDir);
    await store.put([entryOf(a, "x", rotated(0))]);
    await store.close();
    expect(statSync(join(dataDir, "semcache.db")).isFile()).toBe(true);
  });

  it("refuses a data directory built with another dimension or model", async () => {
    const dataDir = tempDir();
    const store = await open(dataDir);
    await store.put([entryOf(a, "x", rotated(0))]);
    await store.close();
    await expect(open(dataDir, { dimension: 768 })).rejects.toThrow(/dimension 384.*dimension 768/s);
    await expect(open(dataDir, { dimension: 768 })).rejects.toThrow(dataDir);
    await expect(open(dataDir, { modelId: "other-model" })).rejects.toThrow(/"test-model".*"other-model"/s);
    // The refusal changed nothing: the original settings still open it.
    const again = await open(dataDir);
    expect(await again.count()).toBe(1);
    await again.close();
  });

  it("refuses a data directory in use by another store", async () => {
    const dataDir = tempDir();
    const store = await open(dataDir);
    await expect(open(dataDir)).rejects.toThrow(/in use by another process/);
    await store.close();
    const after = await open(dataDir);
    await after.close();
  });

  it("migrates a version 1 database (no observations) in place, keeping its entries", async () => {
    const dataDir = tempDir();
    const store = await open(dataDir);
    const entry = entryOf(a, "from version 1", rotated(0));
    await store.put([entry]);
    await store.close();
    const db = new Database(join(dataDir, "semcache.db"));
    db.exec("ALTER TABLE entries DROP COLUMN observations; UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    db.close();
    const migrated = await open(dataDir);
    expect((await migrated.get(entry.id, Date.now()))?.observations).toEqual([]);
    expect(await migrated.addObservation(entry.id, { similarity: 0.9, correct: true, atMs: 5 }, Date.now())).toBe(true);
    expect((await migrated.search(a, rotated(0), 1, Date.now()))[0]?.entry.observations).toEqual([{ similarity: 0.9, correct: true, atMs: 5 }]);
    await migrated.close();
    const check = new Database(join(dataDir, "semcache.db"), { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe("2");
    check.close();
  });

  it("rejects vectors of the wrong length", async () => {
    const store = await open(tempDir());
    await expect(store.put([{ ...entryOf(a, "x", rotated(0)), vector: new Float32Array(3) }])).rejects.toThrow(/length 384/);
    await expect(store.search(a, new Float32Array(10), 1, Date.now())).rejects.toThrow(/length 384/);
    await store.close();
  });

  it("purges expired entries on its timer, removing rows and vectors", async () => {
    const store = await open(tempDir(), { purgeIntervalMs: 50 });
    const t0 = Date.now();
    const shortLived = entryOf(a, "short", rotated(0), { createdAtMs: t0, expiresAtMs: t0 + 200 });
    const forever = entryOf(a, "forever", rotated(0.3), { createdAtMs: t0 });
    await store.put([shortLived, forever]);
    // Asked as of t0 the entry is live, as long as its row exists.
    expect(await store.get(shortLived.id, t0)).toBeDefined();
    const deadline = Date.now() + 5_000;
    while ((await store.get(shortLived.id, t0)) !== undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await store.get(shortLived.id, t0)).toBeUndefined();
    expect((await store.search(a, rotated(0), 5, t0)).map((n) => n.entry.prompt)).toEqual(["forever"]);
    await store.close();
  });

  it("purges on demand and reports how many", async () => {
    const store = await open(tempDir(), { purgeIntervalMs: 0 });
    const now = Date.now();
    await store.put([
      ...Array.from({ length: 12 }, (_, i) => entryOf(a, `old ${i}`, randomUnit(i), { createdAtMs: now - 10, expiresAtMs: now - 1 })),
      entryOf(a, "live", randomUnit(100), { createdAtMs: now }),
    ]);
    expect(await store.purgeExpired()).toBe(12);
    expect(await store.purgeExpired()).toBe(0);
    expect(await store.count("ns-a")).toBe(1);
    await store.close();
  });

  it("moves a growing scope from exact search to HNSW without losing entries", async () => {
    const store = await open(tempDir(), { exactScopeLimit: 4 });
    const entries = Array.from({ length: 12 }, (_, i) => entryOf(a, `p${i}`, rotated(0.05 * (i + 1))));
    for (const entry of entries) await store.put([entry]);
    expect((await store.search(a, rotated(0), 3, Date.now())).map((n) => n.entry.prompt)).toEqual(["p0", "p1", "p2"]);
    await store.put([entryOf(a, "p0", rotated(1.5), { response: "moved" })]);
    expect((await store.search(a, rotated(0), 2, Date.now())).map((n) => n.entry.prompt)).toEqual(["p1", "p2"]);
    await store.close();
  });

  it("loads HNSW snapshots saved at close, catches up newer rows, and rebuilds bad or stale ones", async () => {
    const dataDir = tempDir();
    const n = 600;
    const entries = Array.from({ length: n }, (_, i) => entryOf(a, `s${i}`, randomUnit(i)));
    const check = async (store: EmbeddedStore, sample: number[]): Promise<void> => {
      for (const i of sample) {
        const found = await store.search(a, entries[i]!.vector, 1, Date.now());
        expect(found[0]?.entry.id).toBe(entries[i]!.id);
      }
    };

    const snapshotDir = join(dataDir, "hnsw");
    const savedCopy = join(dataDir, "hnsw-copy");
    // What a crash leaves: the snapshot of the last clean close, and newer rows.
    const restoreSnapshot = (): void => {
      rmSync(snapshotDir, { recursive: true, force: true });
      cpSync(savedCopy, snapshotDir, { recursive: true });
    };

    let store = await open(dataDir);
    await store.put(entries.slice(0, 500));
    await store.close();
    expect(existsSync(join(snapshotDir, "manifest.json"))).toBe(true);
    cpSync(snapshotDir, savedCopy, { recursive: true });

    // Clean restart: the graph comes from the snapshot.
    store = await open(dataDir, { snapshots: false });
    expect(store.loadReport).toMatchObject({ scopes: 1, vectors: 500, fromSnapshot: 1, inserted: 0 });
    await check(store, [0, 250, 499]);
    await store.put(entries.slice(500));
    await store.close();
    expect(existsSync(snapshotDir)).toBe(false);

    // Rows added after the snapshot are inserted on top of it.
    restoreSnapshot();
    store = await open(dataDir, { snapshots: false });
    expect(store.loadReport).toMatchObject({ vectors: 600, fromSnapshot: 1, inserted: 100 });
    await check(store, [0, 499, 500, 599]);
    // A replace deletes a row the snapshot holds: the snapshot is stale now.
    await store.put([entryOf(a, "s3", randomUnit(3), { response: "replaced" })]);
    await store.close();

    restoreSnapshot();
    store = await open(dataDir);
    expect(store.loadReport).toMatchObject({ vectors: 600, fromSnapshot: 0, inserted: 600 });
    await check(store, [0, 3, 599]);
    expect((await store.get(entries[3]!.id, Date.now()))?.response).toBe("replaced");
    await store.close();

    // A damaged snapshot file is detected before usearch reads it (usearch aborts on a truncated file).
    const file = join(snapshotDir, "0.usearch");
    truncateSync(file, Math.floor(statSync(file).size / 2));
    store = await open(dataDir);
    expect(store.loadReport).toMatchObject({ fromSnapshot: 0, inserted: 600 });
    await check(store, [1, 598]);
    await store.close();
  });

  it("writes accumulated hit counts on its timer", async () => {
    const dataDir = tempDir();
    const store = await open(dataDir, { hitFlushIntervalMs: 20 });
    const entry = entryOf(a, "hit me", rotated(0));
    await store.put([entry]);
    await store.recordHit(entry.id);
    await store.recordHit(entry.id);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Flushed: the count no longer depends on the in-memory increments.
    const internal = store as unknown as { pendingHits: Map<string, number> };
    expect(internal.pendingHits.size).toBe(0);
    expect((await store.get(entry.id, Date.now()))?.hits).toBe(2);
    await store.close();
  });

  it("keeps every acknowledged put when the process is killed mid-burst (kill -9)", async () => {
    const dataDir = tempDir();
    const script = join(import.meta.dirname, "put-and-report.ts");
    // node --import tsx, not the tsx CLI: the CLI runs the script in a
    // grandchild, which SIGKILL on the CLI would leave running.
    const child = spawn(process.execPath, ["--import", "tsx", script, dataDir], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    const acked: string[] = [];
    const lines = createInterface({ input: child.stdout });
    const drained = new Promise<void>((resolve) => lines.on("close", resolve));
    await new Promise<void>((resolve, reject) => {
      lines.on("line", (line) => {
        if (line.startsWith("ack ")) acked.push(line.slice(4));
        if (acked.length >= 500) resolve();
      });
      child.on("exit", () => reject(new Error(`child exited early: ${stderr}`)));
    });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    // Lines already in the pipe when it died were acknowledged too.
    await drained;

    const store = await open(dataDir, { modelId: "crash-test" });
    const missing: string[] = [];
    for (const id of acked) if ((await store.get(id, Date.now())) === undefined) missing.push(id);
    expect(missing).toEqual([]);
    expect(await store.count()).toBeGreaterThanOrEqual(acked.length);
    // The index was rebuilt from the database: a stored vector finds its own entry.
    const first = await store.get(acked[0]!, Date.now());
    const n = Number(first?.metadata["n"]);
    const found = await store.search(first!.scope, randomUnit(n), 1, Date.now());
    expect(found[0]?.entry.id).toBe(first!.id);
    await store.close();
  }, 60_000);
});
