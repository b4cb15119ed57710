/**
 * LLM failures under load: one semcache server whose LLM is the
 * OpenAI-compatible test server, 48 concurrent distinct prompts per case
 * (half Ask, half AskStream, over all four protocols), and upstream made
 * slow, failing (5xx, transient then permanent), rate limiting (429 with
 * retry-after) or hanging past SEMCACHE_LLM_TIMEOUT_MS. The codes are those
 * of README.md "Ask and AskStream" → Failures:
 *
 * | Failure                               | Result                                              |
 * |---------------------------------------|-----------------------------------------------------|
 * | Deadline passed                       | DEADLINE_EXCEEDED                                   |
 * | 429                                   | RESOURCE_EXHAUSTED (retry-after honoured within the deadline) |
 * | 5xx                                   | retried with backoff, then UNAVAILABLE              |
 *
 * Each case has its own namespace, so its Stats are its own.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../src/gen/grpc/health/v1/health_pb.js";
import { MatchKind, Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { MODEL, startAskServer } from "../support/ask-server.js";
import { clientFor, PROTOCOLS, type CacheClient } from "../support/clients.js";
import { defaultAnswer, startOpenAiServer, type Behaviour, type OpenAiTestServer, type RecordedRequest } from "../support/openai-server.js";
import type { TestServer } from "../support/test-server.js";
import { askBy, type AnswerFacts, type AskKind } from "./support/ask-calls.js";
import { concurrently, settle, tallyCodes, type Settled } from "./support/calls.js";
import { PromptCounter } from "./support/prompts.js";

const LOAD = 48;
// Short enough that the hang case stays quick, long enough that a slow (400 ms) or retried answer on a busy
// 2-core machine never reaches it.
const TIMEOUT_MS = 5_000;
const MAX_RETRIES = 2;

let llm: OpenAiTestServer;
let server: TestServer;
let clients: CacheClient[];
/** The prompts whose calls hung, for the last case. */
let hungPrompts: string[] = [];
// Distinct prompts that are not near-duplicates of each other either: single-flight must not join them.
const prompts = new PromptCounter({ spread: true });

beforeAll(async () => {
  llm = await startOpenAiServer();
  server = await startAskServer(llm, {
    SEMCACHE_LLM_TIMEOUT_MS: String(TIMEOUT_MS),
    SEMCACHE_LLM_MAX_RETRIES: String(MAX_RETRIES),
    // Every upstream failure is logged; the assertions say enough.
    SEMCACHE_LOG_LEVEL: "error",
  });
  clients = PROTOCOLS.map((protocol) => clientFor(protocol, server.url));
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});

const scopeOf = (namespace: string) => ({ namespace, model: MODEL });
const kindOf = (i: number): AskKind => (i % 2 === 0 ? "ask" : "askStream");
const clientOf = (i: number): CacheClient => clients[i % clients.length] as CacheClient;
const answerTo = (prompt: string): string => defaultAnswer({ messages: [{ role: "user", content: prompt }] });

/** `n` fresh distinct prompts. */
function freshPrompts(label: string, n = LOAD): string[] {
  return Array.from({ length: n }, (_, i) => prompts.prompt(`${label} ${i}`));
}

/** Asks every prompt at once (Ask and AskStream alternating, protocols rotating). */
function askAll(list: readonly string[], namespace: string): Promise<Settled<AnswerFacts>[]> {
  return concurrently(list.length, (i) => settle(() => askBy(clientOf(i), kindOf(i), list[i] as string, scopeOf(namespace))));
}

/** The prompt of a chat request (its last user message). */
function promptOf(request: RecordedRequest): string {
  const user = [...(request.body?.messages ?? [])].reverse().find((m) => m.role === "user");
  return typeof user?.content === "string" ? user.content : "";
}

/** How many chat requests upstream received per prompt. */
function upstreamPerPrompt(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of llm.requests) counts.set(promptOf(request), (counts.get(promptOf(request)) ?? 0) + 1);
  return counts;
}

