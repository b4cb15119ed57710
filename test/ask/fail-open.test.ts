/**
 * Fail-open and fail-closed with real cache failures: the server's own
 * embedder or store is closed under it (EmbedderClosedError,
 * StoreUnavailableError), not a mock. A closed store also fails Stats (it
 * counts entries), so the counters are read from the core there.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/app/open-store.js";
import type { ServerParts } from "../../src/app/start-server.js";
import { CACHE_UNAVAILABLE_TRAILER } from "../../src/ask/index.js";
import type { SemanticCache } from "../../src/cache/semantic-cache.js";
import type { Embedder } from "../../src/embedder/embedder.js";
import { Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { clientFor, type CacheClient } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import type { CacheStore } from "../../src/store/cache-store.js";
import type { TestServer } from "../support/test-server.js";
import { codeOf, collect, expectCode, MODEL, startAskServer } from "../support/ask-server.js";

// Every failure is logged as a warning with its stack; the assertions say enough.
const QUIET = { SEMCACHE_LOG_LEVEL: "error" };

let llm: OpenAiTestServer;

/** The parts the server under test loads, kept so a test can break them under it. */
let parts: { embedder: Embedder; store: CacheStore };
const capturingParts: ServerParts = {
  openStore: async (config, embedder, logger) => {
    const store = await openStore(config, embedder, logger);
    parts = { embedder, store };
    return store;
  },
};

beforeAll(async () => {
  llm = await startOpenAiServer();
});
afterAll(async () => {
  await llm?.close();
});
beforeEach(() => {
  llm.reset();
});

describe("fail-open (the default)", () => {
  let server: TestServer;
  let cache: SemanticCache;
  let client: CacheClient;
  const scope = { namespace: "open", model: MODEL };

  // A fresh server per case: each breaks a different part of its cache for good.
  beforeEach(async () => {
    server = await startAskServer(llm, QUIET, capturingParts);
    cache = await server.server.ready;
    client = clientFor("connect-h2", server.url);
  });
  afterEach(async () => {
    await server?.stop();
  });

  it("answers from the LLM when the embedder fails, and Stats counts the errors", async () => {
    const seeded = await client.ask({ prompt: "What is the capital of Italy?", scope });
    expect(seeded.source).toBe(Source.LLM);
    await parts.embedder.close();

    // The exact layer needs no embedding: still a hit.
    expect((await client.ask({ prompt: "What is the capital of Italy?", scope })).source).toBe(Source.CACHE);

    const answer = await client.ask({ prompt: "What is the capital of Spain?", scope });
    expect(answer.source).toBe(Source.LLM);
    expect(answer.response).toBe("ANSWER: What is the capital of Spain?");
    expect(answer.cacheUnavailable).toBe(true);
    expect(answer.entryId).toBe("");

    let trailer: string | null = null;
    const stream = await collect(client.askStream({ prompt: "What is the capital of Portugal?", scope }, { onTrailer: (t) => (trailer = t.get(CACHE_UNAVAILABLE_TRAILER)) }));
    expect(stream.error).toBeUndefined();
    expect(stream.start).toMatchObject({ source: Source.LLM, cacheUnavailable: true });
    expect(stream.text).toBe("ANSWER: What is the capital of Portugal?");
    expect(stream.end?.entryId).toBe("");
    expect(stream.end?.cacheUnavailable).toBe(true);
    expect(trailer).toBe("true");

    // Invalid requests are still INVALID_ARGUMENT, never "answered anyway".
    await expectCode(client.ask({ prompt: " ", scope }), Code.InvalidArgument);

    const stats = await client.stats({ namespace: "open" });
    // Lookup and store of the unary Ask, lookup and store of the stream.
    expect(stats.cacheErrors).toBe(4n);
    expect(stats.llmCalls).toBe(3n);
    expect(stats.stores).toBe(1n);
    expect(llm.counts().total).toBe(3);
  });

  it("answers from the LLM when the store is closed under it", async () => {
    await parts.store.close();
    await expectCode(client.lookup({ prompt: "Anything?", scope: { namespace: "open-store" } }), Code.Unavailable, /closed/);

    const answer = await client.ask({ prompt: "What is the capital of Greece?", scope: { namespace: "open-store", model: MODEL } });
    expect(answer.source).toBe(Source.LLM);
    expect(answer.cacheUnavailable).toBe(true);
    expect(answer.entryId).toBe("");

    // no_cache skips the lookup; the failing store-after-answer alone fails open too.
    const fresh = await client.ask({ prompt: "What is the capital of Greece?", scope: { namespace: "open-store", model: MODEL }, noCache: true });
    expect(fresh.source).toBe(Source.LLM);
    expect(fresh.cacheUnavailable).toBe(true);

    // Identical concurrent Asks still share one call while the cache is down.
    llm.setBehaviour({ delayMs: 300 });
    const burst = await Promise.all(Array.from({ length: 5 }, () => client.ask({ prompt: "What is the capital of Egypt?", scope: { namespace: "open-store", model: MODEL } })));
    expect(burst.filter((a) => a.source === Source.COALESCED)).toHaveLength(4);
    expect(burst.every((a) => a.cacheUnavailable)).toBe(true);

    // Stats needs the store to count entries, so it is UNAVAILABLE now; read what it would show.
    await expectCode(client.stats({ namespace: "open-store" }), Code.Unavailable);
    const counters = cache.readCounters("open-store");
    // 2 for the first Ask, 1 for no_cache, 2 for the burst's leader.
    expect(counters.cacheErrors).toBe(5);
    expect(counters.llmCalls).toBe(3);
    expect(counters.coalescedCalls).toBe(4);
    expect(llm.counts().total).toBe(3);
  });
});

