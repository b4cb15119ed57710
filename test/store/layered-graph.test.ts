import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_INDEX_PARAMS, openEmbeddedStore } from "../../src/store/embedded/index.js";
import { LayeredGraph, REBUILD_MS_PER_VECTOR } from "../../src/store/embedded/layered-graph.js";
import { workerGraphBuilder, type GraphBuilder } from "../../src/store/embedded/graph-build.js";
import { REBUILD_RATE_WEIGHT, ScopeIndexes, TIMED_BUILD_MIN_VECTORS } from "../../src/store/embedded/scope-indexes.js";
import { ExactIndex, HnswIndex } from "../../src/store/embedded/vector-index.js";
import { cosine, DIM, entryOf, randomUnit, scopeOf } from "./support/vectors.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "semcache-layered-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const flat = (vectors: readonly Float32Array[], dim = DIM): Float32Array<ArrayBuffer> => {
  const out = new Float32Array(vectors.length * dim);
  for (const [i, v] of vectors.entries()) out.set(v, i * dim);
  return out;
};

/** A graph of `labels` and their `vectors` saved to a file and mapped back. */
function savedAndMapped(labels: readonly number[], vectors: Float32Array, dim = DIM): HnswIndex {
  const path = join(tempDir(), "g.usearch");
  const graph = HnswIndex.create(dim, DEFAULT_INDEX_PARAMS);
  graph.add(labels, vectors);
  graph.save(path);
  return HnswIndex.map(path, dim, DEFAULT_INDEX_PARAMS, labels.length);
}

/** A graph of labels 1..n saved to a file and mapped back. */
function mappedGraph(vectors: readonly Float32Array[], dim = DIM): HnswIndex {
  return savedAndMapped(
    vectors.map((_, i) => i + 1),
    flat(vectors, dim),
    dim,
  );
}