/**
 * Upstream fails the first request for each of `targets` with `failure`,
 * and answers everything else. Per prompt rather than `failFirst` (the first
 * N arrivals): under load the arrivals spread out, and a retry could arrive
 * before another prompt's first attempt and be failed in its place.
 */
function failFirstAttemptOf(targets: Iterable<string>, failure: Behaviour): (request: RecordedRequest) => Behaviour {
  const pending = new Set(targets);
  return (request) => (pending.delete(promptOf(request)) ? failure : {});
}

/** Every prompt is a miss (nothing was stored for it). */
async function expectNothingStored(list: readonly string[], namespace: string): Promise<void> {
  for (const [i, prompt] of list.entries()) {
    expect((await clientOf(i).lookup({ prompt, scope: scopeOf(namespace) })).hit, `"${prompt}" was stored`).toBe(false);
  }
}

function failures(outcomes: readonly Settled<AnswerFacts>[]): { code: string; message: string; ms: number }[] {
  return outcomes.flatMap((o) => (o.ok ? [] : [{ code: o.code, message: o.message, ms: o.ms }]));
}

describe("a slow LLM under load", () => {
  it("answers every Ask, and single-flight still makes one upstream call per distinct prompt", async () => {
    llm.reset();
    llm.setBehaviour({ delayMs: 400, chunkDelayMs: 5 });
    const list = freshPrompts("slow");
    // Each prompt asked twice at once, once by Ask and once by AskStream, over different protocols: 96 calls.
    const outcomes = await concurrently(2 * LOAD, (i) => {
      const prompt = list[i % LOAD] as string;
      return settle(() => askBy(clientOf(i + Math.floor(i / LOAD)), i < LOAD ? kindOf(i) : kindOf(i + 1), prompt, scopeOf("slow")));
    });
    expect(tallyCodes(outcomes)).toEqual({ OK: 2 * LOAD });
    const byPrompt = new Map<string, AnswerFacts[]>();
    outcomes.forEach((o, i) => {
      if (!o.ok) return;
      const prompt = list[i % LOAD] as string;
      expect(o.value.response).toBe(answerTo(prompt));
      expect(o.value.cacheUnavailable).toBe(false);
      byPrompt.set(prompt, [...(byPrompt.get(prompt) ?? []), o.value]);
    });
    const perPrompt = upstreamPerPrompt();
    for (const prompt of list) {
      expect(perPrompt.get(prompt), `upstream calls for "${prompt}"`).toBe(1);
      const sources = (byPrompt.get(prompt) ?? []).map((a) => a.source).sort();
      // One led the call; the other waited for it, or (arriving after it was stored) hit the cache.
      expect(sources.filter((s) => s === Source.LLM)).toHaveLength(1);
      expect(sources.filter((s) => s === Source.COALESCED || s === Source.CACHE)).toHaveLength(1);
      // Both got the same stored entry.
      const ids = new Set((byPrompt.get(prompt) ?? []).map((a) => a.entryId));
      expect(ids.size).toBe(1);
      expect([...ids][0]).not.toBe("");
    }
    expect(llm.counts().total).toBe(LOAD);
    const stats = await clientOf(0).stats({ namespace: "slow" });
    expect(stats.llmCalls).toBe(BigInt(LOAD));
    expect(Number(stats.entries)).toBe(LOAD);
    expect(stats.cacheErrors).toBe(0n);
  });
});

