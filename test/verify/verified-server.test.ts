/**
 * Verified answers end to end: a real server on the fixture model, a real
 * OpenAI-compatible LLM answering per question, and the generated client
 * over Connect, gRPC and gRPC-Web: exploration (Ask and AskStream), the
 * uncertain Lookup, Feedback, ListEntries and Stats, restart persistence,
 * and bad input.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Source, type CacheEntry } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { DEFAULT_EXPLORE_FLOOR } from "../../src/verify/index.js";
import { collect } from "../support/ask-server.js";
import { clientFor, type CacheClient, type Protocol } from "../support/clients.js";
import { startOpenAiServer, type ChatRequestBody, type OpenAiTestServer } from "../support/openai-server.js";
import { startTestServer, tempDir, type TestServer } from "../support/test-server.js";

const FRANCE = "What is the capital of France?";
const FRANCE_PARA = "Tell me the capital city of France.";
const GERMANY = "What is the capital of Germany?";

/** The LLM's answer per question: one answer per intent, so right and wrong are exact. */
function answerOf(body: ChatRequestBody): string {
  const last = String(body.messages?.at(-1)?.content ?? "");
  if (/germany/i.test(last)) return "Berlin.";
  if (/france/i.test(last)) return "Paris.";
  return `ANSWER: ${last}`;
}

async function expectCode(work: Promise<unknown>, code: Code, text: RegExp): Promise<void> {
  try {
    await work;
    expect.unreachable("the call succeeded");
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(code);
    expect((error as ConnectError).rawMessage).toMatch(text);
  }
}

async function entryById(client: CacheClient, namespace: string, id: string): Promise<CacheEntry> {
  const { entries } = await client.listEntries({ namespace, limit: 100 });
  const entry = entries.find((e) => e.id === id);
  if (entry === undefined) throw new Error(`no entry ${id} in ${namespace}`);
  return entry;
}

let llm: OpenAiTestServer;
let server: TestServer;
const dataDir = tempDir("semcache-verified-");

beforeAll(async () => {
  llm = await startOpenAiServer();
  llm.setBehaviour({ answer: answerOf });
  server = await startAskServerOn(dataDir);
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});

/** A server whose LLM is the per-question one, on a data directory the restart test reopens. */
function startAskServerOn(dir: string): Promise<TestServer> {
  return startTestServer({ dataDir: dir, env: { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LLM_MODEL: "test-model", SEMCACHE_LLM_TIMEOUT_MS: "5000" } });
}