describe("layered graph: a mapped graph plus additions and removals", () => {
  const vectors = Array.from({ length: 300 }, (_, i) => randomUnit(40_000 + i));

  it("maps a saved graph read-only, and layers adds and removes on top of it", () => {
    const mapped = mappedGraph(vectors);
    expect(mapped.mapped).toBe(true);
    expect(() => mapped.add([999], randomUnit(1))).toThrow();
    const graph = new LayeredGraph(mapped, DIM, DEFAULT_INDEX_PARAMS, 1);
    const extra = Array.from({ length: 50 }, (_, i) => randomUnit(50_000 + i));
    graph.add(extra.map((_, i) => 1_001 + i), flat(extra));
    expect(graph.remove(5)).toBe(true); // from the mapped graph
    expect(graph.remove(5)).toBe(false);
    expect(graph.remove(1_010)).toBe(true); // from the additions
    expect(graph.remove(77_777)).toBe(false);
    expect(graph.size).toBe(300 + 50 - 2);
    expect(graph.containsAll([1, 300, 1_001, 1_050])).toBe(true);
    expect(graph.containsAll([5])).toBe(false);
    expect(graph.containsAll([1_010])).toBe(false);
    // Each live vector finds itself, from either layer; the removed ones are never returned.
    for (const i of [0, 150, 299]) expect(graph.search(vectors[i]!, 1)[0]?.label).toBe(i + 1);
    for (const i of [0, 49]) expect(graph.search(extra[i]!, 1)[0]).toMatchObject({ label: 1_001 + i });
    expect(graph.search(vectors[4]!, 10).map((m) => m.label)).not.toContain(5);
    expect(graph.search(extra[9]!, 10).map((m) => m.label)).not.toContain(1_010);
    const merged = graph.search(vectors[0]!, 20);
    expect(merged.map((m) => m.distance)).toEqual([...merged.map((m) => m.distance)].sort((x, y) => x - y));
  });

  it("asks the mapped graph for more when removed labels crowd out a query's nearest", () => {
    const graph = new LayeredGraph(mappedGraph(vectors), DIM, DEFAULT_INDEX_PARAMS, 1);
    const query = vectors[42]!;
    const byCloseness = vectors.map((v, i) => ({ label: i + 1, similarity: cosine(v, query) })).sort((x, y) => y.similarity - x.similarity);
    for (const { label } of byCloseness.slice(0, 40)) graph.remove(label);
    expect(graph.search(query, 3).map((m) => m.label)).toEqual(byCloseness.slice(40, 43).map((m) => m.label));
  });

  it("searches a tail exactly, keeps adds in it while it lasts, and absorbs it into the in-memory graph oldest first", () => {
    const graph = new LayeredGraph(mappedGraph(vectors), DIM, DEFAULT_INDEX_PARAMS, 1);
    const tail = Array.from({ length: 250 }, (_, i) => randomUnit(47_000 + i));
    graph.addToTail(tail.map((_, i) => 1_001 + i), flat(tail));
    graph.add([2_000], randomUnit(48_000)); // joins the tail: its label comes last
    expect(graph.tailSize).toBe(251);
    expect(graph.remove(1_010)).toBe(true);
    expect(graph.size).toBe(300 + 250);
    expect(graph.search(tail[100]!, 1)[0]?.label).toBe(1_101);
    expect(graph.absorb(200)).toBe(false);
    // The 200 oldest left the tail: 1,001 to 1,201, less the removed 1,010; the rest are still in it.
    expect(graph.layers.inTail(1_201)).toBe(false);
    expect(graph.layers.inTail(1_202)).toBe(true);
    expect(graph.layers.inTail(2_000)).toBe(true);
    expect(graph.containsAll([1, 1_001, 1_249, 2_000])).toBe(true);
    expect(graph.containsAll([1_010])).toBe(false);
    expect(graph.absorb(200)).toBe(true);
    expect(graph.tailSize).toBe(0);
    expect(graph.size).toBe(300 + 250);
    for (const i of [0, 120, 249]) expect(graph.search(tail[i]!, 1)[0]?.label).toBe(1_001 + i);
    expect(graph.search(tail[9]!, 1)[0]?.label).not.toBe(1_010);
    graph.add([2_001], randomUnit(48_001)); // no tail now: straight into the graph
    expect(graph.tailSize).toBe(0);
    expect(graph.search(randomUnit(48_001), 1)[0]?.label).toBe(2_001);
  });

  it("is hollow once more than half of its mapped graph is removed (additions do not count)", () => {
    const graph = new LayeredGraph(mappedGraph(vectors), DIM, DEFAULT_INDEX_PARAMS, 1);
    graph.add([1_001, 1_002], new Float32Array([...randomUnit(1), ...randomUnit(2)]));
    for (let label = 1; label <= 150; label++) graph.remove(label);
    graph.remove(1_001);
    expect(graph.rebuildReason(REBUILD_MS_PER_VECTOR)).toBeUndefined();
    graph.remove(151);
    expect(graph.rebuildReason(REBUILD_MS_PER_VECTOR)).toBe("hollow");
    expect(graph.size).toBe(300 - 151 + 1);
    // Rows deleted while no process watched (after a crash) weigh the same, though which they are is unknown.
    const afterCrash = new LayeredGraph(mappedGraph(vectors), DIM, DEFAULT_INDEX_PARAMS, 1, { unseenDead: 100 });
    for (let label = 1; label <= 50; label++) afterCrash.remove(label);
    expect(afterCrash.rebuildReason(REBUILD_MS_PER_VECTOR)).toBeUndefined();
    afterCrash.remove(51);
    expect(afterCrash.rebuildReason(REBUILD_MS_PER_VECTOR)).toBe("hollow");
    expect(afterCrash.search(vectors[99]!, 1)[0]?.label).toBe(100);
  });

  it("has outgrown its mapped graph once the in-memory one holds more vectors than the mapped one's live ones", () => {
    const graph = new LayeredGraph(mappedGraph(vectors), DIM, DEFAULT_INDEX_PARAMS, 1);
    const more = Array.from({ length: 290 }, (_, i) => randomUnit(41_000 + i));
    graph.add(
      more.map((_, i) => 1_001 + i),
      flat(more),
    );
    expect(graph.rebuildReason(REBUILD_MS_PER_VECTOR)).toBeUndefined();
    for (let label = 1; label <= 10; label++) graph.remove(label);
    expect(graph.rebuildReason(REBUILD_MS_PER_VECTOR)).toBeUndefined();
    graph.remove(11);
    expect(graph.rebuildReason(REBUILD_MS_PER_VECTOR)).toBe("outgrown");
  });

  it("is slowed once searching its in-memory graph has taken as long as rebuilding the scope would", () => {
    const few = vectors.slice(0, 40);
    const graph = new LayeredGraph(mappedGraph(few), DIM, DEFAULT_INDEX_PARAMS, 1);
    graph.add([1_001, 1_002], flat([randomUnit(42_001), randomUnit(42_002)]));
    let searches = 0;
    while (graph.rebuildReason(REBUILD_MS_PER_VECTOR) === undefined && searches < 2_000_000) {
      expect(graph.search(few[searches % 40]!, 1)[0]?.label).toBe((searches % 40) + 1);
      searches++;
    }
    expect(graph.rebuildReason(REBUILD_MS_PER_VECTOR)).toBe("slowed");
    // 42 vectors at REBUILD_MS_PER_VECTOR: about 76 ms of searching the two-vector graph, far more than one search.
    expect(searches).toBeGreaterThan(1_000);
    // Where a rebuild costs ten times as much, the same searches are not yet worth one.
    expect(graph.rebuildReason(REBUILD_MS_PER_VECTOR * 10)).toBeUndefined();
  });
});