describe("an LLM failing with 5xx under load", () => {
  it("retries the first failures and answers them all", async () => {
    llm.reset();
    const list = freshPrompts("transient 5xx");
    // The first request of half the prompts fails; each is retried after backoff, and answered.
    llm.setBehaviour(failFirstAttemptOf(list.slice(0, LOAD / 2), { error: { status: 503 } }));
    const outcomes = await askAll(list, "transient");
    expect(tallyCodes(outcomes), JSON.stringify(failures(outcomes).slice(0, 3))).toEqual({ OK: LOAD });
    for (const [i, o] of outcomes.entries()) {
      if (o.ok) expect(o.value.response).toBe(answerTo(list[i] as string));
    }
    expect(llm.counts().total).toBe(LOAD + LOAD / 2);
    expect(llm.requests.filter((r) => r.status === 503)).toHaveLength(LOAD / 2);
    const stats = await clientOf(1).stats({ namespace: "transient" });
    // Retries are not LLM calls in Stats: one per Ask.
    expect(stats.llmCalls).toBe(BigInt(LOAD));
    expect(Number(stats.entries)).toBe(LOAD);
  });

  it("is UNAVAILABLE for all after the bounded retries when it keeps failing, stores nothing, and a healthy LLM answers them later", async () => {
    llm.reset();
    llm.setBehaviour({ error: { status: 503 } });
    const list = freshPrompts("permanent 5xx");
    const outcomes = await askAll(list, "permanent");
    expect(tallyCodes(outcomes)).toEqual({ Unavailable: LOAD });
    for (const failure of failures(outcomes)) expect(failure.message).toMatch(/overloaded/);
    // One attempt and MAX_RETRIES retries each, no more.
    expect(llm.counts().total).toBe(LOAD * (1 + MAX_RETRIES));
    await expectNothingStored(list, "permanent");

    llm.reset();
    const healed = await askAll(list, "permanent");
    expect(tallyCodes(healed)).toEqual({ OK: LOAD });
    for (const o of healed) if (o.ok) expect(o.value.source).toBe(Source.LLM);
    expect(llm.counts().total).toBe(LOAD);
    const stats = await clientOf(2).stats({ namespace: "permanent" });
    expect(stats.llmCalls).toBe(BigInt(2 * LOAD));
    expect(Number(stats.entries)).toBe(LOAD);
    expect(stats.cacheErrors).toBe(0n);
  });
});

describe("an LLM rate limiting under load (429)", () => {
  it("is RESOURCE_EXHAUSTED at once when retry-after is beyond the deadline", async () => {
    llm.reset();
    llm.setBehaviour({ error: { status: 429, retryAfter: "30" } });
    const list = freshPrompts("rate limited");
    const outcomes = await askAll(list, "limited");
    expect(tallyCodes(outcomes)).toEqual({ ResourceExhausted: LOAD });
    for (const failure of failures(outcomes)) {
      expect(failure.message).toMatch(/Rate limit reached/);
      // Not waited for: 30 s is past the 5 s deadline (a wait would end in DEADLINE_EXCEEDED instead).
      expect(failure.ms).toBeLessThan(TIMEOUT_MS);
    }
    expect(llm.counts().total).toBe(LOAD);
    await expectNothingStored(list, "limited");
  });

  it("waits out a retry-after within the deadline and answers", async () => {
    llm.reset();
    const list = freshPrompts("rate limited once");
    llm.setBehaviour(failFirstAttemptOf(list, { error: { status: 429, retryAfterMs: "300" } }));
    const outcomes = await askAll(list, "limited-once");
    expect(tallyCodes(outcomes), JSON.stringify(failures(outcomes).slice(0, 3))).toEqual({ OK: LOAD });
    for (const [i, o] of outcomes.entries()) {
      if (o.ok) expect(o.value.response).toBe(answerTo(list[i] as string));
    }
    expect(llm.requests.filter((r) => r.status === 429)).toHaveLength(LOAD);
    // One 429 and one answer per prompt: the retry-after was waited out once, within the deadline.
    expect(llm.counts().total).toBe(2 * LOAD);
  });
});

