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
