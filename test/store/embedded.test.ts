import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { CacheStore } from "../../src/store/cache-store.js";
import { DataDirError, openEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from "../../src/store/embedded/index.js";
import { describeStoreContract } from "./support/contract.js";
import { DEFAULT_EXACT_SCOPE_LIMIT, DEFAULT_INDEX_PARAMS } from "../../src/store/embedded/index.js";
import { LayeredGraph } from "../../src/store/embedded/layered-graph.js";
import { ExactIndex, HnswIndex } from "../../src/store/embedded/vector-index.js";
import { ScopeIndexes, type ScopeState } from "../../src/store/embedded/scope-indexes.js";
import type { GraphBuilder } from "../../src/store/embedded/graph-build.js";
import { SemcacheError, StartupError } from "../../src/errors/index.js";
import { StoreUnavailableError } from "../../src/store/cache-store.js";
import { until } from "../support/eventually.js";
import { recordingLogger } from "../support/recording-logger.js";
import { cosine, DIM, entryOf, perturbed, randomUnit, rotated, scopeOf } from "./support/vectors.js";

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
  /** The id of the entry of scope `a` nearest to `vector`. */
  const best = async (store: EmbeddedStore, vector: Float32Array): Promise<string | undefined> =>
    (await store.search(a, vector, 1, Date.now()))[0]?.entry.id;
  /** The index state of a store's one scope. */
  const onlyScope = (store: EmbeddedStore): ScopeState => [...(store as unknown as { indexes: ScopeIndexes }).indexes.entries()][0]![1];

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

  it("links a scope's graph unchanged since it was loaded into the next snapshot instead of writing it again", async () => {
    const dataDir = tempDir();
    const HNSW_ABOVE_256 = { exactScopeLimit: 256, backgroundRebuildAbove: Infinity };
    const entries = Array.from({ length: 401 }, (_, i) => entryOf(a, `u${i}`, randomUnit(7000 + i)));
    const graphFile = join(dataDir, "hnsw", "0.usearch");
    let store = await open(dataDir, HNSW_ABOVE_256);
    await store.put(entries.slice(0, 400));
    await store.close();
    const written = statSync(graphFile);

    // Loaded from the snapshot, only read from, closed: the same file (inode), not a new write of it.
    store = await open(dataDir, HNSW_ABOVE_256);
    expect(store.loadReport).toMatchObject({ fromSnapshot: 1, inserted: 0 });
    expect((await store.search(a, entries[123]!.vector, 1, Date.now()))[0]?.entry.id).toBe(entries[123]!.id);
    await store.close();
    expect(statSync(graphFile).ino).toBe(written.ino);
    store = await open(dataDir, HNSW_ABOVE_256);
    expect(store.loadReport).toMatchObject({ scopes: 1, vectors: 400, fromSnapshot: 1, inserted: 0 });

    // One more row and a replaced one: the mapped graph cannot change, so it is linked again, the new
    // vectors go to a file of their own and the removed label into the manifest; the next open has both.
    await store.put([entries[400]!, entryOf(a, "u7", randomUnit(9_999), { response: "replaced" })]);
    await store.close();
    expect(statSync(graphFile).ino).toBe(written.ino);
    const addedFile = join(dataDir, "hnsw", "1.usearch");
    const manifest = JSON.parse(readFileSync(join(dataDir, "hnsw", "manifest.json"), "utf8")) as { format: number; scopes: Record<string, { count: number; added?: { count: number }; removed?: number[] }> };
    expect(manifest.format).toBe(2);
    expect(Object.values(manifest.scopes)[0]).toMatchObject({ count: 401, added: { count: 2 }, removed: [8] });
    const added = statSync(addedFile);
    store = await open(dataDir, HNSW_ABOVE_256);
    expect(store.loadReport).toMatchObject({ vectors: 401, fromSnapshot: 1, inserted: 0 });
    for (const i of [0, 200, 400]) expect((await store.search(a, entries[i]!.vector, 1, Date.now()))[0]?.entry.id).toBe(entries[i]!.id);
    expect((await store.search(a, randomUnit(9_999), 1, Date.now()))[0]?.entry.response).toBe("replaced");
    expect((await store.search(a, entries[7]!.vector, 1, Date.now()))[0]?.similarity).toBeLessThan(0.99);
    // Unchanged since that open: both files are linked, none written.
    await store.close();
    expect([statSync(graphFile).ino, statSync(addedFile).ino]).toEqual([written.ino, added.ino]);
  });

  it("loads HNSW snapshots saved at close, catches up newer and deleted rows, and rebuilds damaged ones", async () => {
    const dataDir = tempDir();
    // Scopes above 256 entries use HNSW here, so 500 entries make a graph to snapshot;
    // rebuilt on the event loop at open whatever their size (the next test covers the off-thread rebuild).
    const HNSW_ABOVE_256 = { exactScopeLimit: 256, backgroundRebuildAbove: Infinity };
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

    let store = await open(dataDir, HNSW_ABOVE_256);
    await store.put(entries.slice(0, 500));
    await store.close();
    expect(existsSync(join(snapshotDir, "manifest.json"))).toBe(true);
    cpSync(snapshotDir, savedCopy, { recursive: true });

    // Clean restart: the graph comes from the snapshot.
    store = await open(dataDir, { ...HNSW_ABOVE_256, snapshots: false });
    expect(store.loadReport).toMatchObject({ scopes: 1, vectors: 500, fromSnapshot: 1, inserted: 0 });
    await check(store, [0, 250, 499]);
    await store.put(entries.slice(500));
    await store.close();
    expect(existsSync(snapshotDir)).toBe(false);

    // Rows added after the snapshot are inserted on top of it.
    restoreSnapshot();
    store = await open(dataDir, { ...HNSW_ABOVE_256, snapshots: false });
    expect(store.loadReport).toMatchObject({ vectors: 600, fromSnapshot: 1, inserted: 100 });
    await check(store, [0, 499, 500, 599]);
    // A replace deletes a row the snapshot holds: the graph still has the old vector, which no search
    // returns (the row is gone), and the new one is inserted with the other newer rows.
    await store.put([entryOf(a, "s3", randomUnit(3), { response: "replaced" })]);
    await store.close();

    restoreSnapshot();
    store = await open(dataDir, HNSW_ABOVE_256);
    expect(store.loadReport).toMatchObject({ vectors: 600, fromSnapshot: 1, inserted: 101 });
    await check(store, [0, 3, 599]);
    expect((await store.get(entries[3]!.id, Date.now()))?.response).toBe("replaced");
    const nearest = await store.search(a, entries[3]!.vector, 5, Date.now());
    expect(nearest.map((m) => m.entry.response)).not.toContain(entries[3]!.response);
    expect(nearest.filter((m) => m.entry.id === entries[3]!.id)).toHaveLength(1);
    await store.close();

    // A damaged snapshot file is detected before usearch reads it (usearch aborts on a truncated file).
    // Damaged as a copy cut in half, not by truncating it in place: that inode may still be mapped by
    // the store closed above until it is collected, and touching a mapped page past the end kills the
    // process (SIGBUS). The server never changes a snapshot file in place, for that reason.
    const file = join(snapshotDir, "0.usearch");
    const half = readFileSync(file).subarray(0, Math.floor(statSync(file).size / 2));
    rmSync(file);
    writeFileSync(file, half);
    store = await open(dataDir, HNSW_ABOVE_256);
    expect(store.loadReport).toMatchObject({ fromSnapshot: 0, inserted: 600 });
    await check(store, [1, 598]);
    await store.close();
  });

  it("after a crash left no usable graph, serves a large scope exactly at once, then switches to a graph built on a worker thread", async () => {
    const dataDir = tempDir();
    const limits = { exactScopeLimit: 256 };
    const n = 1_200;
    const entries = Array.from({ length: n }, (_, i) => entryOf(a, `c${i}`, randomUnit(50_000 + i)));
    let store = await open(dataDir, { ...limits, snapshots: false }); // closes leaving no snapshot, as a kill -9 would
    await store.put(entries);
    await store.close();
    expect(existsSync(join(dataDir, "hnsw"))).toBe(false);

    const { logger, records } = recordingLogger();
    store = await open(dataDir, { ...limits, logger });
    expect(store.loadReport).toMatchObject({ vectors: n, fromSnapshot: 0, inserted: 0 });
    expect(records.map((r) => r.msg)).toEqual([expect.stringMatching(/no usable HNSW snapshot for some large scopes/)]);
    expect(store.loadReport.graphsToBuild).toHaveLength(1);
    const state = onlyScope(store);
    expect(state.index).toBeInstanceOf(ExactIndex);
    expect(state.building).toBeDefined();
    // Right answers before the graph exists, and writes and a replace meanwhile.
    for (const i of [0, 600, n - 1]) expect(await best(store, entries[i]!.vector)).toBe(entries[i]!.id);
    const later = Array.from({ length: 40 }, (_, i) => entryOf(a, `later${i}`, randomUnit(60_000 + i)));
    await store.put(later);
    await store.put([entryOf(a, "c5", randomUnit(70_000), { response: "replaced" })]);
    expect(await best(store, later[3]!.vector)).toBe(later[3]!.id);

    await until(() => state.index instanceof LayeredGraph, "the graph built on the worker is in use", 120_000, 50);
    expect(state.index).toBeInstanceOf(LayeredGraph);
    expect(state.building).toBeUndefined();
    expect(state.index.size).toBe(n + 40);
    expect(records.at(-1)).toMatchObject({ msg: expect.stringMatching(/graph built in the background/), vectors: n + 40 });
    for (const i of [0, 600, n - 1]) expect(await best(store, entries[i]!.vector)).toBe(entries[i]!.id);
    for (const i of [0, 39]) expect(await best(store, later[i]!.vector)).toBe(later[i]!.id);
    // The replaced row's old vector left the graph with it.
    expect((await store.search(a, randomUnit(70_000), 1, Date.now()))[0]?.entry.response).toBe("replaced");
    expect((await store.search(a, entries[5]!.vector, 1, Date.now()))[0]?.similarity).toBeLessThan(0.99);
    await store.close();
    expect(existsSync(join(dataDir, "hnsw", "manifest.json"))).toBe(true);
    // The worker's graph file, mapped until then, was linked into the snapshot and left the build directory.
    expect(readdirSync(join(dataDir, "hnsw-build"))).toEqual([]);

    // The graph, now snapshotted, is loaded at the next open; closing during a build stops it.
    store = await open(dataDir, limits);
    expect(store.loadReport).toMatchObject({ fromSnapshot: 1, inserted: 0, graphsToBuild: [] });
    await store.close();
    rmSync(join(dataDir, "hnsw"), { recursive: true });
    store = await open(dataDir, limits);
    expect(store.loadReport.graphsToBuild).toHaveLength(1);
    await store.close();
    store = await open(dataDir, { ...limits, backgroundRebuildAbove: Infinity });
    expect(store.loadReport).toMatchObject({ inserted: n + 40, graphsToBuild: [] });
    expect(await best(store, later[1]!.vector)).toBe(later[1]!.id);
    await store.close();
  });

  it("after a crash long after the last snapshot, reuses it and searches the many newer rows exactly until they are moved into the graph", async () => {
    const dataDir = tempDir();
    const limits = { exactScopeLimit: 128, backgroundRebuildAbove: 100 };
    const old = Array.from({ length: 400 }, (_, i) => entryOf(a, `o${i}`, randomUnit(100_000 + i)));
    const newer = Array.from({ length: 300 }, (_, i) => entryOf(a, `n${i}`, randomUnit(110_000 + i)));
    const snapshotDir = join(dataDir, "hnsw");
    const savedCopy = join(dataDir, "hnsw-copy");
    let store = await open(dataDir, limits);
    await store.put(old);
    await store.close();
    cpSync(snapshotDir, savedCopy, { recursive: true });
    // 300 rows and a replace after the snapshot, then a crash: the snapshot of the last clean stop is what is left.
    store = await open(dataDir, { ...limits, snapshots: false });
    await store.put(newer);
    await store.put([entryOf(a, "o3", randomUnit(120_000), { response: "replaced" })]);
    await store.close();
    cpSync(savedCopy, snapshotDir, { recursive: true });

    const { logger, records } = recordingLogger();
    store = await open(dataDir, { ...limits, logger });
    expect(store.loadReport).toMatchObject({ vectors: 700, fromSnapshot: 1, inserted: 0, graphsToBuild: [], tailsToAbsorb: [a.scopeKey] });
    expect(records.map((r) => r.msg)).toContainEqual(expect.stringMatching(/many rows were written after the last HNSW snapshot/));
    const state = onlyScope(store);
    const graph = state.index as LayeredGraph;
    expect(graph).toBeInstanceOf(LayeredGraph);
    expect(graph.tailSize).toBe(301);
    // Right answers at once, from the graph and from the tail; writes meanwhile join the tail.
    for (const e of [old[0]!, old[399]!, newer[0]!, newer[299]!]) expect(await best(store, e.vector)).toBe(e.id);
    expect((await store.search(a, randomUnit(120_000), 1, Date.now()))[0]?.entry.response).toBe("replaced");
    const during = Array.from({ length: 20 }, (_, i) => entryOf(a, `d${i}`, randomUnit(130_000 + i)));
    await store.put(during);
    await store.put([entryOf(a, "n5", randomUnit(140_000), { response: "replaced too" })]);

    await until(() => graph.tailSize === 0, "the tail is absorbed", 60_000, 20);
    expect(graph.tailSize).toBe(0);
    expect(state.index).toBe(graph);
    expect(state.expiry.size).toBe(720);
    // 721 vectors: the replaced row's old one, deleted after the snapshot, stays in the mapped graph unseen.
    expect(graph.size).toBe(721);
    expect(records.at(-1)).toMatchObject({ msg: expect.stringMatching(/graph built in the background/), vectors: 720 });
    for (const e of [old[1]!, newer[1]!, newer[298]!, during[0]!, during[19]!]) expect(await best(store, e.vector)).toBe(e.id);
    expect((await store.search(a, randomUnit(140_000), 1, Date.now()))[0]?.entry.response).toBe("replaced too");
    expect((await store.search(a, newer[5]!.vector, 1, Date.now()))[0]?.similarity).toBeLessThan(0.99);
    await store.close();
    // The snapshot counts what its graphs hold, the unseen old vector too, so the next start still counts it dead.
    const manifest = JSON.parse(readFileSync(join(snapshotDir, "manifest.json"), "utf8")) as { scopes: Record<string, { count: number }> };
    expect(manifest.scopes[a.scopeKey]?.count).toBe(721);
    store = await open(dataDir, limits);
    expect(store.loadReport).toMatchObject({ vectors: 720, fromSnapshot: 1, inserted: 0, tailsToAbsorb: [] });
    await store.close();

    // A stop in the middle of the absorbing saves what the graphs hold; the rest is a tail again at the next start.
    rmSync(snapshotDir, { recursive: true });
    cpSync(savedCopy, snapshotDir, { recursive: true });
    store = await open(dataDir, limits);
    expect(store.loadReport).toMatchObject({ fromSnapshot: 1, tailsToAbsorb: [a.scopeKey] });
    await new Promise((r) => setImmediate(r));
    await store.close();
    store = await open(dataDir, limits);
    expect(store.loadReport).toMatchObject({ vectors: 720, fromSnapshot: 1 });
    for (const e of [old[2]!, newer[2]!, newer[297]!, during[3]!]) expect(await best(store, e.vector)).toBe(e.id);
    await store.close();
  });

  it("rebuilds a snapshot's mapped graph in the background once most of it has expired, serving and taking writes meanwhile", async () => {
    const dataDir = tempDir();
    // Graphs above 128 entries, so that the 230 left are still a graph at the last open.
    const limits = { exactScopeLimit: 128, purgeIntervalMs: 0 };
    const now = Date.now();
    const hour = 3_600_000;
    // 300 of 600 entries expire in an hour, 100 more in two: then two thirds of the mapped graph is dead.
    const expiresAtMs = (i: number): number => (i < 300 ? now + hour : i < 400 ? now + 2 * hour : 0);
    const entries = Array.from({ length: 600 }, (_, i) => entryOf(a, `e${i}`, randomUnit(80_000 + i), { expiresAtMs: expiresAtMs(i) }));
    let store = await open(dataDir, limits);
    await store.put(entries);
    await store.close();

    const { logger, records } = recordingLogger();
    store = await open(dataDir, { ...limits, logger });
    expect(store.loadReport).toMatchObject({ fromSnapshot: 1, inserted: 0 });
    const state = onlyScope(store);
    const mappedAtOpen = state.index;
    expect(mappedAtOpen).toBeInstanceOf(LayeredGraph);

    // Purging 300 leaves the graph half dead: not yet rebuilt.
    expect(await store.purgeExpired(now + 1.5 * hour)).toBe(300);
    expect(state.building).toBeUndefined();
    // Now 400 of 600 mapped vectors are gone: the rebuild starts, and the old graph goes on serving.
    expect(await store.purgeExpired(now + 2.5 * hour)).toBe(100);
    expect(state.building).toBeDefined();
    expect(records.map((r) => r.msg)).toContainEqual(expect.stringMatching(/most of a scope's memory-mapped graph was removed/));
    expect(await best(store, entries[450]!.vector)).toBe(entries[450]!.id);
    // Writes while it is rebuilt: new rows, and a replace of a row the rebuild has read.
    const fresh = Array.from({ length: 30 }, (_, i) => entryOf(a, `fresh${i}`, randomUnit(90_000 + i)));
    await store.put(fresh);
    await store.put([entryOf(a, "e500", randomUnit(95_000), { response: "replaced" })]);

    await until(() => state.building === undefined, "the rebuild is done", 120_000, 50);
    expect(state.index).toBeInstanceOf(LayeredGraph);
    expect(state.index).not.toBe(mappedAtOpen);
    const layers = (state.index as LayeredGraph).layers;
    // The new mapped graph holds only the live rows (at most the replaced row's old vector is removed from it).
    expect(layers.mapped.size).toBeLessThanOrEqual(200);
    expect(state.index.size).toBe(230);
    expect(records.at(-1)).toMatchObject({ msg: expect.stringMatching(/graph built in the background/), vectors: 230 });
    for (const i of [400, 499, 599]) expect(await best(store, entries[i]!.vector)).toBe(entries[i]!.id);
    for (const i of [0, 29]) expect(await best(store, fresh[i]!.vector)).toBe(fresh[i]!.id);
    expect((await store.search(a, randomUnit(95_000), 1, Date.now()))[0]?.entry.response).toBe("replaced");
    expect((await store.search(a, entries[500]!.vector, 1, Date.now()))[0]?.similarity).toBeLessThan(0.99);
    // Expired rows are never served, before or after.
    expect(await best(store, entries[10]!.vector)).not.toBe(entries[10]!.id);
    await store.close();

    // The rebuilt graph is what the next start maps.
    store = await open(dataDir, limits);
    expect(store.loadReport).toMatchObject({ vectors: 230, fromSnapshot: 1, inserted: 0 });
    expect(await best(store, fresh[7]!.vector)).toBe(fresh[7]!.id);
    await store.close();
  });

  it("merges a snapshot's mapped graph and the in-memory graph that outgrew it into one graph, which the next start maps", async () => {
    const dataDir = tempDir();
    const limits = { exactScopeLimit: 128, purgeIntervalMs: 0 };
    const first = Array.from({ length: 300 }, (_, i) => entryOf(a, `m${i}`, randomUnit(96_000 + i)));
    const later = Array.from({ length: 301 }, (_, i) => entryOf(a, `n${i}`, randomUnit(97_000 + i)));
    let store = await open(dataDir, limits);
    await store.put(first);
    await store.close();

    const { logger, records } = recordingLogger();
    store = await open(dataDir, { ...limits, logger });
    const state = onlyScope(store);
    await store.put(later.slice(0, 300));
    // As many in memory as mapped: still two layers.
    expect(state.building).toBeUndefined();
    await store.put(later.slice(300));
    expect(state.building).toBeDefined();
    expect(records).toContainEqual(expect.objectContaining({ reason: "outgrown", mapped: 300, added: 301 }));
    await until(() => state.building === undefined, "the rebuild is done", 120_000, 50);
    const merged = (state.index as LayeredGraph).layers;
    expect(merged.mapped.size).toBe(601);
    expect(merged.added).toBeUndefined();
    for (const e of [first[0]!, first[299]!, later[0]!, later[300]!]) expect(await best(store, e.vector)).toBe(e.id);
    await store.close();

    store = await open(dataDir, limits);
    expect(store.loadReport).toMatchObject({ vectors: 601, fromSnapshot: 1, inserted: 0 });
    const reopened = onlyScope(store).index as LayeredGraph;
    expect(reopened.layers.added).toBeUndefined();
    expect(await best(store, later[150]!.vector)).toBe(later[150]!.id);
    await store.close();
  });

  it("stops rebuilding a mostly removed graph when its scope is flushed meanwhile", async () => {
    const dataDir = tempDir();
    const limits = { exactScopeLimit: 256, purgeIntervalMs: 0 };
    const now = Date.now();
    let store = await open(dataDir, limits);
    await store.put(Array.from({ length: 600 }, (_, i) => entryOf(a, `f${i}`, randomUnit(85_000 + i), { expiresAtMs: i < 400 ? now + 60_000 : 0 })));
    await store.close();
    store = await open(dataDir, limits);
    const indexes = (store as unknown as { indexes: ScopeIndexes }).indexes;
    expect(await store.purgeExpired(now + 120_000)).toBe(400);
    expect([...indexes.entries()][0]![1].building).toBeDefined();
    expect(await store.flushNamespace(a.namespace)).toBe(200);
    expect(indexes.has(a.scopeKey)).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(indexes.has(a.scopeKey)).toBe(false);
    await store.put([entryOf(a, "again", randomUnit(1))]);
    expect((await store.search(a, randomUnit(1), 1, Date.now()))[0]?.entry.prompt).toBe("again");
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
    const script = join(import.meta.dirname, "support", "put-and-report.ts");
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

describe("embedded store recall: a semantic hit is the true best entry of its scope", () => {
  // The reproduction, rebuilt from test vectors: ~1,400 entries in one
  // scope, in clusters of 100 close neighbours around 14 random centres, and
  // queries that are stored vectors perturbed again, so each query's true best
  // has near rivals in its cluster (as paraphrased questions do).
  const N = 1400;
  const golden = (i: number): number => (i * 0.6180339887) % 1;
  const centres = Array.from({ length: 14 }, (_, c) => randomUnit(90_000 + c));
  const vectors = Array.from({ length: N }, (_, i) => perturbed(centres[i % 14]!, 0.75 + 0.22 * golden(i), 100_000 + i));
  const queries = Array.from({ length: 200 }, (_, q) => perturbed(vectors[(q * 37) % N]!, 0.85 + 0.12 * golden(q + 7), 200_000 + q));
  const exactBest = (query: Float32Array): number => {
    let best = 0;
    for (let i = 1; i < N; i++) if (cosine(vectors[i]!, query) > cosine(vectors[best]!, query)) best = i;
    return best;
  };
  const truth = queries.map(exactBest);
  const scope = scopeOf("recall");
  const entries = vectors.map((vector, i) => entryOf(scope, `entry ${i}`, vector));

  it("an HNSW graph searched for the k asked (as before) misses some of these true bests", () => {
    const hnsw = HnswIndex.create(DIM, DEFAULT_INDEX_PARAMS);
    const flat = new Float32Array(N * DIM);
    for (const [i, v] of vectors.entries()) flat.set(v, i * DIM);
    hnsw.add(Array.from({ length: N }, (_, i) => i + 1), flat);
    const missed = queries.filter((query, q) => hnsw.search(query, 4)[0]?.label !== truth[q]! + 1).length;
    expect(missed).toBeGreaterThan(0);
  });

  it(`searches a scope of up to ${DEFAULT_EXACT_SCOPE_LIMIT} entries exactly: every query gets its true best`, async () => {
    expect(N).toBeLessThanOrEqual(DEFAULT_EXACT_SCOPE_LIMIT);
    const store = await open(tempDir());
    await store.put(entries);
    for (let q = 0; q < queries.length; q++) {
      const top = (await store.search(scope, queries[q]!, 4, Date.now()))[0];
      expect(top?.entry.id).toBe(entries[truth[q]!]!.id);
      expect(top?.similarity).toBeCloseTo(cosine(vectors[truth[q]!]!, queries[q]!), 5);
    }
    await store.close();
  });

  it("above the exact limit, searches a widened HNSW candidate set and still finds every true best", async () => {
    const store = await open(tempDir(), { exactScopeLimit: 256 });
    await store.put(entries);
    const found = await Promise.all(queries.map(async (query) => (await store.search(scope, query, 4, Date.now()))[0]?.entry.id));
    expect(found).toEqual(truth.map((i) => entries[i]!.id));
    await store.close();
  });
});

describe("embedded store: the cost and number of scopes", () => {
  it("holds a small scope's vectors in storage that grows with them, not a block reserved up front", () => {
    const index = new ExactIndex(DIM);
    index.add([1], randomUnit(1));
    expect(index.contents().vectors.buffer.byteLength).toBe(DIM * 4);
    index.add([2], randomUnit(2));
    index.add([3, 4, 5], new Float32Array(3 * DIM).fill(0.1));
    expect(index.size).toBe(5);
    // Grown by half again at most, beyond what it holds.
    expect(index.contents().vectors.buffer.byteLength).toBeLessThanOrEqual(Math.ceil(5 * 1.5) * DIM * 4);
    expect(index.search(randomUnit(2), 1)[0]?.label).toBe(2);
    // A scope that shrinks gives its room back.
    const big = new ExactIndex(DIM);
    big.add(Array.from({ length: 100 }, (_, i) => i + 1), new Float32Array(100 * DIM).fill(0.1));
    for (let label = 1; label <= 95; label++) big.remove(label);
    expect(big.size).toBe(5);
    expect(big.contents().vectors.buffer.byteLength).toBeLessThanOrEqual(20 * DIM * 4);
    expect(big.contents().labels.sort((x, y) => x - y)).toEqual([96, 97, 98, 99, 100]);
  });

  it("refuses a put that would give a namespace more scopes than the limit, naming the setting", async () => {
    const store = await open(tempDir(), { maxScopesPerNamespace: 3 });
    const scopes = [0, 1, 2].map((i) => scopeOf("tenant", "m", { v: String(i) }));
    // Two new scopes in one batch count as two.
    await store.put([entryOf(scopes[0]!, "q0", rotated(0)), entryOf(scopes[1]!, "q1", rotated(0.1))]);
    await store.put([entryOf(scopes[2]!, "q2", rotated(0.2))]);
    const fourth = scopeOf("tenant", "m", { v: "3" });
    const refusal = await store.put([entryOf(scopes[0]!, "fine", rotated(0)), entryOf(fourth, "too many", rotated(0))]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(SemcacheError);
    expect((refusal as SemcacheError).code).toBe("resource_exhausted");
    expect((refusal as SemcacheError).message).toMatch(/namespace "tenant" already has 3 scopes .*SEMCACHE_MAX_SCOPES_PER_NAMESPACE allows \(3\)/);
    // All or nothing: the refused put wrote neither entry.
    expect(await store.count("tenant")).toBe(3);
    // Concurrent puts cannot slip past the limit together.
    const racing = await Promise.allSettled([4, 5].map((i) => store.put([entryOf(scopeOf("tenant", "m", { v: String(i) }), "race", rotated(0))])));
    expect(racing.every((r) => r.status === "rejected")).toBe(true);
    // Existing scopes and other namespaces still take writes.
    await store.put([entryOf(scopes[1]!, "more", rotated(0.3))]);
    await store.put([entryOf(scopeOf("other"), "elsewhere", rotated(0))]);
    // A flush makes room again.
    await store.flushNamespace("tenant");
    await store.put([entryOf(fourth, "room again", rotated(0))]);
    expect(await store.count("tenant")).toBe(1);
    await store.close();
  });

  it("frees a scope's slot when its last entry is purged, and counts scopes loaded at open", async () => {
    const dataDir = tempDir();
    let store = await open(dataDir, { maxScopesPerNamespace: 2 });
    const now = Date.now();
    await store.put([entryOf(scopeOf("t", "m", { v: "short" }), "brief", rotated(0), { expiresAtMs: now + 50 })]);
    await store.put([entryOf(scopeOf("t", "m", { v: "long" }), "lasting", rotated(0))]);
    await expect(store.put([entryOf(scopeOf("t", "m", { v: "third" }), "x", rotated(0))])).rejects.toThrow(/already has 2 scopes/);
    expect(await store.purgeExpired(now + 100)).toBe(1);
    await store.put([entryOf(scopeOf("t", "m", { v: "third" }), "x", rotated(0))]);
    await store.close();
    store = await open(dataDir, { maxScopesPerNamespace: 2 });
    await expect(store.put([entryOf(scopeOf("t", "m", { v: "fourth" }), "y", rotated(0))])).rejects.toThrow(/already has 2 scopes/);
    await store.close();
  });
});

describe("embedded store: its data directory deleted or replaced while running", () => {
  const a = scopeOf("ns-a");
  it("refuses writes and pings from then on, naming the path, reports it once, and still reads", async () => {
    const dataDir = join(tempDir(), "data");
    const { logger, records } = recordingLogger();
    const store = await open(dataDir, { logger, dataDirCheckIntervalMs: 0 });
    const entry = entryOf(a, "before", rotated(0));
    await store.put([entry]);
    await store.ping();
    rmSync(dataDir, { recursive: true, force: true });
    const refusal = await store.put([entryOf(a, "after", rotated(0.1))]).then(() => undefined, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(StoreUnavailableError);
    expect((refusal as StoreUnavailableError).code).toBe("unavailable");
    expect((refusal as StoreUnavailableError).permanent).toBe(true);
    expect((refusal as Error).message).toContain(`the data directory ${dataDir} was deleted`);
    await expect(store.ping()).rejects.toThrow(dataDir);
    await expect(store.addObservation(entry.id, { similarity: 0.9, correct: true, atMs: 1 }, Date.now())).rejects.toThrow(/deleted/);
    await expect(store.flushAll()).rejects.toThrow(/deleted/);
    expect(records.filter((r) => r.level >= 50)).toHaveLength(1);
    expect(records[0]?.err?.message).toContain(`the data directory ${dataDir} was deleted`);
    expect(records[0]?.dataDir).toBe(dataDir);
    // What was stored can still be served from the open database.
    expect((await store.get(entry.id, Date.now()))?.response).toBe(entry.response);
    await store.close();
    expect(existsSync(dataDir)).toBe(false);
  });

  it("notices on its timer, and notices a directory replaced by another", async () => {
    const parent = tempDir();
    const dataDir = join(parent, "data");
    const { logger, records: reported } = recordingLogger();
    const store = await open(dataDir, { logger, dataDirCheckIntervalMs: 20 });
    await store.put([entryOf(a, "q", rotated(0))]);
    // Replaced: moved away and a fresh copy put in its place.
    renameSync(dataDir, join(parent, "moved"));
    cpSync(join(parent, "moved"), dataDir, { recursive: true });
    const deadline = Date.now() + 5_000;
    while (reported.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(reported[0]?.msg).toMatch(/was replaced by another directory or database/);
    await expect(store.put([entryOf(a, "r", rotated(0))])).rejects.toThrow(/replaced/);
    await store.close();
  });

  it("refuses a corrupt database at open, naming its path", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "semcache.db"), "this is not an SQLite database, just some bytes ".repeat(200));
    const error = await open(dataDir).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirError);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toContain(join(dataDir, "semcache.db"));
    expect((error as Error).message).toMatch(/not a readable semcache database/);
  });
});

describe("embedded store: a scope outgrowing exact search", () => {
  it("keeps serving exactly while its HNSW graph is built in the background, then switches, losing nothing", async () => {
    const indexes = new ScopeIndexes(DIM, DEFAULT_INDEX_PARAMS, 50);
    indexes.promoteInBackground = true;
    const vectors = Array.from({ length: 400 }, (_, i) => randomUnit(7_000 + i));
    const add = (from: number, to: number): void =>
      indexes.add("s", "ns", vectors.slice(from, to).map((vector, i) => ({ label: from + i + 1, expiresAtMs: 0, vector })));
    const best = (i: number): number | undefined => indexes.search("s", vectors[i]!, 1, Date.now())[0]?.label;
    add(0, 40);
    add(40, 300); // crosses the limit: the build starts
    const state = [...indexes.entries()][0]![1];
    expect(state.index).toBeInstanceOf(ExactIndex);
    expect(state.building).toBeDefined();
    // Served exactly meanwhile, with adds and removes during the build.
    for (const i of [0, 150, 299]) expect(best(i)).toBe(i + 1);
    add(300, 400);
    indexes.remove("s", 11);
    indexes.remove("s", 390);
    for (let turn = 0; turn < 100 && state.building !== undefined; turn++) await new Promise((r) => setImmediate(r));
    expect(state.index).toBeInstanceOf(HnswIndex);
    expect(state.index.size).toBe(398);
    for (const i of [0, 150, 299, 300, 398]) expect(best(i)).toBe(i + 1);
    expect(best(10)).not.toBe(11);
    expect(best(389)).not.toBe(390);
  });

  it("finishes a build at once when writes outpace it (a bulk load)", () => {
    const indexes = new ScopeIndexes(DIM, DEFAULT_INDEX_PARAMS, 10);
    indexes.promoteInBackground = true;
    const item = (label: number) => ({ label, expiresAtMs: 0, vector: randomUnit(label) });
    indexes.add("s", "ns", Array.from({ length: 10 }, (_, i) => item(i + 1)));
    indexes.add("s", "ns", [item(11)]); // crosses: build queued
    indexes.add("s", "ns", Array.from({ length: 30 }, (_, i) => item(100 + i))); // queue > 2 × limit
    const state = [...indexes.entries()][0]![1];
    expect(state.index).toBeInstanceOf(HnswIndex);
    expect(state.index.size).toBe(41);
    expect(indexes.search("s", randomUnit(120), 1, Date.now())[0]?.label).toBe(120);
  });

  it("builds on the event loop instead when the off-thread build fails, and stops an off-thread build whose scope is dropped", async () => {
    const indexes = new ScopeIndexes(DIM, DEFAULT_INDEX_PARAMS, 10);
    const item = (label: number) => ({ label, expiresAtMs: 0, vector: randomUnit(label) });
    const exact = new ExactIndex(DIM);
    const rows = Array.from({ length: 60 }, (_, i) => item(i + 1));
    exact.add(rows.map((r) => r.label), Float32Array.from(rows.flatMap((r) => [...r.vector])));
    indexes.install("s", { namespace: "ns", index: exact, expiry: new Map(rows.map((r) => [r.label, 0])) });
    indexes.promoteInBackground = true;
    const errors: unknown[] = [];
    indexes.onBuildError = (error) => errors.push(error);
    const failing: GraphBuilder = () => ({ done: Promise.reject(new Error("worker died")), stop: () => undefined });
    indexes.buildGraphOffThread("s", failing);
    const state = [...indexes.entries()][0]![1];
    for (let turn = 0; turn < 100 && !(state.index instanceof HnswIndex); turn++) await new Promise((r) => setImmediate(r));
    expect(errors.map(String)).toEqual(["Error: worker died"]);
    expect(state.index).toBeInstanceOf(HnswIndex);
    expect(state.index.size).toBe(60);
    expect(indexes.search("s", randomUnit(33), 1, Date.now())[0]?.label).toBe(33);

    const other = new ExactIndex(DIM);
    other.add(rows.map((r) => r.label), Float32Array.from(rows.flatMap((r) => [...r.vector])));
    indexes.install("t", { namespace: "other", index: other, expiry: new Map(rows.map((r) => [r.label, 0])) });
    let stopped = 0;
    const never: GraphBuilder = () => ({ done: new Promise<LayeredGraph>(() => undefined), stop: () => stopped++ });
    indexes.buildGraphOffThread("t", never);
    indexes.dropNamespace("other");
    expect(stopped).toBe(1);
    expect(indexes.has("t")).toBe(false);
  });

  it("abandons a build when its scope is flushed meanwhile", async () => {
    const indexes = new ScopeIndexes(DIM, DEFAULT_INDEX_PARAMS, 10);
    indexes.promoteInBackground = true;
    indexes.add("s", "ns", Array.from({ length: 300 }, (_, i) => ({ label: i + 1, expiresAtMs: 0, vector: randomUnit(i) })));
    indexes.dropNamespace("ns");
    indexes.add("s", "ns", [{ label: 1_000, expiresAtMs: 0, vector: randomUnit(1) }]);
    for (let turn = 0; turn < 10; turn++) await new Promise((r) => setImmediate(r));
    const state = [...indexes.entries()][0]![1];
    expect(state.index).toBeInstanceOf(ExactIndex);
    expect(state.index.size).toBe(1);
    expect(indexes.search("s", randomUnit(1), 5, Date.now()).map((m) => m.label)).toEqual([1_000]);
  });
});