describe("fail-closed (SEMCACHE_FAIL_OPEN=false)", () => {
  let server: TestServer;
  let cache: SemanticCache;
  let client: CacheClient;
  const scope = { namespace: "closed", model: MODEL };

  beforeEach(async () => {
    server = await startAskServer(llm, { ...QUIET, SEMCACHE_FAIL_OPEN: "false" }, capturingParts);
    cache = await server.server.ready;
    client = clientFor("grpc", server.url);
  });
  afterEach(async () => {
    await server?.stop();
  });

  it("fails the Ask with the cache's error instead of calling the LLM", async () => {
    expect((await client.ask({ prompt: "What is the capital of Peru?", scope })).source).toBe(Source.LLM);
    await parts.embedder.close();
    await expectCode(client.ask({ prompt: "What is the capital of Chile?", scope }), Code.Unavailable, /cache unavailable: The embedder is closed/);
    const stream = await collect(client.askStream({ prompt: "What is the capital of Chile?", scope }));
    expect(codeOf(stream.error)).toBe("Unavailable");
    expect(stream.messages).toHaveLength(0);
    // Hits that need no embedding are still served.
    expect((await client.ask({ prompt: "What is the capital of Peru?", scope })).source).toBe(Source.CACHE);
    await expectCode(client.ask({ prompt: "", scope }), Code.InvalidArgument);

    const stats = await client.stats({ namespace: "closed" });
    expect(stats.cacheErrors).toBe(2n);
    expect(stats.llmCalls).toBe(1n);
    expect(llm.counts().total).toBe(1);
  });

  it("reports a store failure, even after the LLM answered, with the store's status", async () => {
    await parts.store.close();
    await expectCode(client.ask({ prompt: "What is the capital of Kenya?", scope }), Code.Unavailable, /cache store unavailable: .*closed/);
    expect(llm.counts().total).toBe(0);
    // no_cache: the LLM answers, then storing fails, and the Ask fails with it.
    await expectCode(client.ask({ prompt: "What is the capital of Kenya?", scope, noCache: true }), Code.Unavailable, /cache store unavailable: .*closed/);
    expect(llm.counts().total).toBe(1);
    // With no_cache and no_store the cache is not used at all.
    const unstored = await client.ask({ prompt: "What is the capital of Kenya?", scope, noCache: true, noStore: true });
    expect(unstored.source).toBe(Source.LLM);
    expect(unstored.cacheUnavailable).toBe(false);
    expect(cache.readCounters("closed").cacheErrors).toBe(2);
  });
});
