/** The bound on LLM calls in flight: a slot pool with a bounded queue, fair between tenants, in units and through a real server. */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SemcacheError } from "../../src/errors/index.js";
import { Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { limitConcurrency, SlotPool, type LlmClient, type LlmCompletion, type LlmRequest } from "../../src/llm/index.js";
import { clientFor } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import type { TestServer } from "../support/test-server.js";
import { MODEL, startAskServer } from "../support/ask-server.js";

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
    expect(refused).toBeInstanceOf(SemcacheError);
    expect((refused as SemcacheError).code).toBe("resource_exhausted");
    expect((refused as SemcacheError).message).toMatch(/2 in flight and 1 queued \(SEMCACHE_LLM_MAX_CONCURRENCY, SEMCACHE_LLM_MAX_QUEUE\)/);
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

/** Waits for a slot as `tenant`, notes the grant, and frees the slot at once. */
function takeAndRelease(pool: SlotPool, tenant: string, name: string, granted: string[]): Promise<void> {
  return pool.acquire(undefined, tenant).then((release) => {
    granted.push(name);
    release();
  });
}

/** Releases each slot as soon as it is granted, until every waiter has had one. */
async function releaseAll(pending: readonly Promise<() => void>[]): Promise<void> {
  for (const next of pending) (await next)();
}

describe("SlotPool between tenants", () => {
  it("hands freed slots to the tenants in turn, not in arrival order", async () => {
    const pool = new SlotPool({ maxInFlight: 1, maxQueued: 10 });
    const granted: string[] = [];
    const first = await pool.acquire(undefined, "hog");
    const waits = [
      ...["h1", "h2", "h3"].map((name) => takeAndRelease(pool, "hog", name, granted)),
      ...["m1", "m2"].map((name) => takeAndRelease(pool, "meek", name, granted)),
    ];
    expect(pool.counts()).toEqual({ inFlight: 1, queued: 5 });
    first();
    await Promise.all(waits);
    expect(granted).toEqual(["h1", "m1", "h2", "m2", "h3"]);
    expect(pool.counts()).toEqual({ inFlight: 0, queued: 0 });
  });

  it("refuses a tenant beyond its share of the queue while others still get in", async () => {
    const pool = new SlotPool({ maxInFlight: 1, maxQueued: 4, maxQueuedPerTenant: 2 });
    const held = await pool.acquire(undefined, "hog");
    const queued = [pool.acquire(undefined, "hog"), pool.acquire(undefined, "hog")];
    const refused = await pool.acquire(undefined, "hog").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SemcacheError);
    expect((refused as SemcacheError).code).toBe("resource_exhausted");
    expect((refused as SemcacheError).message).toMatch(/2 of this caller's are already queued.*SEMCACHE_LLM_MAX_QUEUE_PER_TENANT=2/);
    queued.push(pool.acquire(undefined, "meek"), pool.acquire(undefined, "meek"));
    expect(pool.counts()).toEqual({ inFlight: 1, queued: 4 });
    expect(pool.queuedFor("hog")).toBe(2);
    expect(pool.queuedFor("meek")).toBe(2);
    held();
    // Granted in turn: hog, meek, hog, meek.
    await releaseAll([queued[0]!, queued[2]!, queued[1]!, queued[3]!]);
    expect(pool.counts()).toEqual({ inFlight: 0, queued: 0 });
  });

  it("when the queue is full, a tenant with fewer queued takes the busiest tenant's newest place", async () => {
    const pool = new SlotPool({ maxInFlight: 1, maxQueued: 4 });
    const held = await pool.acquire(undefined, "hog");
    const hog = [0, 1, 2, 3].map(() => pool.acquire(undefined, "hog"));
    const hogOutcomes = hog.map((p) => p.then(() => "granted", (e: unknown) => e));
    expect(pool.counts().queued).toBe(4);
    const meek = [pool.acquire(undefined, "meek"), pool.acquire(undefined, "meek")];
    // hog had 4 and meek 0, then 3 and 1: each time hog's newest gave way.
    const displaced = await Promise.all([hogOutcomes[3], hogOutcomes[2]]);
    for (const error of displaced) {
      expect(error).toBeInstanceOf(SemcacheError);
      expect((error as SemcacheError).code).toBe("resource_exhausted");
      expect((error as SemcacheError).message).toMatch(/gave its place to a caller with fewer calls queued/);
    }
    // Now 2 and 2: a third meek call would only swap who is short, so it is refused.
    const third = await pool.acquire(undefined, "meek").catch((e: unknown) => e);
    expect((third as SemcacheError).message).toMatch(/1 in flight and 4 queued/);
    expect(pool.queuedFor("hog")).toBe(2);
    expect(pool.queuedFor("meek")).toBe(2);
    held();
    await releaseAll([hog[0]!, meek[0]!, hog[1]!, meek[1]!]);
    expect(pool.counts()).toEqual({ inFlight: 0, queued: 0 });
  });

  it("limitConcurrency queues each call as its request's tenant", async () => {
    const pool = new SlotPool({ maxInFlight: 1, maxQueued: 8, maxQueuedPerTenant: 1 });
    let finish: (() => void) | undefined;
    const completion: LlmCompletion = { text: "ok", finishReason: "stop", model: "m", promptTokens: 1, completionTokens: 1 };
    const upstream: LlmClient = {
      complete: () => new Promise((resolve) => (finish = () => resolve(completion))),
      stream: () => {
        throw new Error("not used");
      },
    };
    const client = limitConcurrency(upstream, pool);
    const asA: LlmRequest = { model: "m", messages: [{ role: "user", content: "hi" }], tenant: "a" };
    const asB: LlmRequest = { ...asA, tenant: "b" };
    const running = client.complete(asA);
    const queuedA = client.complete(asA);
    // "a" holds its one queued place; "b" is another tenant with a place of its own.
    await expect(client.complete(asA)).rejects.toThrow(/SEMCACHE_LLM_MAX_QUEUE_PER_TENANT=1/);
    const queuedB = client.complete(asB);
    expect(pool.queuedFor("a")).toBe(1);
    expect(pool.queuedFor("b")).toBe(1);
    for (const call of [running, queuedA, queuedB]) {
      await new Promise((resolve) => setImmediate(resolve));
      finish?.();
      await call;
    }
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

describe("LLM slots shared between tenants on a server (keyless: the tenant is the namespace)", () => {
  let llm: OpenAiTestServer;
  let server: TestServer;
  beforeAll(async () => {
    llm = await startOpenAiServer();
    server = await startAskServer(llm, {
      SEMCACHE_LLM_MAX_CONCURRENCY: "1",
      SEMCACHE_LLM_MAX_QUEUE: "4",
      SEMCACHE_LLM_MAX_QUEUE_PER_TENANT: "2",
      SEMCACHE_LOG_LEVEL: "error",
    });
  });
  afterAll(async () => {
    await server?.stop();
    await llm?.close();
  });

  it("a busy namespace gets its share of the queue; another's Asks are queued, served in turn, not refused", async () => {
    llm.setBehaviour({ delayMs: 2500 });
    const client = clientFor("connect-h1", server.url);
    // A scope param per Ask, so no two share an upstream call (single-flight).
    const ask = (namespace: string, i: number) => client.ask({ prompt: `${namespace} question ${i}`, scope: { namespace, model: MODEL, params: { i: String(i) } } });
    let hogRefusals = 0;
    const hog = [0, 1, 2, 3, 4].map((i) =>
      ask("hog", i).catch((error: unknown) => {
        hogRefusals++;
        throw error;
      }),
    );
    const hogSettled = Promise.allSettled(hog);
    // 1 in flight, 2 queued (its share), 2 refused at once.
    const deadline = Date.now() + 20_000;
    while (hogRefusals < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(hogRefusals).toBe(2);
    const meek = await Promise.allSettled([ask("meek", 0), ask("meek", 1)]);
    const hogResults = await hogSettled;

    expect(meek.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    const refused = hogResults.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => ConnectError.from(r.reason));
    expect(refused).toHaveLength(2);
    expect(refused.every((e) => e.code === Code.ResourceExhausted && /SEMCACHE_LLM_MAX_QUEUE_PER_TENANT=2/.test(e.rawMessage))).toBe(true);
    // Upstream saw the tenants alternate once both were waiting: hog's running call, then hog, meek, hog, meek.
    const order = llm.requests.map((r) => String(r.body?.messages?.at(-1)?.content ?? "").split(" ")[0]);
    expect(order).toEqual(["hog", "hog", "meek", "hog", "meek"]);
  });
});
