import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MatchKind, Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { CONVERSATION_PARAM, conversationKey } from "../../src/ask/index.js";
import { clientFor, PROTOCOLS, type CacheClient } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import type { TestServer } from "../support/test-server.js";
import { expectCode, MODEL, startAskServer } from "../support/ask-server.js";

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

describe.each(PROTOCOLS)("Ask over %s", (protocol) => {
  let client: CacheClient;
  const ns = `ask-${protocol}`;
  beforeAll(() => {
    client = clientFor(protocol, server.url);
  });

  it("answers a miss from the LLM, stores it, then serves it from the cache", async () => {
    const scope = { namespace: ns, model: MODEL };
    const prompt = "What is the capital of France?";
    const miss = await client.ask({ prompt, scope });
    expect(miss.source).toBe(Source.LLM);
    expect(miss.response).toBe(`ANSWER: ${prompt}`);
    expect(miss.similarity).toBe(0);
    expect(miss.entryId).toMatch(/^[0-9a-f]{32}$/);
    expect(miss.matchedPrompt).toBe("");
    expect(miss.cacheUnavailable).toBe(false);
    expect(miss.finishReason).toBe("stop");
    expect(miss.model).toBe(MODEL);
    // The fake LLM counts words in and deltas out: 6 prompt words, 7 answer words.
    expect(miss.usage).toMatchObject({ promptTokens: 6, completionTokens: 7, tokensSaved: 0 });
    expect(llm.counts().total).toBe(1);
    expect(llm.requests[0]?.body?.messages).toEqual([{ role: "user", content: prompt }]);

    // Stored before Ask returned: Lookup sees it at once, with the answer's facts.
    const lookup = await client.lookup({ prompt, scope });
    expect(lookup.hit).toBe(true);
    expect(lookup.entry?.id).toBe(miss.entryId);
    expect(lookup.entry?.metadata).toEqual({ completion_tokens: "7", prompt_tokens: "6", finish_reason: "stop", llm_model: MODEL });

    const hit = await client.ask({ prompt: "  What is the capital   of France? ", scope });
    expect(hit.source).toBe(Source.CACHE);
    expect(hit.response).toBe(miss.response);
    expect(hit.similarity).toBe(1);
    expect(hit.entryId).toBe(miss.entryId);
    expect(hit.matchedPrompt).toBe(prompt);
    expect(hit.usage).toMatchObject({ promptTokens: 0, completionTokens: 0, tokensSaved: 7 });
    expect(hit.finishReason).toBe("stop");
    expect(hit.model).toBe(MODEL);

    const paraphrase = await client.ask({ prompt: "Tell me the capital city of France.", scope });
    expect(paraphrase.source).toBe(Source.CACHE);
    expect(paraphrase.similarity).toBeGreaterThanOrEqual(0.9);
    expect(paraphrase.similarity).toBeLessThan(1);
    expect(paraphrase.response).toBe(miss.response);
    expect(llm.counts().total).toBe(1);

    const stats = await client.stats({ namespace: ns });
    expect(stats.llmCalls).toBe(1n);
    // Every hit counts what the answer cost, the Lookup's included: three hits of 7 tokens.
    expect(stats.tokensSaved).toBe(21n);
    expect(stats.coalescedCalls).toBe(0n);
    expect(stats.cacheErrors).toBe(0n);
    expect(stats.stores).toBe(1n);
  });
});

