import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MatchKind } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { clientFor, type CacheClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

// A near-duplicate whose number differs: the embeddings alone call it a match
// at this low threshold, so only the guard can tell them apart.
const STORED = "How long does it take to walk 5 miles?";
const QUERY = "How long does it take to walk 50 miles?";
const LOW = 0.5;

describe.each(["on", "off"])("with SEMCACHE_GUARD=%s", (guard) => {
  let server: TestServer;
  let client: CacheClient;
  beforeAll(async () => {
    server = await startTestServer({ env: { SEMCACHE_GUARD: guard } });
    client = clientFor("grpc", server.url);
  });
  afterAll(async () => {
    await server.stop();
  });

  it(guard === "on" ? "misses a near-duplicate with a different number, and counts the rejection" : "serves the near-duplicate", async () => {
    const scope = { namespace: "guard" };
    await client.store({ prompt: STORED, response: "About 1 hour 40 minutes.", scope });
    const result = await client.lookup({ prompt: QUERY, scope, minSimilarity: LOW });
    // The embedding similarity is the same either way, and above the threshold.
    expect(result.similarity).toBeGreaterThanOrEqual(LOW);
    const stats = await client.stats({ namespace: "guard" });
    if (guard === "on") {
      expect(result.hit).toBe(false);
      expect(result.entry).toBeUndefined();
      expect(stats.guardRejections).toBe(1n);
      expect(stats.misses).toBe(1n);
    } else {
      expect(result.hit).toBe(true);
      expect(result.kind).toBe(MatchKind.SEMANTIC);
      expect(result.entry?.prompt).toBe(STORED);
      expect(stats.guardRejections).toBe(0n);
    }
    // A paraphrase that keeps the number is served either way.
    const para = await client.lookup({ prompt: "how long to walk five miles", scope, minSimilarity: LOW });
    expect(para.hit).toBe(true);
    expect(para.entry?.prompt).toBe(STORED);
  });
});

// A 60-sentence document: its embedding barely moves with the instruction after it.
const DOCUMENT = Array.from({ length: 60 }, (_, i) => {
  const names = ["Alice", "Bruno", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivan", "Jun"];
  const cities = ["Lisbon", "Oslo", "Denver", "Kyoto", "Lagos", "Quito"];
  const items = ["laptops", "chairs", "printers", "monitors", "desks", "phones", "cables"];
  return `Customer ${names[i % 10]} from ${cities[i % 6]} ordered ${((i * 7) % 23) + 2} ${items[i % 7]} on day ${i + 1} and paid by ${i % 2 ? "card" : "invoice"}.`;
}).join(" ");

describe("with the default guard: what embeddings blur, read from the text", () => {
  let server: TestServer;
  let client: CacheClient;
  beforeAll(async () => {
    server = await startTestServer();
    client = clientFor("grpc", server.url);
  });
  afterAll(async () => {
    await server.stop();
  });

  // The pairs of the hostile-client report (issue 18): each passed the guard when it read only ASCII digits.
  it.each([
    ["What is the derivative of x²?", "What is the derivative of x³?"],
    ["Add ½ cup of sugar to the dough", "Add ¾ cup of sugar to the dough"],
    ["Is £5 a fair price for a coffee?", "Is ¥5 a fair price for a coffee?"],
    ["Stock price ↑ after earnings: why?", "Stock price ↓ after earnings: why?"],
    ["Is 7 > 5?", "Is 7 < 5?"],
  ])("does not serve %j for %j", async (stored, query) => {
    const scope = { namespace: `symbols-${Buffer.from(stored).toString("hex").slice(0, 24)}` };
    await client.store({ prompt: stored, response: `answer to ${stored}`, scope });
    const result = await client.lookup({ prompt: query, scope, minSimilarity: LOW });
    expect(result.similarity).toBeGreaterThanOrEqual(LOW);
    expect(result.hit).toBe(false);
    expect((await client.stats({ namespace: scope.namespace })).guardRejections).toBe(1n);
  });

  it("tells a different instruction after the same long document, and serves a reworded one", async () => {
    const scope = { namespace: "instruction" };
    await client.store({ prompt: `${DOCUMENT}\n\nSummarize the document above.`, response: "A summary.", scope });
    const other = await client.lookup({ prompt: `${DOCUMENT}\n\nDelete all the data described above.`, scope });
    // The embeddings are all but equal: 999 word pieces, 6 of them different.
    expect(other.similarity).toBeGreaterThan(0.99);
    expect(other.hit).toBe(false);
    expect((await client.stats({ namespace: "instruction" })).guardRejections).toBe(1n);

    const reworded = await client.lookup({ prompt: `${DOCUMENT}\n\nGive me a summary of the document above.`, scope });
    expect(reworded.similarity).toBeGreaterThan(0.99);
    expect(reworded.hit).toBe(true);
    expect(reworded.entry?.response).toBe("A summary.");
  });
});