describe("an LLM hanging past SEMCACHE_LLM_TIMEOUT_MS under load", () => {
  it("is DEADLINE_EXCEEDED for all after the deadline, while the server keeps answering Lookups", async () => {
    llm.reset();
    const lookupScope = scopeOf("hang-lookups");
    await clientOf(0).store({ prompt: "What is the capital of France?", response: "Paris.", scope: lookupScope });
    llm.setBehaviour({ hang: "before-headers" });
    const list = freshPrompts("hanging");
    hungPrompts = list;
    const pending = askAll(list, "hang");
    let settledCount = 0;
    void pending.then(() => (settledCount = LOAD));

    // Every call is hanging upstream now. When each request arrived, to time its failure from there:
    // the client's own clock also counts the lookups (embeddings) that ran before it, which take long under load.
    const arrivals = new Map<string, number>();
    await llm.waitFor((s) => {
      for (const request of s.requests.slice(arrivals.size)) arrivals.set(promptOf(request), performance.now());
      return s.counts().total === LOAD;
    }, 30_000);
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    const meanwhile = await Promise.all([
      clientOf(1).lookup({ prompt: "What is the capital of France?", scope: lookupScope }),
      clientOf(2).lookup({ prompt: "Tell me the capital city of France.", scope: lookupScope }),
      clientOf(3).store({ prompt: "What is the capital of Italy?", response: "Rome.", scope: lookupScope }),
      health.check({ service: "" }),
    ]);
    expect(meanwhile[0].kind).toBe(MatchKind.EXACT);
    expect(meanwhile[1].kind).toBe(MatchKind.SEMANTIC);
    expect(meanwhile[2].id).not.toBe("");
    expect(meanwhile[3].status).toBe(Status.SERVING);
    // ...and they were answered while the Asks were still hanging.
    expect(settledCount).toBe(0);

    const outcomes = await pending;
    expect(tallyCodes(outcomes)).toEqual({ DeadlineExceeded: LOAD });
    const afterArrival: number[] = [];
    outcomes.forEach((o, i) => {
      if (o.ok) return;
      expect(o.message).toMatch(new RegExp(`${TIMEOUT_MS} ms \\(SEMCACHE_LLM_TIMEOUT_MS\\)`));
      // Never before the deadline...
      expect(o.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      // ...and promptly after it, counted from the upstream request: the deadline ended the call, nothing else did.
      const arrival = arrivals.get(list[i] as string);
      expect(arrival).toBeDefined();
      afterArrival.push(o.endedAt - (arrival as number));
    });
    expect(Math.max(...afterArrival)).toBeLessThan(TIMEOUT_MS + 1_500);
    // Hung up on, not retried.
    await llm.waitFor((s) => s.counts().closedEarly === LOAD, 10_000);
    expect(llm.counts().total).toBe(LOAD);
    await expectNothingStored(list, "hang");
  });
});

describe("after all of that", () => {
  it("the server is healthy, its Stats add up, and nothing is stuck in flight", async () => {
    llm.reset();
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    // Prompts that hung, asked again: a fresh LLM call each, not a wait on a call that died.
    const again = hungPrompts.slice(0, 8);
    expect(again).toHaveLength(8);
    const retry = await askAll(again, "hang");
    expect(tallyCodes(retry)).toEqual({ OK: 8 });
    for (const o of retry) if (o.ok) expect(o.value.source).toBe(Source.LLM);
    expect(llm.counts().total).toBe(8);

    const all = await clientOf(3).stats({});
    const hang = await clientOf(3).stats({ namespace: "hang" });
    // 48 hung + 8 now; the failed ones counted as LLM calls too.
    expect(hang.llmCalls).toBe(BigInt(LOAD + 8));
    expect(Number(hang.entries)).toBe(8);
    expect(all.cacheErrors).toBe(0n);
    // slow 48, transient 48, permanent 96, limited 48, limited-once 48, hang 56.
    expect(all.llmCalls).toBe(BigInt(48 + 48 + 96 + 48 + 48 + 56));
  });
});
