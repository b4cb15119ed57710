/**
 * The memo of recent embeddings seen from a client, on the wire: a Store
 * right after a Lookup of the same prompt in the same scope runs the model
 * once for both (the server's embedding metrics count the texts), never for
 * a prompt looked up in another scope, and SEMCACHE_EMBED_MEMO_ENTRIES=0
 * turns it off.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MatchKind } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { clientFor, type CacheClient } from "../support/clients.js";
import { embeddingsReused, textsEmbedded } from "../support/embedding-metrics.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** Lookup (a miss) then Store of `stored` in `storeScope`; returns the texts the model embedded for the pair. */
async function pair(c: CacheClient, url: string, asked: string, stored: string, storeScope = { namespace: "memo" }): Promise<number> {
  const before = await textsEmbedded(url);
  const miss = await c.lookup({ prompt: asked, scope: { namespace: "memo" } });
  expect(miss.hit).toBe(false);
  await c.store({ prompt: stored, response: `answer to ${stored}`, scope: storeScope });
  return (await textsEmbedded(url)) - before;
}

describe("the memo of recent embeddings, over gRPC", () => {
  let on: TestServer;
  let off: TestServer;
  beforeAll(async () => {
    [on, off] = await Promise.all([startTestServer(), startTestServer({ env: { SEMCACHE_EMBED_MEMO_ENTRIES: "0" } })]);
  });
  afterAll(async () => {
    await Promise.all([on?.stop(), off?.stop()]);
  });

  it("runs the model once for a Lookup and the Store of the same prompt that follows it", async () => {
    const c = clientFor("grpc", on.url);
    expect(await pair(c, on.url, "How many moons does Jupiter have?", "How many moons does Jupiter have?")).toBe(1);
    expect(await embeddingsReused(on.url)).toBe(1);
    // The entry it stored carries the model's vector: a rewording finds it.
    const found = await c.lookup({ prompt: "how many moons does jupiter have", scope: { namespace: "memo" }, minSimilarity: 0.5 });
    expect(found).toMatchObject({ hit: true, kind: MatchKind.SEMANTIC });
    // Another prompt, or the same prompt stored in another scope, runs the model again.
    expect(await pair(c, on.url, "What is the boiling point of water?", "What is the freezing point of water?")).toBe(2);
    expect(await pair(c, on.url, "Who painted the Mona Lisa?", "Who painted the Mona Lisa?", { namespace: "memo-other" })).toBe(2);
    expect(await embeddingsReused(on.url)).toBe(1);
  });

  it("embeds the prompt twice with SEMCACHE_EMBED_MEMO_ENTRIES=0", async () => {
    expect(off.config.embedMemoEntries).toBe(0);
    const c = clientFor("grpc", off.url);
    expect(await pair(c, off.url, "How many moons does Jupiter have?", "How many moons does Jupiter have?")).toBe(2);
    expect(await embeddingsReused(off.url)).toBe(0);
  });
});
