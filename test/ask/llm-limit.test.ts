/** The bound on LLM calls in flight: a slot pool with a bounded queue, in units and through a real server. */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { SlotPool } from "../../src/llm/index.js";
import { clientFor } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import type { TestServer } from "../support/test-server.js";
import { MODEL, startAskServer } from "./helpers.js";

describe("SlotPool", () => {
  it("runs maxInFlight at once, queues maxQueued in order, refuses the rest", async () => {
    const pool = new SlotPool({ maxInFlight: 2, maxQueued: 1 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    let cGranted = false;
    const c = pool.acquire().then((release) => {
      cGranted = true;
      return release;
    });
    expect(pool.counts()).toEqual({ inFlight: 2, queued: 1 });
    const refused = await pool.acquire().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((refused as ConnectError).rawMessage).toMatch(/2 in flight and 1 queued \(SEMCACHE_LLM_MAX_CONCURRENCY, SEMCACHE_LLM_MAX_QUEUE\)/);
    a();
    a(); // a second release of the same slot changes nothing
    const releaseC = await c;
    expect(cGranted).toBe(true);
    expect(pool.counts()).toEqual({ inFlight: 2, queued: 0 });
    b();
    releaseC();
    expect(pool.counts()).toEqual({ inFlight: 0, queued: 0 });
  });

  it("drops a waiter whose caller gave up, without taking a slot", async () => {
    const pool = new SlotPool({ maxInFlight: 1, maxQueued: 4 });
    const held = await pool.acquire();
    const abort = new AbortController();
    const waiting = pool.acquire(abort.signal);
    expect(pool.counts().queued).toBe(1);
    abort.abort(new Error("caller left"));
    await expect(waiting).rejects.toThrow("caller left");
    expect(pool.counts()).toEqual({ inFlight: 1, queued: 0 });
    held();
    expect(pool.counts()).toEqual({ inFlight: 0, queued: 0 });
  });
});

describe("SEMCACHE_LLM_MAX_CONCURRENCY and SEMCACHE_LLM_MAX_QUEUE on a server", () => {
  let llm: OpenAiTestServer;
  let server: TestServer;
  beforeAll(async () => {
    llm = await startOpenAiServer();
    server = await startAskServer(llm, { SEMCACHE_LLM_MAX_CONCURRENCY: "2", SEMCACHE_LLM_MAX_QUEUE: "2", SEMCACHE_LOG_LEVEL: "error" });
  });
  afterAll(async () => {
    await server?.stop();
    await llm?.close();
  });

  it("keeps at most 2 upstream calls running, queues 2, refuses the rest with RESOURCE_EXHAUSTED", async () => {
    llm.setBehaviour({ delayMs: 3000 });
    const client = clientFor("grpc", server.url);
    const prompts = ["Why is the sea salty?", "How do bees make honey?", "What is a black hole?", "Who wrote Hamlet?", "How tall is Everest?", "What is photosynthesis?"];
    let maxPending = 0;
    const sampler = setInterval(() => {
      maxPending = Math.max(maxPending, llm.requests.filter((r) => r.outcome === "pending").length);
    }, 10);
    const results = await Promise.allSettled(prompts.map((prompt) => client.ask({ prompt, scope: { namespace: "limit", model: MODEL } })));
    clearInterval(sampler);

    const answered = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => ConnectError.from(r.reason));
    expect(answered).toHaveLength(4);
    expect(answered.every((a) => a.source === Source.LLM)).toBe(true);
    expect(refused).toHaveLength(2);
    expect(refused.every((e) => e.code === Code.ResourceExhausted && /too many LLM calls/.test(e.rawMessage))).toBe(true);
    expect(llm.counts().total).toBe(4);
    expect(maxPending).toBeLessThanOrEqual(2);

    // The queue drained: the refused prompts go through now, and the hits need no slot at all.
    llm.setBehaviour({});
    for (const prompt of prompts) expect((await client.ask({ prompt, scope: { namespace: "limit", model: MODEL } })).response).toBe(`ANSWER: ${prompt}`);
  });
});