describe("scope indexes: the rebuild cost, timed on this machine", () => {
  // Small vectors: a real graph of 10,000 is built in well under a second.
  const dim = 8;
  const unit = (seed: number): Float32Array => randomUnit(seed, dim);
  /** `n` unit vectors from `seed` on, end to end. */
  const vectorsOf = (n: number, seed: number): Float32Array<ArrayBuffer> =>
    flat(
      Array.from({ length: n }, (_, i) => unit(seed + i)),
      dim,
    );

  /** A scope of `n` vectors served exactly, as after a crash, to be given its graph by buildGraphOffThread. */
  function exactScope(indexes: ScopeIndexes, scopeKey: string, n: number, seed: number): Float32Array {
    const vectors = vectorsOf(n, seed);
    const labels = Array.from({ length: n }, (_, i) => i + 1);
    const exact = new ExactIndex(dim);
    exact.add(labels, vectors);
    indexes.install(scopeKey, { namespace: "ns", index: exact, expiry: new Map(labels.map((label) => [label, 0])) });
    return vectors;
  }

  /** A builder that makes the real graph, saved and mapped, and hands it over `delayMs` later, saying it waited `queuedMs` of it for other builds. */
  const slowBuilder =
    (delayMs: number, queuedMs = 0): GraphBuilder =>
    (labels, vectors) => {
      const graph = new LayeredGraph(savedAndMapped(labels, vectors, dim), dim, DEFAULT_INDEX_PARAMS, 1);
      return { done: new Promise((resolve) => setTimeout(() => resolve(graph), delayMs)), stop: () => undefined, queuedMs: () => queuedMs };
    };

  it("counts a worker build's wait for the one before it apart from its own work", async () => {
    const builder = workerGraphBuilder(tempDir(), dim, DEFAULT_INDEX_PARAMS, 1);
    const labels = Array.from({ length: 2_000 }, (_, i) => i + 1);
    const first = builder(labels, vectorsOf(2_000, 0));
    const second = builder(labels, vectorsOf(2_000, 5_000));
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.size + b.size).toBe(4_000);
    // The worker builds one graph at a time: the second waited for the whole first build.
    const waited = second.queuedMs!();
    expect(waited).toBeGreaterThan(first.queuedMs!());
    expect(waited).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(second.queuedMs!()).toBe(waited);
  });

  it("is learned from the background builds of large scopes, and weighs the searches of layered scopes from then on", async () => {
    const indexes = new ScopeIndexes(dim, DEFAULT_INDEX_PARAMS, 100);
    indexes.promoteInBackground = true;
    const built: { scopeKey: string; vectors: number; ms: number }[] = [];
    let switched: () => void = () => undefined;
    indexes.onGraphBuilt = (scopeKey, vectors, ms) => {
      built.push({ scopeKey, vectors, ms });
      switched();
    };
    const buildOf = (scopeKey: string, delayMs: number, queuedMs = 0) =>
      new Promise<void>((resolve) => {
        switched = resolve;
        indexes.buildGraphOffThread(scopeKey, slowBuilder(delayMs, queuedMs));
      });

    // A build below the minimum is mostly fixed cost: it does not set the rate.
    exactScope(indexes, "small", 500, 1);
    await buildOf("small", 300);
    expect(built).toEqual([expect.objectContaining({ scopeKey: "small", vectors: 500 })]);
    expect(indexes.rebuildMsPerVector).toBe(REBUILD_MS_PER_VECTOR);

    const large = exactScope(indexes, "large", TIMED_BUILD_MIN_VECTORS, 10_000);
    const started = performance.now();
    // 200 ms of the 300 were spent waiting for another build: not the rebuild's cost.
    await buildOf("large", 300, 200);
    const elapsed = performance.now() - started;
    expect(built[1]).toMatchObject({ scopeKey: "large", vectors: TIMED_BUILD_MIN_VECTORS });
    expect(built[1]!.ms).toBeGreaterThanOrEqual(300);
    expect(indexes.rebuildMsPerVector).toBe((built[1]!.ms - 200) / TIMED_BUILD_MIN_VECTORS);
    expect(indexes.rebuildMsPerVector).toBeLessThanOrEqual((elapsed - 200) / TIMED_BUILD_MIN_VECTORS);
    expect(indexes.search("large", large.subarray(77 * dim, 78 * dim), 1, Date.now())[0]?.label).toBe(78);

    // A layered scope is now due for its merge once searching its in-memory graph has taken
    // 42 vectors × the learned rate: milliseconds, where REBUILD_MS_PER_VECTOR would want 76.
    const few = Array.from({ length: 40 }, (_, i) => unit(90_000 + i));
    const layered = new LayeredGraph(mappedGraph(few, dim), dim, DEFAULT_INDEX_PARAMS, 1);
    indexes.install("layered", { namespace: "ns", index: layered, expiry: new Map(few.map((_, i) => [i + 1, 0])) });
    indexes.add("layered", "ns", [1_001, 1_002].map((label) => ({ label, expiresAtMs: 0, vector: unit(label) })));
    const due: string[] = [];
    indexes.onRebuildDue = (scopeKey, _graph, reason) => due.push(`${scopeKey}: ${reason}`);
    for (let i = 0; i < 2_000_000 && due.length === 0; i++) indexes.search("layered", few[i % 40]!, 1, Date.now());
    expect(due).toEqual(["layered: slowed"]);
    expect(layered.rebuildReason(indexes.rebuildMsPerVector)).toBe("slowed");
    expect(layered.rebuildReason(REBUILD_MS_PER_VECTOR)).toBeUndefined();

    // A later large build (here slowed, as by a load spike) moves the rate half way to its own, not all the way.
    const first = indexes.rebuildMsPerVector;
    exactScope(indexes, "spiked", TIMED_BUILD_MIN_VECTORS, 30_000);
    await buildOf("spiked", 900);
    expect(built[2]).toMatchObject({ scopeKey: "spiked", vectors: TIMED_BUILD_MIN_VECTORS });
    const spiked = built[2]!.ms / TIMED_BUILD_MIN_VECTORS;
    expect(spiked).toBeGreaterThan(first);
    expect(indexes.rebuildMsPerVector).toBeCloseTo(first + REBUILD_RATE_WEIGHT * (spiked - first), 12);
    expect(indexes.rebuildMsPerVector).toBeLessThan(spiked);
  });
});