describe.each<Protocol>(["connect-h1", "grpc", "grpc-web"])("verified answers over %s", (protocol) => {
  const namespace = `verified-${protocol}`;
  let client: CacheClient;
  beforeAll(() => {
    client = clientFor(protocol, server.url);
  });

  it("explores an uncertain candidate: the LLM answers, the verdict is recorded on the candidate, the answer is stored as its own entry", async () => {
    const calls = llm.counts().total;
    const first = await client.ask({ prompt: FRANCE, scope: { namespace }, maxErrorRate: 0.02 });
    expect(first).toMatchObject({ source: Source.LLM, response: "Paris.", exploredEntryId: "" });

    const para = await client.ask({ prompt: FRANCE_PARA, scope: { namespace }, maxErrorRate: 0.02 });
    expect(para.source).toBe(Source.LLM);
    expect(para.exploredEntryId).toBe(first.entryId);
    expect(para.entryId).not.toBe(first.entryId);
    expect(para.response).toBe("Paris.");

    const wrong = await client.ask({ prompt: GERMANY, scope: { namespace }, maxErrorRate: 0.02 });
    expect(wrong.source).toBe(Source.LLM);
    expect(wrong.response).toBe("Berlin.");
    expect([first.entryId, para.entryId]).toContain(wrong.exploredEntryId);
    expect(llm.counts().total - calls).toBe(3);

    // The candidates carry their observations (the paraphrase's right answer, Germany's wrong one).
    const explored = [await entryById(client, namespace, first.entryId), await entryById(client, namespace, para.entryId)];
    expect(explored.reduce((n, e) => n + e.observations, 0)).toBe(2);
    expect((await entryById(client, namespace, wrong.entryId)).observations).toBe(0);

    // An exact repeat is served from the cache under a budget too.
    const again = await client.ask({ prompt: GERMANY, scope: { namespace }, maxErrorRate: 0.02 });
    expect(again).toMatchObject({ source: Source.CACHE, response: "Berlin.", entryId: wrong.entryId, exploredEntryId: "" });

    const stats = await client.stats({ namespace });
    expect(stats.explorations).toBe(2n);
    expect(stats.llmCalls).toBe(3n);
  });

  it("AskStream explores too, and says so in its end message", async () => {
    const ns = `${namespace}-stream`;
    const first = await collect(client.askStream({ prompt: FRANCE, scope: { namespace: ns }, maxErrorRate: 0.05 }));
    expect(first.text).toBe("Paris.");
    expect(first.end?.exploredEntryId).toBe("");
    const para = await collect(client.askStream({ prompt: FRANCE_PARA, scope: { namespace: ns }, maxErrorRate: 0.05 }));
    expect(para.start?.source).toBe(Source.LLM);
    expect(para.text).toBe("Paris.");
    expect(para.end?.exploredEntryId).toBe(first.end?.entryId);
    expect((await entryById(client, ns, first.end!.entryId)).observations).toBe(1);
  });

  it("Lookup under a budget answers uncertain with the candidate, exact hits as usual", async () => {
    const ns = `${namespace}-lookup`;
    const stored = await client.store({ prompt: FRANCE, response: "Paris.", scope: { namespace: ns } });
    const exact = await client.lookup({ prompt: FRANCE, scope: { namespace: ns }, maxErrorRate: 0.02 });
    expect(exact).toMatchObject({ hit: true, similarity: 1, uncertain: false });
    const uncertain = await client.lookup({ prompt: FRANCE_PARA, scope: { namespace: ns }, maxErrorRate: 0.02 });
    expect(uncertain.hit).toBe(false);
    expect(uncertain.uncertain).toBe(true);
    expect(uncertain.candidate?.id).toBe(stored.id);
    expect(uncertain.candidate?.response).toBe("Paris.");
    expect(uncertain.candidateSimilarity).toBeGreaterThan(0.6);
    expect(uncertain.candidateSimilarity).toBeLessThan(1);
    // The threshold reported under a budget is the least similarity a candidate needs to be considered.
    expect(uncertain.threshold).toBeCloseTo(DEFAULT_EXPLORE_FLOOR, 5);
    // Without a budget the plain threshold applies, as before.
    const plain = await client.lookup({ prompt: FRANCE_PARA, scope: { namespace: ns }, minSimilarity: 0.5 });
    expect(plain).toMatchObject({ hit: true, uncertain: false });
    // A floor above the candidate: a plain miss, nothing uncertain.
    const floored = await client.lookup({ prompt: FRANCE_PARA, scope: { namespace: ns }, maxErrorRate: 0.02, minSimilarity: 0.9999 });
    expect(floored).toMatchObject({ hit: false, uncertain: false });
  });

  it("Feedback records verdicts; enough right ones make a candidate servable, and one wrong served answer tightens it at once", async () => {
    const ns = `${namespace}-feedback`;
    const { id } = await client.store({ prompt: FRANCE, response: "Paris.", scope: { namespace: ns } });
    let last = await client.feedback({ entryId: id, prompt: FRANCE_PARA, scope: { namespace: ns }, correct: true });
    expect(last.similarity).toBeGreaterThan(0.6);
    expect(last.similarity).toBeLessThan(1);
    expect(last.observations).toBe(1);
    for (let i = 0; i < 29; i++) last = await client.feedback({ entryId: id, prompt: FRANCE_PARA, scope: { namespace: ns }, correct: true });
    expect(last.observations).toBe(30);
    expect(last.learnedBoundary).toBeGreaterThan(0);
    expect(last.learnedBoundary).toBeLessThanOrEqual(last.similarity + 1e-6);

    // Each request earns budget; the candidate is served once its bound fits.
    let served = false;
    for (let i = 0; i < 40 && !served; i++) served = (await client.lookup({ prompt: FRANCE_PARA, scope: { namespace: ns }, maxErrorRate: 0.05 })).hit;
    expect(served).toBe(true);

    await client.feedback({ entryId: id, prompt: FRANCE_PARA, scope: { namespace: ns }, correct: false });
    for (let i = 0; i < 5; i++) {
      const after = await client.lookup({ prompt: FRANCE_PARA, scope: { namespace: ns }, maxErrorRate: 0.05 });
      expect(after).toMatchObject({ hit: false, uncertain: true });
    }
    const stats = await client.stats({ namespace: ns });
    expect(stats.feedbackReceived).toBe(31n);
    expect(stats.servedThenJudgedWrong).toBe(1n);
    const entry = await entryById(client, ns, id);
    expect(entry.observations).toBe(31);
  });

  it("refuses bad input: a budget outside (0, 1), unknown or foreign entry ids", async () => {
    const ns = `${namespace}-bad`;
    for (const maxErrorRate of [0, 1, 1.5, -0.1, Number.NaN]) {
      await expectCode(client.lookup({ prompt: FRANCE, scope: { namespace: ns }, maxErrorRate }), Code.InvalidArgument, /^max_error_rate: /);
      await expectCode(client.ask({ prompt: FRANCE, scope: { namespace: ns }, maxErrorRate }), Code.InvalidArgument, /^max_error_rate: /);
      const stream = await collect(client.askStream({ prompt: FRANCE, scope: { namespace: ns }, maxErrorRate }));
      expect(stream.error?.code).toBe(Code.InvalidArgument);
      expect(stream.error?.rawMessage).toMatch(/^max_error_rate: /);
    }
    await expectCode(client.feedback({ entryId: "0".repeat(32), prompt: FRANCE, scope: { namespace: ns }, correct: false }), Code.NotFound, /^entry_id: /);
    await expectCode(client.feedback({ entryId: "", prompt: FRANCE, scope: { namespace: ns }, correct: false }), Code.InvalidArgument, /^entry_id: /);
    await expectCode(client.feedback({ entryId: "x", prompt: "  ", scope: { namespace: ns }, correct: false }), Code.InvalidArgument, /^prompt: /);
    const { id } = await client.store({ prompt: FRANCE, response: "Paris.", scope: { namespace: ns } });
    await expectCode(client.feedback({ entryId: id, prompt: FRANCE, scope: { namespace: `${ns}-other` }, correct: false }), Code.NotFound, /^entry_id: /);
    const stats = await client.stats({ namespace: ns });
    expect(stats.feedbackReceived).toBe(0n);
  });
});

describe("observations survive a restart", () => {
  it("keeps each entry's observations, and the learned boundary comes back from them", async () => {
    const client = clientFor("grpc", server.url);
    const ns = "verified-restart";
    const { id } = await client.store({ prompt: FRANCE, response: "Paris.", scope: { namespace: ns } });
    for (let i = 0; i < 10; i++) await client.feedback({ entryId: id, prompt: FRANCE_PARA, scope: { namespace: ns }, correct: true });
    const before = await entryById(client, ns, id);
    expect(before.observations).toBe(10);
    expect(before.learnedBoundary).toBeGreaterThan(0);

    await server.stop({ keepData: true });
    server = await startAskServerOn(dataDir);
    const after = clientFor("connect-h1", server.url);
    const entry = await entryById(after, ns, id);
    expect(entry.observations).toBe(10);
    // The pooled prior is relearned from the entries the server meets; the entry's own observations came back.
    expect(entry.learnedBoundary).toBeGreaterThan(0);
    const lookup = await after.lookup({ prompt: FRANCE_PARA, scope: { namespace: ns }, maxErrorRate: 0.02 });
    expect(lookup.candidate?.observations ?? lookup.entry?.observations).toBe(10);
  });
});
