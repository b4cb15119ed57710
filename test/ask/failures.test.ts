import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { clientFor, type CacheClient } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import type { TestServer } from "../support/test-server.js";
import { codeOf, collect, expectCode, MODEL, startAskServer } from "../support/ask-server.js";

const TIMEOUT_MS = 2_000;

let llm: OpenAiTestServer;
let server: TestServer;

beforeAll(async () => {
  llm = await startOpenAiServer({ models: [MODEL, "other-model"] });
  server = await startAskServer(llm, { SEMCACHE_LLM_TIMEOUT_MS: String(TIMEOUT_MS), SEMCACHE_LLM_MAX_RETRIES: "2" });
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});
beforeEach(() => {
  llm.reset();
});

describe("LLM failures", () => {
  const client = (): CacheClient => clientFor("connect-h1", server.url);
  const scope = { namespace: "failures", model: MODEL };

  async function expectNothingStored(prompt: string): Promise<void> {
    expect((await client().lookup({ prompt, scope })).hit).toBe(false);
  }

  it("a slow LLM is DEADLINE_EXCEEDED after SEMCACHE_LLM_TIMEOUT_MS, and upstream is hung up on", async () => {
    llm.setBehaviour({ delayMs: 10_000 });
    const started = Date.now();
    await expectCode(client().ask({ prompt: "Are you there?", scope }), Code.DeadlineExceeded, /2000 ms \(SEMCACHE_LLM_TIMEOUT_MS\)/);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_500);
    await llm.waitFor((s) => s.counts().closedEarly === 1);
    await expectNothingStored("Are you there?");

    // The same deadline covers a stream that stalls after its first token.
    llm.setBehaviour({ hang: "mid-stream" });
    const stream = await collect(client().askStream({ prompt: "Still there?", scope }));
    expect(stream.deltas.length).toBe(1);
    expect(codeOf(stream.error)).toBe("DeadlineExceeded");
    await expectNothingStored("Still there?");
  });

  it("429 is RESOURCE_EXHAUSTED with upstream's message, without waiting past the deadline", async () => {
    llm.setBehaviour({ error: { status: 429, retryAfter: "30" } });
    const started = Date.now();
    await expectCode(client().ask({ prompt: "Rate limit me.", scope }), Code.ResourceExhausted, /Rate limit reached/);
    // retry-after (30 s) is beyond the deadline: no point waiting for it.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(llm.counts().total).toBe(1);
    await expectNothingStored("Rate limit me.");
  });

  it("429 with a retry-after within the deadline is honoured, then answered", async () => {
    llm.setBehaviour({ error: { status: 429, retryAfterMs: "300" }, failFirst: 1 });
    const started = Date.now();
    const answer = await client().ask({ prompt: "Rate limit me once.", scope });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(answer.source).toBe(Source.LLM);
    expect(llm.counts().total).toBe(2);
  });

  it("500 then success is retried and answered (and stored)", async () => {
    llm.setBehaviour({ error: { status: 500 }, failFirst: 1 });
    const answer = await client().ask({ prompt: "Fail once, then answer.", scope });
    expect(answer.source).toBe(Source.LLM);
    expect(answer.response).toBe("ANSWER: Fail once, then answer.");
    expect(answer.entryId).not.toBe("");
    expect(llm.counts().total).toBe(2);
    expect((await client().ask({ prompt: "Fail once, then answer.", scope })).source).toBe(Source.CACHE);
  });

  it("a persistent 503 is UNAVAILABLE after the bounded retries", async () => {
    llm.setBehaviour({ error: { status: 503 } });
    await expectCode(client().ask({ prompt: "Always overloaded?", scope }), Code.Unavailable, /overloaded/);
    // One attempt and SEMCACHE_LLM_MAX_RETRIES=2 retries.
    expect(llm.counts().total).toBe(3);
    await expectNothingStored("Always overloaded?");
    const stats = await client().stats({ namespace: "failures" });
    expect(stats.cacheErrors).toBe(0n);
  });

  it("an unknown model named in scope.model is INVALID_ARGUMENT with upstream's message", async () => {
    await expectCode(client().ask({ prompt: "Which model are you?", scope: { ...scope, model: "no-such-model" } }), Code.InvalidArgument, /no-such-model.*does not exist/);
    const stream = await collect(client().askStream({ prompt: "Which model are you?", scope: { ...scope, model: "no-such-model" } }));
    expect(codeOf(stream.error)).toBe("InvalidArgument");
  });

  it("other 4xx are not retried", async () => {
    llm.setBehaviour({ error: { status: 400, message: "context length exceeded" } });
    await expectCode(client().ask({ prompt: "Too long for you?", scope }), Code.InvalidArgument, /context length exceeded/);
    expect(llm.counts().total).toBe(1);
  });
});

