/**
 * The engine against a real embedded store, with a tiny deterministic
 * embedder and LLM calls the test controls, for races the wire cannot
 * time reliably.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { AskEngine } from "../../src/ask/ask-engine.js";
import { FailOpenPolicy } from "../../src/ask/fail-open.js";
import { SemanticCache } from "../../src/cache/semantic-cache.js";
import type { Embedder } from "../../src/embedder/embedder.js";
import type { LlmCompletion } from "../../src/llm/index.js";
import type { CacheStore } from "../../src/store/cache-store.js";
import { openEmbeddedStore, type EmbeddedStore } from "../../src/store/embedded/index.js";

const DIMENSION = 16;

/** Bag of words hashed into 16 buckets: equal texts embed equally, that is all these tests need. */
const embedder: Embedder = {
  modelId: "test-hash-16",
  dimension: DIMENSION,
  async embed(text) {
    const vector = new Float32Array(DIMENSION);
    for (const word of text.toLowerCase().split(/\W+/).filter(Boolean)) {
      let h = 7;
      for (const c of word) h = (h * 31 + c.charCodeAt(0)) >>> 0;
      vector[h % DIMENSION] = (vector[h % DIMENSION] ?? 0) + 1;
    }
    const norm = Math.hypot(...vector) || 1;
    return vector.map((v) => v / norm);
  },
  async close() {},
};

const OPTIONS = { defaultThreshold: 0.9, defaultTtlSeconds: 0, maxPromptBytes: 65536, maxResponseBytes: 65536, maxMetadataEntries: 8, maxMetadataBytes: 4096 };

const completion = (text: string): LlmCompletion => ({ text, finishReason: "stop", model: "m", promptTokens: 3, completionTokens: 5 });

let dir: string;
let store: EmbeddedStore;
let searchGate: Promise<void> | undefined;
let gated: CacheStore;
let cache: SemanticCache;
let engine: AskEngine;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "semcache-engine-"));
  store = await openEmbeddedStore({ dataDir: dir, modelId: embedder.modelId, dimension: DIMENSION });
  // The real store, except that a search can be held back after it ran.
  gated = {
    kind: store.kind,
    indexParams: store.indexParams,
    get: (id, now) => store.get(id, now),
    search: async (scope, vector, k, now, floor) => {
      const found = await store.search(scope, vector, k, now, floor);
      const gate = searchGate;
      searchGate = undefined;
      if (gate !== undefined) await gate;
      return found;
    },
    put: (entries) => store.put(entries),
    recordHit: (id) => store.recordHit(id),
    addObservation: (id, observation, now) => store.addObservation(id, observation, now),
    ping: () => store.ping(),
    count: (ns) => store.count(ns),
    flushNamespace: (ns) => store.flushNamespace(ns),
    flushAll: () => store.flushAll(),
    listRecent: (ns, limit, now) => store.listRecent(ns, limit, now),
    close: () => store.close(),
  };
  cache = new SemanticCache(gated, embedder, OPTIONS);
  const logger = pino({ level: "silent" });
  engine = new AskEngine({ defaultModel: "m", llmConfigured: true, policy: new FailOpenPolicy(true, logger), logger });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const input = (prompt: string) => ({ prompt, messages: [], scope: { namespace: "e", model: "m", params: {} }, noCache: false, noStore: false });

describe("AskEngine", () => {
  it("plans an Ask as its caller's tenant, else its namespace's, for the embedder and the LLM slots alike", () => {
    const keyed = engine.plan(cache, { ...input("Who asks?"), tenant: "key-7" });
    expect(keyed.prepared.tenant).toBe("key-7");
    expect(keyed.llm.tenant).toBe("key-7");
    const unkeyed = engine.plan(cache, input("Who asks?"));
    expect(unkeyed.prepared.tenant).toBe("e");
    expect(unkeyed.llm.tenant).toBe("e");
  });

  it("uses an identical call's answer that was stored after its own lookup missed, instead of a second LLM call", async () => {
    let release: () => void = () => undefined;
    searchGate = new Promise((resolve) => (release = resolve));
    let secondCalled = false;

    // B looks up first; its (missed) search result is held back...
    const b = engine.start(cache, engine.plan(cache, input("Why is the sky blue?")), new AbortController().signal, async () => {
      secondCalled = true;
      return completion("B's own answer");
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // ...while A misses, calls the LLM, stores and finishes completely.
    const a = await engine.start(cache, engine.plan(cache, input("Why is the sky blue?")), new AbortController().signal, async () => completion("A's answer"));
    expect(a.kind).toBe("flight");
    const aResult = a.kind === "flight" ? await a.result : undefined;
    expect(aResult?.source).toBe("llm");
    expect(engine.inFlight.size).toBe(0);

    // Only now does B's lookup come back with its miss.
    release();
    const started = await b;
    expect(started.kind).toBe("flight");
    if (started.kind !== "flight") return;
    expect(started.leader).toBe(true);
    const { outcome, source } = await started.result;
    expect(secondCalled).toBe(false);
    expect(source).toBe("coalesced");
    expect(outcome.text).toBe("A's answer");
    expect(outcome.entryId).toBe(aResult?.outcome.entryId);
    expect(cache.readCounters("e")).toMatchObject({ llmCalls: 1, coalescedCalls: 1, tokensSaved: 5, stores: 1 });
  });

  it("stores with the lookup's embedding instead of computing it again", async () => {
    let embeds = 0;
    const counting = { ...embedder, embed: (text: string) => (embeds++, embedder.embed(text)) };
    const countingCache = new SemanticCache(gated, counting, OPTIONS);
    const started = await engine.start(countingCache, engine.plan(countingCache, input("How tall is Everest?")), new AbortController().signal, async () => completion("8849 m"));
    if (started.kind !== "flight") throw new Error("expected a miss");
    await started.result;
    expect(embeds).toBe(1);
    expect((await countingCache.lookup({ prompt: "How tall is Everest?", scope: { namespace: "e", model: "m" } })).hit).toBe(true);
  });
});
