import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MatchKind } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { clientFor, type CacheClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

// Pairs the fixture model's tokenizer (BERT uncased, like MiniLM's) turns into
// the same token ids: accents stripped, emoji read as [UNK], white space unseen.
// Before the identity rule each was served the other's answer at similarity 1.
const INVISIBLE: readonly (readonly [string, string])[] = [
  ["¿Cuántos días tiene un ano?", "¿Cuántos días tiene un año?"],
  ["Ich möchte bar zählen", "Ich möchte bar zahlen"],
  ["Is 🍄 safe to eat?", "Is ☠️ safe to eat?"],
  ["✅", "❌"],
  ["for item in items:\n    save(item)", "for item in items:\nsave(item)"],
];

describe.each(["on", "off"])("identity rule with SEMCACHE_GUARD=%s", (guard) => {
  let server: TestServer;
  let client: CacheClient;
  beforeAll(async () => {
    server = await startTestServer({ env: { SEMCACHE_GUARD: guard } });
    client = clientFor("grpc", server.url);
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each(INVISIBLE.map((pair, i) => [i, ...pair] as const))("pair %i: %j is not served for %j", async (i, stored, query) => {
    const scope = { namespace: `identity-${guard}-${i}` };
    const { id } = await client.store({ prompt: stored, response: `answer to ${stored}`, scope });
    const result = await client.lookup({ prompt: query, scope });
    // The model cannot tell them apart: exactly the same vector...
    expect(result.similarity).toBeGreaterThan(0.9999);
    // ...so only the identity rule stands between the query and the wrong answer, whatever SEMCACHE_GUARD says.
    expect(result.hit).toBe(false);
    expect(result.entry).toBeUndefined();
    const stats = await client.stats({ namespace: scope.namespace });
    expect(stats.guardRejections).toBe(1n);
    // The query then gets an entry of its own, and each prompt finds its own answer exactly.
    const own = await client.store({ prompt: query, response: `answer to ${query}`, scope });
    expect(own.id).not.toBe(id);
    for (const prompt of [stored, query]) {
      const exact = await client.lookup({ prompt, scope });
      expect(exact.hit).toBe(true);
      expect(exact.kind).toBe(MatchKind.EXACT);
      expect(exact.entry?.response).toBe(`answer to ${prompt}`);
    }
  });

  it("still serves true paraphrases and case-only differences", async () => {
    const scope = { namespace: `identity-${guard}-para` };
    await client.store({ prompt: "What is the capital of France?", response: "Paris.", scope });
    for (const prompt of ["what is the capital of france?", "WHAT IS THE CAPITAL OF FRANCE?", "What's the capital city of France?"]) {
      const result = await client.lookup({ prompt, scope, minSimilarity: 0.8 });
      expect(result.hit, prompt).toBe(true);
      expect(result.kind).toBe(MatchKind.SEMANTIC);
      expect(result.entry?.response).toBe("Paris.");
    }
    // Accents on both sides alike are no difference: the same accented word reads the same.
    await client.store({ prompt: "¿Cuántos días tiene un año?", response: "365", scope });
    const accented = await client.lookup({ prompt: "¿cuántos días tiene un año?", scope });
    expect(accented.hit).toBe(true);
    expect(accented.entry?.response).toBe("365");
  });
});