describe("Ask", () => {
  const client = (): CacheClient => clientFor("connect-h1", server.url);

  it("caches per model: scope.model picks the LLM, and an empty model means the default one", async () => {
    const ns = "ask-models";
    const prompt = "Name a prime number between ten and twenty.";
    const other = await client().ask({ prompt, scope: { namespace: ns, model: "other-model" } });
    expect(other.source).toBe(Source.LLM);
    expect(other.model).toBe("other-model");
    expect(llm.requests[0]?.model).toBe("other-model");

    const byDefault = await client().ask({ prompt, scope: { namespace: ns } });
    expect(byDefault.source).toBe(Source.LLM);
    expect(byDefault.model).toBe(MODEL);
    expect(llm.counts().byModel).toEqual({ "other-model": 1, [MODEL]: 1 });

    // An empty model is keyed as the default model: the same entries as naming it.
    const named = await client().ask({ prompt, scope: { namespace: ns, model: MODEL } });
    expect(named.source).toBe(Source.CACHE);
    expect(named.entryId).toBe(byDefault.entryId);
    const lookup = await client().lookup({ prompt, scope: { namespace: ns, model: MODEL } });
    expect(lookup.entry?.scope?.model).toBe(MODEL);
    expect(llm.counts().total).toBe(2);
  });

  it("forwards known sampling params from the scope, which also partition the cache", async () => {
    const scope = { namespace: "ask-params", model: MODEL, params: { temperature: "0.2", prompt_version: "v3" } };
    await client().ask({ prompt: "Describe the colour of the sky.", scope });
    expect(llm.requests[0]?.body?.["temperature"]).toBe(0.2);
    expect(llm.requests[0]?.body?.["prompt_version"]).toBeUndefined();
    const otherTemperature = await client().ask({ prompt: "Describe the colour of the sky.", scope: { ...scope, params: { ...scope.params, temperature: "1" } } });
    expect(otherTemperature.source).toBe(Source.LLM);
  });

  it("no_cache skips the lookup and replaces the cached answer; no_store never writes", async () => {
    const scope = { namespace: "ask-flags", model: MODEL };
    const prompt = "How many legs does a spider have?";
    llm.setBehaviour({ answer: "Six." });
    const first = await client().ask({ prompt, scope });
    expect(first.response).toBe("Six.");

    llm.setBehaviour({ answer: "Eight." });
    const fresh = await client().ask({ prompt, scope, noCache: true });
    expect(fresh.source).toBe(Source.LLM);
    expect(fresh.response).toBe("Eight.");
    expect(fresh.entryId).toBe(first.entryId);
    expect((await client().ask({ prompt, scope })).response).toBe("Eight.");

    llm.setBehaviour({ answer: "Ten." });
    const unstored = await client().ask({ prompt, scope, noCache: true, noStore: true });
    expect(unstored.source).toBe(Source.LLM);
    expect(unstored.response).toBe("Ten.");
    expect(unstored.entryId).toBe("");
    expect((await client().lookup({ prompt, scope })).entry?.response).toBe("Eight.");

    // no_store alone still serves hits, and never writes a miss.
    expect((await client().ask({ prompt, scope, noStore: true })).source).toBe(Source.CACHE);
    const newPrompt = "What colour are flamingos?";
    const missNoStore = await client().ask({ prompt: newPrompt, scope, noStore: true });
    expect(missNoStore.source).toBe(Source.LLM);
    expect(missNoStore.entryId).toBe("");
    expect((await client().lookup({ prompt: newPrompt, scope })).hit).toBe(false);
    expect(llm.counts().total).toBe(4);
  });

  it("applies ttl_seconds and min_similarity", async () => {
    const scope = { namespace: "ask-ttl", model: MODEL };
    const answer = await client().ask({ prompt: "What is the speed of light?", scope, ttlSeconds: 3600 });
    const lookup = await client().lookup({ prompt: "What is the speed of light?", scope });
    expect(Number(lookup.entry?.expiresAt?.seconds)).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(answer.source).toBe(Source.LLM);
    const strict = await client().ask({ prompt: "Tell me the speed of light.", scope, minSimilarity: 0.9999 });
    expect(strict.source).toBe(Source.LLM);
  });

  it("scopes a conversation by its earlier turns: a follow-up never matches across conversations", async () => {
    const scope = { namespace: "ask-chat", model: MODEL };
    const cheese = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "What is a good cheese for fondue?" },
      { role: "assistant", content: "Gruyère." },
    ];
    const bread = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "What is a good bread for toast?" },
      { role: "assistant", content: "Sourdough." },
    ];
    const followUp = { role: "user", content: "And in French?" };
    llm.setBehaviour({ answer: (body) => `reply to ${body.messages?.length} turns` });

    const first = await client().ask({ messages: [...cheese, followUp], scope });
    expect(first.source).toBe(Source.LLM);
    // The LLM gets the whole conversation.
    expect(llm.requests[0]?.body?.messages).toEqual([...cheese, followUp]);

    const other = await client().ask({ messages: [...bread, followUp], scope });
    expect(other.source).toBe(Source.LLM);
    expect(other.entryId).not.toBe(first.entryId);

    // The same conversation (formatting aside) hits, exactly or semantically.
    const again = await client().ask({ messages: [...cheese.map((m) => ({ ...m, content: ` ${m.content}  ` })), { role: "user", content: "And in  French?" }], scope });
    expect(again.source).toBe(Source.CACHE);
    expect(again.entryId).toBe(first.entryId);

    // Only the last turn is stored as the prompt; the conversation is a scope param.
    const stored = await client().lookup({ prompt: "And in French?", scope: { ...scope, params: { [CONVERSATION_PARAM]: conversationKey(cheese as never) } } });
    expect(stored.hit).toBe(true);
    expect(stored.entry?.prompt).toBe("And in French?");
    expect(stored.entry?.id).toBe(first.entryId);
    // Without the conversation, the follow-up is an unrelated prompt.
    expect((await client().lookup({ prompt: "And in French?", scope })).hit).toBe(false);
    expect((await client().ask({ prompt: "And in French?", scope })).source).toBe(Source.LLM);

    // A single user turn is the same as a prompt.
    const single = await client().ask({ messages: [{ role: "user", content: "And in French?" }], scope });
    expect(single.source).toBe(Source.CACHE);
    expect(llm.counts().total).toBe(3);
  });

  it("rejects invalid requests with INVALID_ARGUMENT before calling the LLM", async () => {
    const scope = { namespace: "ask-invalid", model: MODEL };
    await expectCode(client().ask({ scope }), Code.InvalidArgument, /set either prompt or messages/);
    await expectCode(client().ask({ prompt: "hi", messages: [{ role: "user", content: "hi" }], scope }), Code.InvalidArgument, /not both/);
    await expectCode(client().ask({ prompt: "   ", scope }), Code.InvalidArgument, /prompt: must not be empty/);
    await expectCode(client().ask({ messages: [{ role: "robot", content: "hi" }], scope }), Code.InvalidArgument, /messages\[0\]\.role/);
    await expectCode(
      client().ask({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }], scope }),
      Code.InvalidArgument,
      /messages\[1\]\.role: the last turn must be the user's/,
    );
    await expectCode(client().ask({ messages: [{ role: "system", content: " " }, { role: "user", content: "hi" }], scope }), Code.InvalidArgument, /messages\[0\]\.content: must not be empty/);
    await expectCode(client().ask({ prompt: "x".repeat(70_000), scope }), Code.InvalidArgument, /prompt: is 70000 bytes/);
    await expectCode(client().ask({ messages: [{ role: "user", content: "x".repeat(70_000) }], scope }), Code.InvalidArgument, /messages\[0\]\.content: is 70000 bytes/);
    await expectCode(client().ask({ prompt: "hi", scope, minSimilarity: 1.5 }), Code.InvalidArgument, /min_similarity/);
    await expectCode(client().ask({ prompt: "hi", scope: { namespace: "bad namespace!" } }), Code.InvalidArgument, /scope\.namespace/);
    await expectCode(client().ask({ prompt: "hi", scope: { ...scope, params: { [CONVERSATION_PARAM]: "x" } } }), Code.InvalidArgument, /reserved/);
    // Validated even when the lookup is skipped.
    await expectCode(client().ask({ prompt: "", scope, noCache: true }), Code.InvalidArgument);
    expect(llm.counts().total).toBe(0);
  });

  it("does not cache an empty answer, but returns it", async () => {
    llm.setBehaviour({ answer: "" });
    const scope = { namespace: "ask-empty", model: MODEL };
    const answer = await client().ask({ prompt: "Say nothing at all.", scope });
    expect(answer.source).toBe(Source.LLM);
    expect(answer.response).toBe("");
    expect(answer.entryId).toBe("");
    expect(answer.cacheUnavailable).toBe(false);
    expect((await client().lookup({ prompt: "Say nothing at all.", scope })).hit).toBe(false);
  });

  it("keeps Lookup's kind for entries Ask wrote", async () => {
    const scope = { namespace: "ask-lookup-kind", model: MODEL };
    await client().ask({ prompt: "Who painted the Mona Lisa?", scope });
    const lookup = await client().lookup({ prompt: "Who painted the Mona Lisa?", scope });
    expect(lookup.kind).toBe(MatchKind.EXACT);
  });
});
