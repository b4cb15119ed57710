import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MatchKind } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { clientFor, PROTOCOLS, type CacheClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

describe.each(PROTOCOLS)("over %s", (protocol) => {
  let client: CacheClient;
  // Each protocol works in its own namespace, so the suites cannot see each other's entries.
  const ns = `api-${protocol}`;
  beforeAll(() => {
    client = clientFor(protocol, server.url);
  });

  it("misses, stores, then hits exactly", async () => {
    const scope = { namespace: ns, model: "gpt-4o-mini" };
    const prompt = "What is the capital of France?";
    const miss = await client.lookup({ prompt, scope });
    expect(miss.hit).toBe(false);
    expect(miss.kind).toBe(MatchKind.UNSPECIFIED);
    expect(miss.entry).toBeUndefined();

    const stored = await client.store({ prompt, response: "Paris.", scope, metadata: { source: "test" } });
    expect(stored.id).toMatch(/^[0-9a-f]{32}$/);
    expect(stored.replaced).toBe(false);

    // Normalisation: extra white space still hits the exact layer.
    const hit = await client.lookup({ prompt: "  What is the   capital of France?\n", scope });
    expect(hit.hit).toBe(true);
    expect(hit.kind).toBe(MatchKind.EXACT);
    expect(hit.similarity).toBe(1);
    expect(hit.entry?.response).toBe("Paris.");
    expect(hit.entry?.id).toBe(stored.id);
    expect(hit.entry?.metadata).toEqual({ source: "test" });
    expect(hit.entry?.scope?.namespace).toBe(ns);
    expect(hit.entry?.hits).toBe(1n);
    expect(hit.entry?.expiresAt).toBeUndefined();
  });

  it("serves a paraphrase semantically and misses an unrelated prompt", async () => {
    const scope = { namespace: ns, model: "m1" };
    await client.store({ prompt: "What is the capital of France?", response: "Paris.", scope });
    const para = await client.lookup({ prompt: "Tell me the capital city of France.", scope });
    expect(para.hit).toBe(true);
    expect(para.kind).toBe(MatchKind.SEMANTIC);
    expect(para.similarity).toBeGreaterThanOrEqual(0.9);
    expect(para.similarity).toBeLessThan(1);
    expect(para.threshold).toBeCloseTo(0.9, 5);
    expect(para.entry?.response).toBe("Paris.");

    const unrelated = await client.lookup({ prompt: "How do I bake sourdough bread?", scope });
    expect(unrelated.hit).toBe(false);
    expect(unrelated.similarity).toBeLessThan(0.9);

    // A stricter threshold turns the paraphrase into a miss, reporting its similarity.
    const strict = await client.lookup({ prompt: "Tell me the capital city of France.", scope, minSimilarity: 0.999 });
    expect(strict.hit).toBe(false);
    expect(strict.similarity).toBeCloseTo(para.similarity, 5);
  });

  it("never matches across namespace, model or params", async () => {
    const base = { namespace: ns, model: "iso-model", params: { temperature: "0", system: "Be brief." } };
    const prompt = "How far is the Moon from the Earth?";
    await client.store({ prompt, response: "About 384,400 km.", scope: base });
    const others = [
      { ...base, namespace: `${ns}-other` },
      { ...base, model: "iso-model-2" },
      { ...base, params: { temperature: "1", system: "Be brief." } },
      { ...base, params: { temperature: "0" } },
    ];
    for (const scope of others) {
      const result = await client.lookup({ prompt, scope });
      expect(result.hit, JSON.stringify(scope)).toBe(false);
      expect(result.similarity).toBe(0);
    }
    // Params are canonical: key order and white space in values do not split the scope.
    const reordered = await client.lookup({ prompt, scope: { namespace: ns, model: "iso-model", params: { system: "Be   brief.", temperature: "0" } } });
    expect(reordered.hit).toBe(true);
    expect(reordered.kind).toBe(MatchKind.EXACT);
  });

  it("replaces the entry when the same prompt is stored again", async () => {
    const scope = { namespace: ns, model: "replace" };
    const first = await client.store({ prompt: "Who wrote Hamlet?", response: "Marlowe?", scope });
    const second = await client.store({ prompt: "Who  wrote Hamlet? ", response: "Shakespeare.", scope });
    expect(second.id).toBe(first.id);
    expect(second.replaced).toBe(true);
    const hit = await client.lookup({ prompt: "Who wrote Hamlet?", scope });
    expect(hit.entry?.response).toBe("Shakespeare.");
    const stats = await client.stats({ namespace: ns });
    expect(stats.entries).toBeGreaterThan(0n);
  });

  it("expires entries after their TTL", async () => {
    const scope = { namespace: ns, model: "ttl" };
    const stored = await client.store({ prompt: "What time zone is Tokyo in?", response: "JST, UTC+9.", scope, ttlSeconds: 1 });
    expect(stored.expiresAt).toBeDefined();
    expect((await client.lookup({ prompt: "What time zone is Tokyo in?", scope })).hit).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const exact = await client.lookup({ prompt: "What time zone is Tokyo in?", scope });
    expect(exact.hit).toBe(false);
    const semantic = await client.lookup({ prompt: "Which time zone does Tokyo use?", scope });
    expect(semantic.hit).toBe(false);
  });
});

describe("flush and stats", () => {
  const client = (): CacheClient => clientFor("connect-h1", server.url);

  it("flushes one namespace and leaves the others intact", async () => {
    const a = { namespace: "flush-a" };
    const b = { namespace: "flush-b" };
    await client().store({ prompt: "What is two plus two?", response: "4", scope: a });
    await client().store({ prompt: "What is three plus three?", response: "6", scope: a });
    await client().store({ prompt: "What is two plus two?", response: "4", scope: b });
    const flushed = await client().flush({ namespace: "flush-a" });
    expect(flushed.deleted).toBe(2n);
    expect((await client().lookup({ prompt: "What is two plus two?", scope: a })).hit).toBe(false);
    expect((await client().lookup({ prompt: "What is two plus two?", scope: b })).hit).toBe(true);
    expect((await client().stats({ namespace: "flush-a" })).entries).toBe(0n);
    expect((await client().stats({ namespace: "flush-b" })).entries).toBe(1n);
  });

  it("counts lookups, hits, misses and stores per namespace", async () => {
    const scope = { namespace: "stats-ns" };
    await client().store({ prompt: "What is the boiling point of water?", response: "100 °C at sea level.", scope });
    await client().lookup({ prompt: "What is the boiling point of water?", scope });
    await client().lookup({ prompt: "At what temperature does water boil?", scope, minSimilarity: 0.5 });
    await client().lookup({ prompt: "Recommend a good science fiction novel.", scope });
    const stats = await client().stats({ namespace: "stats-ns" });
    expect(stats.entries).toBe(1n);
    expect(stats.stores).toBe(1n);
    expect(stats.lookups).toBe(3n);
    expect(stats.exactHits).toBe(1n);
    expect(stats.semanticHits).toBe(1n);
    expect(stats.misses).toBe(1n);
    expect(stats.hitRate).toBeCloseTo(2 / 3, 6);
    expect(stats.embeddingDimension).toBe(384);
    expect(stats.storeKind).toBe("embedded");
    expect(stats.defaultThreshold).toBeCloseTo(0.9, 5);
    expect(stats.index?.algorithm).toBe("hnsw");
    expect(stats.index?.m).toBe(16);
    expect(stats.modelId).not.toBe("");
    const all = await client().stats({});
    expect(all.lookups).toBeGreaterThanOrEqual(stats.lookups);
  });

  it("keeps long prompts that differ only after the model window apart", async () => {
    const scope = { namespace: "long-prompts" };
    // About 300 word pieces in common: more than MiniLM's 256-piece window.
    const shared = Array.from({ length: 30 }, () => "the quick brown fox jumps over the lazy sleeping dog").join(" ");
    const first = `${shared} Finally, explain how volcanoes erupt, why magma rises through the crust, and what makes some eruptions explosive.`;
    const second = `${shared} Finally, list three recipes for chocolate cake with frosting, and say which one is easiest for beginners.`;
    await client().store({ prompt: first, response: "volcano answer", scope });
    // Truncation to the first window would make the two embeddings identical (similarity 1).
    const other = await client().lookup({ prompt: second, scope, minSimilarity: 1 });
    expect(other.hit).toBe(false);
    expect(other.similarity).toBeGreaterThan(0.5);
    expect(other.similarity).toBeLessThan(0.99999);
    const same = await client().lookup({ prompt: first, scope });
    expect(same.kind).toBe(MatchKind.EXACT);
  });

  it("flushes everything with all=true", async () => {
    await client().store({ prompt: "A prompt to flush", response: "x", scope: { namespace: "flush-all-1" } });
    const flushed = await client().flush({ all: true });
    expect(flushed.deleted).toBeGreaterThan(0n);
    expect((await client().stats({})).entries).toBe(0n);
  });
});