describe("scope indexes: a failed rebuild of a mostly removed graph", () => {
  const vectors = Array.from({ length: 300 }, (_, i) => randomUnit(45_000 + i));

  it("is reported once and not retried for that graph, which goes on answering every live label", async () => {
    const indexes = new ScopeIndexes(DIM, DEFAULT_INDEX_PARAMS, 100);
    const expiry = new Map(vectors.map((_, i) => [i + 1, 0] as [number, number]));
    indexes.install("s", { namespace: "ns", index: new LayeredGraph(mappedGraph(vectors), DIM, DEFAULT_INDEX_PARAMS, 1), expiry });
    const errors: unknown[] = [];
    let rebuildCalls = 0;
    let pagesRead = 0;
    indexes.onBuildError = (error) => errors.push(error);
    const failing: GraphBuilder = () => ({ done: Promise.reject(new Error("no room for the graph file")), stop: () => undefined });
    indexes.onRebuildDue = (scopeKey, _graph, reason) => {
      expect(reason).toBe("hollow");
      rebuildCalls++;
      indexes.compactGraph(
        scopeKey,
        (after, upTo, limit) => {
          pagesRead++;
          return [...expiry.keys()].filter((label) => label > after && label <= upTo).slice(0, limit).map((label) => ({ label, expiresAtMs: 0, vector: vectors[label - 1]! }));
        },
        failing,
      );
    };
    for (let label = 1; label <= 151; label++) indexes.remove("s", label);
    expect(rebuildCalls).toBe(1);
    expect(pagesRead).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(errors).toEqual([expect.objectContaining({ message: "no room for the graph file" })]);
    const state = [...indexes.entries()][0]![1];
    expect(state.building).toBeUndefined();
    indexes.remove("s", 152);
    expect(rebuildCalls).toBe(1);
    for (const label of [153, 200, 300]) expect(indexes.search("s", vectors[label - 1]!, 1, Date.now())[0]?.label).toBe(label);
  });
});