describe("a default model upstream does not have", () => {
  let missing: TestServer;
  beforeAll(async () => {
    missing = await startAskServer(llm, { SEMCACHE_LLM_MODEL: "missing-model" });
  });
  afterAll(async () => {
    await missing?.stop();
  });

  it("is FAILED_PRECONDITION naming the setting (the operator's to fix)", async () => {
    const client = clientFor("grpc", missing.url);
    await expectCode(client.ask({ prompt: "Hello?", scope: { namespace: "missing" } }), Code.FailedPrecondition, /SEMCACHE_LLM_MODEL/);
    // A model named by the caller still works.
    expect((await client.ask({ prompt: "Hello?", scope: { namespace: "missing", model: MODEL } })).source).toBe(Source.LLM);
  });
});

describe("an unreachable LLM", () => {
  let unreachable: TestServer;
  beforeAll(async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    unreachable = await startAskServer(undefined, { SEMCACHE_LLM_BASE_URL: `http://127.0.0.1:${port}/v1`, SEMCACHE_LLM_MODEL: MODEL, SEMCACHE_LLM_MAX_RETRIES: "1" });
  });
  afterAll(async () => {
    await unreachable?.stop();
  });

  it("is UNAVAILABLE, saying why", async () => {
    const client = clientFor("connect-h2", unreachable.url);
    await expectCode(client.ask({ prompt: "Anyone home?" }), Code.Unavailable, /ECONNREFUSED/);
    const stats = await client.stats({});
    expect(stats.llmCalls).toBe(1n);
  });
});

describe("no LLM configured", () => {
  let bare: TestServer;
  beforeAll(async () => {
    bare = await startAskServer(undefined);
  });
  afterAll(async () => {
    await bare?.stop();
  });

  it("fails a miss with FAILED_PRECONDITION naming the settings, while Lookup, Store and hits keep working", async () => {
    const client = clientFor("connect-h1", bare.url);
    const scope = { namespace: "bare" };
    await expectCode(client.ask({ prompt: "Is anyone answering?", scope }), Code.FailedPrecondition, /SEMCACHE_LLM_BASE_URL.*SEMCACHE_LLM_API_KEY.*OPENAI_API_KEY/);
    const stream = await collect(client.askStream({ prompt: "Is anyone answering?", scope }));
    expect(codeOf(stream.error)).toBe("FailedPrecondition");

    expect((await client.lookup({ prompt: "Is anyone answering?", scope })).hit).toBe(false);
    await client.store({ prompt: "Is anyone answering?", response: "Only the cache.", scope });
    expect((await client.lookup({ prompt: "Is anyone answering?", scope })).hit).toBe(true);

    // Without a default model an empty scope.model stays "", as Store keyed it.
    const hit = await client.ask({ prompt: "Is anyone answering?", scope });
    expect(hit.source).toBe(Source.CACHE);
    expect(hit.response).toBe("Only the cache.");
    const replay = await collect(client.askStream({ prompt: "Is anyone answering?", scope }));
    expect(replay.start?.source).toBe(Source.CACHE);
    expect(replay.text).toBe("Only the cache.");

    const named = { namespace: "bare", model: "gpt-4o-mini" };
    await client.store({ prompt: "Name a colour.", response: "Blue.", scope: named });
    expect((await client.ask({ prompt: "Name a colour.", scope: named })).response).toBe("Blue.");

    const stats = await client.stats({ namespace: "bare" });
    expect(stats.llmCalls).toBe(0n);
    expect(stats.cacheErrors).toBe(0n);
  });
});
