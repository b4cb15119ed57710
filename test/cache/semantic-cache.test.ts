/**
 * The cache core's own API on the fixture model and the embedded store: a
 * prompt prepared once can be looked up and stored without being checked
 * again, the clock is the core's for every read, and `close` releases both
 * parts.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/cache/errors.js";
import { SemanticCache, type SemanticCacheOptions } from "../../src/cache/semantic-cache.js";
import { meetsThreshold } from "../../src/store/similarity.js";
import { EmbedderClosedError } from "../../src/embedder/errors.js";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import type { OnnxEmbedder } from "../../src/embedder/onnx-embedder.js";
import { StoreUnavailableError } from "../../src/store/cache-store.js";
import { openEmbeddedStore, type EmbeddedStore } from "../../src/store/embedded/index.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { tempDir } from "../support/test-server.js";

const LIMITS = { maxPromptBytes: 1024, maxResponseBytes: 1024, maxMetadataEntries: 4, maxMetadataBytes: 256 };

let dir: string;
let embedder: OnnxEmbedder;
let store: EmbeddedStore;
let clock = Date.parse("2026-01-01T00:00:00Z");
let cache: SemanticCache;
const searches: number[] = [];

beforeAll(async () => {
  dir = tempDir("semcache-core-");
  embedder = await loadOnnxEmbedder({ modelDir: await fixtureModelDir(), threads: 1 });
  store = await openEmbeddedStore({ dataDir: dir, modelId: embedder.modelId, dimension: embedder.dimension });
  const options: SemanticCacheOptions = {
    ...LIMITS,
    defaultThreshold: 0.9,
    defaultTtlSeconds: 0,
    now: () => clock,
    observer: { onSearch: (ms) => searches.push(ms) },
    tokensSavedOnHit: (entry) => Number(entry.metadata["cost"] ?? 0),
  };
  cache = new SemanticCache(store, embedder, options);
});
afterAll(async () => {
  await cache.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SemanticCache", () => {
  it("prepares a prompt once: scope and prompt validated, normalised, with its entry id", () => {
    const prepared = cache.prepare({ prompt: "  What is   the capital of France? ", scope: { namespace: "core", model: "m" } });
    expect(prepared.normalized).toBe("What is the capital of France?");
    expect(prepared.scope.namespace).toBe("core");
    expect(prepared.entryId).toMatch(/^[0-9a-f]{32}$/);
    expect(cache.prepare({ prompt: "What is the capital of France?", scope: { namespace: "core", model: "m" } }).entryId).toBe(prepared.entryId);
    // Errors name the request's own field.
    expect(() => cache.prepare({ prompt: " ", field: "messages[2].content" })).toThrow(/^messages\[2\]\.content: must not be empty$/);
    expect(() => cache.prepare({ prompt: "x".repeat(1025) })).toThrow(InvalidInputError);
    expect(() => cache.prepare({ prompt: "fine", scope: { namespace: "bad namespace" } })).toThrow(/^scope\.namespace:/);
    expect(() => cache.resolveThreshold(1.5)).toThrow(/^min_similarity:/);
    expect(cache.resolveThreshold(undefined)).toBe(0.9);
  });

  it("queues a prepared prompt as its caller's tenant, else as its namespace", () => {
    expect(cache.prepare({ prompt: "Who asks?", scope: { namespace: "team-a" } }).tenant).toBe("team-a");
    expect(cache.prepare({ prompt: "Who asks?", scope: { namespace: "team-a" }, tenant: "key-1" }).tenant).toBe("key-1");
    // An empty namespace is the default one, and so is its tenant.
    expect(cache.prepare({ prompt: "Who asks?" }).tenant).toBe(cache.prepare({ prompt: "Who asks?" }).scope.namespace);
  });

  it("looks up and stores a prepared prompt, reusing the miss's embedding, and counts what callers report", async () => {
    const prepared = cache.prepare({ prompt: "How tall is Mount Everest?", scope: { namespace: "core" } });
    const miss = await cache.lookupPrepared(prepared, { threshold: 0.95 });
    if (miss.hit) throw new Error("expected a miss");
    expect(miss.threshold).toBe(0.95);
    expect(searches.length).toBeGreaterThan(0);
    expect(await cache.getFresh(prepared.entryId)).toBeUndefined();

    const stored = await cache.storePrepared(prepared, { response: "8849 m", metadata: { cost: "7" }, vector: miss.vector });
    expect(stored.id).toBe(prepared.entryId);
    expect((await cache.getFresh(prepared.entryId))?.response).toBe("8849 m");

    const hit = await cache.lookupPrepared(prepared);
    expect(hit).toMatchObject({ hit: true, kind: "exact", similarity: 1 });
    cache.count("core", "coalescedCalls", 2);
    // getFresh is not a lookup: one miss, one hit; the hit saved what tokensSavedOnHit read.
    expect(cache.readCounters("core")).toMatchObject({ lookups: 2, misses: 1, exactHits: 1, stores: 1, tokensSaved: 7, coalescedCalls: 2 });
    expect(cache.counterNamespaces()).toContain("core");
    await expect(cache.storePrepared(prepared, { response: " " })).rejects.toThrow(/^response: must not be empty$/);
  });

  it("runs the model once for a prompt seen again in its scope: Lookup then Store, Feedback, a flush forgets", async () => {
    let texts = 0;
    embedder.observer = { onEmbed: (_ms, batchSize) => (texts += batchSize) };
    try {
      const scope = { namespace: "memo", model: "m" };
      // A client that calls the LLM itself: Lookup misses, then Store sends the same prompt.
      const miss = await cache.lookup({ prompt: "How deep is the Mariana Trench?", scope });
      expect(miss.hit).toBe(false);
      expect(texts).toBe(1);
      const stored = await cache.store({ prompt: "How deep is the Mariana Trench?", response: "About 11 km.", scope });
      expect(texts).toBe(1);
      // The same vector the model gave: the entry is found by it.
      const reworded = await cache.lookup({ prompt: "how deep is the mariana trench", scope, minSimilarity: 0.5 });
      expect(reworded).toMatchObject({ hit: true, kind: "semantic" });
      expect(texts).toBe(2);
      // Feedback on that answer for that prompt: both prompts were embedded lately.
      await cache.feedback({ prompt: "how deep is the mariana trench", scope, entryId: stored.id, correct: true });
      expect(texts).toBe(2);
      // Never across scopes.
      await cache.lookup({ prompt: "How deep is the Mariana Trench?", scope: { namespace: "memo", model: "other" } });
      expect(texts).toBe(3);
      // Flushed with its namespace.
      await cache.flush({ namespace: "memo", all: false });
      await cache.lookup({ prompt: "how deep is the mariana trench", scope });
      expect(texts).toBe(4);
    } finally {
      embedder.observer = undefined;
    }
  });

  it("lists and reads by its own clock: an expired entry is gone from both", async () => {
    const prepared = cache.prepare({ prompt: "Which river is the longest?", scope: { namespace: "clock" } });
    await cache.storePrepared(prepared, { response: "The Nile.", ttlSeconds: 60 });
    expect((await cache.listRecent("clock", 10)).map((e) => e.response)).toEqual(["The Nile."]);
    clock += 61_000;
    expect(await cache.listRecent("clock", 10)).toEqual([]);
    expect(await cache.getFresh(prepared.entryId)).toBeUndefined();
    await expect(cache.listRecent("bad namespace", 10)).rejects.toThrow(/^namespace:/);
  });

  it("describes its parts", () => {
    expect(cache.describe()).toMatchObject({ modelId: embedder.modelId, dimension: embedder.dimension, storeKind: "embedded", defaultThreshold: 0.9 });
    expect(cache.limits).toEqual(LIMITS);
  });

  it("agrees with every other user of the threshold rule, float32 rounding included", () => {
    expect(meetsThreshold(Math.fround(0.9), 0.9)).toBe(true);
    expect(meetsThreshold(0.999_999_5, 1)).toBe(true);
    expect(meetsThreshold(0.89, 0.9)).toBe(false);
  });
});

describe("SemanticCache.close", () => {
  it("closes the store, then the embedder", async () => {
    const ownDir = tempDir("semcache-core-close-");
    const ownEmbedder = await loadOnnxEmbedder({ modelDir: await fixtureModelDir(), threads: 1 });
    const ownStore = await openEmbeddedStore({ dataDir: ownDir, modelId: ownEmbedder.modelId, dimension: ownEmbedder.dimension });
    const own = new SemanticCache(ownStore, ownEmbedder, { ...LIMITS, defaultThreshold: 0.9, defaultTtlSeconds: 0 });
    await own.store({ prompt: "kept", response: "durable" });
    await own.close();
    await expect(ownStore.get("x", Date.now())).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(ownEmbedder.embed("after close")).rejects.toBeInstanceOf(EmbedderClosedError);
    // Nothing stored before close is lost.
    const reopened = await openEmbeddedStore({ dataDir: ownDir, modelId: ownEmbedder.modelId, dimension: ownEmbedder.dimension });
    expect(await reopened.count()).toBe(1);
    await reopened.close();
    rmSync(ownDir, { recursive: true, force: true });
  });
});