describe("embedded store: snapshots of layered graphs", () => {
  const a = scopeOf("ns-layered");
  const HNSW_ABOVE_256 = { exactScopeLimit: 256, backgroundRebuildAbove: Infinity };
  const open = (dataDir: string) => openEmbeddedStore({ dataDir, modelId: "test-model", dimension: DIM, ...HNSW_ABOVE_256 });
  const entries = Array.from({ length: 400 }, (_, i) => entryOf(a, `l${i}`, randomUnit(60_000 + i)));

  it("rebuilds a scope whose mapped graph lost most of its vectors instead of reusing it", async () => {
    const dataDir = tempDir();
    let store = await open(dataDir);
    await store.put(entries);
    await store.close();
    store = await open(dataDir);
    // Replacing a row removes its old label: 250 of the 400 mapped are dead now.
    await store.put(entries.slice(0, 250).map((e, i) => entryOf(a, e.prompt, randomUnit(70_000 + i), { response: "new" })));
    await store.close();
    store = await open(dataDir);
    expect(store.loadReport).toMatchObject({ vectors: 400, fromSnapshot: 0 });
    expect((await store.search(a, randomUnit(70_010), 1, Date.now()))[0]?.entry.response).toBe("new");
    expect((await store.search(a, entries[300]!.vector, 1, Date.now()))[0]?.entry.id).toBe(entries[300]!.id);
    await store.close();
  });

  it("still reads a format-1 snapshot (one graph file a scope)", async () => {
    const dataDir = tempDir();
    let store = await open(dataDir);
    await store.put(entries);
    await store.close();
    const path = join(dataDir, "hnsw", "manifest.json");
    const v2 = JSON.parse(readFileSync(path, "utf8")) as { scopes: Record<string, { maxLabel: number; count: number; graph: { file: string; sha256: string } }> };
    const scopes = Object.fromEntries(Object.entries(v2.scopes).map(([key, e]) => [key, { file: e.graph.file, maxLabel: e.maxLabel, count: e.count, sha256: e.graph.sha256 }]));
    writeFileSync(path, JSON.stringify({ ...v2, format: 1, scopes }));
    store = await open(dataDir);
    expect(store.loadReport).toMatchObject({ vectors: 400, fromSnapshot: 1, inserted: 0 });
    expect((await store.search(a, entries[123]!.vector, 1, Date.now()))[0]?.entry.id).toBe(entries[123]!.id);
    await store.close();
  });
});
