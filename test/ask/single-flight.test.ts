import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { clientFor, PROTOCOLS, type CacheClient } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import type { TestServer } from "../support/test-server.js";
import { sleep } from "../support/eventually.js";
import { collect, expectCode, failure, MODEL, startAskServer } from "../support/ask-server.js";

let llm: OpenAiTestServer;
let server: TestServer;

beforeAll(async () => {
  llm = await startOpenAiServer();
  server = await startAskServer(llm);
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});
beforeEach(() => {
  llm.reset();
});

const client = (): CacheClient => clientFor("connect-h2", server.url);

describe("single-flight", () => {
  it("20 concurrent identical Asks make exactly one upstream request", async () => {
    const ns = "sf-burst";
    const scope = { namespace: ns, model: MODEL };
    // Slow enough that the whole burst arrives while the first call is in flight.
    llm.setBehaviour({ delayMs: 400 });
    const clients = Array.from({ length: 20 }, (_, i) => clientFor(PROTOCOLS[i % PROTOCOLS.length] ?? "connect-h1", server.url));
    // Differently formatted, same normalised prompt.
    const answers = await Promise.all(clients.map((c, i) => c.ask({ prompt: i % 2 === 0 ? "Why is the sea salty?" : "  Why is the sea   salty? ", scope })));
    expect(llm.counts().total).toBe(1);
    const bySource = answers.reduce<Record<string, number>>((acc, a) => ({ ...acc, [Source[a.source]]: (acc[Source[a.source]] ?? 0) + 1 }), {});
    expect(bySource).toEqual({ LLM: 1, COALESCED: 19 });
    const leader = answers.find((a) => a.source === Source.LLM);
    for (const answer of answers) {
      expect(answer.response).toBe(leader?.response);
      expect(answer.entryId).toBe(leader?.entryId);
      expect(answer.finishReason).toBe("stop");
      expect(answer.model).toBe(MODEL);
    }
    // The call's usage is charged once; the others report it as saved.
    const followers = answers.filter((a) => a.source === Source.COALESCED);
    expect(followers.every((a) => a.similarity === 1 && a.usage?.completionTokens === 0 && a.usage.tokensSaved === leader?.usage?.completionTokens)).toBe(true);
    // matched_prompt is the leader's prompt as it sent it, which normalises to the same.
    expect(new Set(followers.map((a) => a.matchedPrompt.replace(/\s+/g, " ").trim()))).toEqual(new Set(["Why is the sea salty?"]));

    const stats = await client().stats({ namespace: ns });
    expect(stats.llmCalls).toBe(1n);
    expect(stats.coalescedCalls).toBe(19n);
    expect(stats.tokensSaved).toBe(19n * BigInt(leader?.usage?.completionTokens ?? 0));
    expect(stats.stores).toBe(1n);
    // Afterwards it is a plain hit.
    expect((await client().ask({ prompt: "Why is the sea salty?", scope })).source).toBe(Source.CACHE);
    expect(llm.counts().total).toBe(1);
  });

  it("Ask and AskStream share one call", async () => {
    const scope = { namespace: "sf-mixed", model: MODEL };
    llm.setBehaviour({ delayMs: 300, chunkDelayMs: 10 });
    const prompt = "How do volcanoes form?";
    const unary = Array.from({ length: 4 }, () => client().ask({ prompt, scope }));
    const streams = Array.from({ length: 4 }, (_, i) => collect(clientFor(i % 2 === 0 ? "grpc" : "connect-h1", server.url).askStream({ prompt, scope })));
    const [answers, streamed] = await Promise.all([Promise.all(unary), Promise.all(streams)]);
    expect(llm.counts().total).toBe(1);
    const texts = new Set([...answers.map((a) => a.response), ...streamed.map((s) => s.text)]);
    expect(texts).toEqual(new Set([`ANSWER: ${prompt}`]));
    const sources = [...answers.map((a) => a.source), ...streamed.map((s) => s.start?.source)];
    expect(sources.filter((s) => s === Source.LLM)).toHaveLength(1);
    expect(sources.filter((s) => s === Source.COALESCED)).toHaveLength(7);
    for (const s of streamed) {
      expect(s.error).toBeUndefined();
      expect(s.end?.finishReason).toBe("stop");
      expect(s.end?.entryId).toBe(answers[0]?.entryId);
    }
  });

  it("a near-duplicate arriving during an in-flight miss waits for it", async () => {
    const scope = { namespace: "sf-near", model: MODEL };
    llm.setBehaviour({ delayMs: 800 });
    const first = client().ask({ prompt: "What is the capital of France?", scope });
    await llm.waitFor((s) => s.counts().total === 1);
    const near = await client().ask({ prompt: "Tell me the capital city of France.", scope });
    const lead = await first;
    expect(lead.source).toBe(Source.LLM);
    expect(near.source).toBe(Source.COALESCED);
    expect(near.response).toBe(lead.response);
    expect(near.matchedPrompt).toBe("What is the capital of France?");
    expect(near.similarity).toBeGreaterThanOrEqual(0.9);
    expect(near.similarity).toBeLessThan(1);
    expect(near.entryId).toBe(lead.entryId);
    expect(llm.counts().total).toBe(1);
  });

  it("does not make unrelated prompts, other scopes or stricter thresholds wait", async () => {
    const scope = { namespace: "sf-near-not", model: MODEL };
    llm.setBehaviour({ delayMs: 600 });
    const first = client().ask({ prompt: "What is the capital of France?", scope });
    await llm.waitFor((s) => s.counts().total === 1);
    const results = await Promise.all([
      client().ask({ prompt: "How do I bake sourdough bread?", scope }),
      client().ask({ prompt: "Tell me the capital city of France.", scope: { ...scope, model: "other-model" } }),
      client().ask({ prompt: "Tell me the capital city of France.", scope, minSimilarity: 0.9999 }),
    ]);
    await first;
    expect(results.map((r) => Source[r.source])).toEqual(["LLM", "LLM", "LLM"]);
    expect(llm.counts().total).toBe(4);
  });

  it("shares a failure with everyone who waited, and the next Ask tries again", async () => {
    const scope = { namespace: "sf-fail", model: MODEL };
    llm.setBehaviour({ delayMs: 300, error: { status: 400, message: "bad things" }, failFirst: 1 });
    const errors = await Promise.all(Array.from({ length: 5 }, () => failure(client().ask({ prompt: "Is this shared?", scope }))));
    expect(errors.map((e) => Code[e.code])).toEqual(Array(5).fill("InvalidArgument"));
    expect(errors.every((e) => /bad things/.test(e.rawMessage))).toBe(true);
    expect(llm.counts().total).toBe(1);
    expect((await client().ask({ prompt: "Is this shared?", scope })).source).toBe(Source.LLM);
  });

  it("a waiter that gives up does not cancel the call for the others", async () => {
    const scope = { namespace: "sf-cancel", model: MODEL };
    llm.setBehaviour({ delayMs: 600 });
    const leader = client().ask({ prompt: "Will this survive?", scope });
    await llm.waitFor((s) => s.counts().total === 1);
    const impatient = new AbortController();
    const follower = client().ask({ prompt: "Will this survive?", scope }, { signal: impatient.signal });
    await sleep(100);
    impatient.abort();
    await expectCode(follower, Code.Canceled);
    const answer = await leader;
    expect(answer.source).toBe(Source.LLM);
    expect(answer.entryId).not.toBe("");
    expect(llm.counts()).toMatchObject({ total: 1, completed: 1, closedEarly: 0 });
  });

  it("the last waiter to leave aborts the upstream request", async () => {
    const scope = { namespace: "sf-abandon", model: MODEL };
    llm.setBehaviour({ delayMs: 2_000 });
    const a = new AbortController();
    const b = new AbortController();
    const first = client().ask({ prompt: "Will anyone wait?", scope }, { signal: a.signal });
    await llm.waitFor((s) => s.counts().total === 1);
    const second = client().ask({ prompt: "Will anyone wait?", scope }, { signal: b.signal });
    await sleep(100);
    a.abort();
    await expectCode(first, Code.Canceled);
    await sleep(100);
    expect(llm.counts().closedEarly).toBe(0);
    b.abort();
    await expectCode(second, Code.Canceled);
    await llm.waitFor((s) => s.counts().closedEarly === 1);
    expect((await client().lookup({ prompt: "Will anyone wait?", scope })).hit).toBe(false);
  });
});
