import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Source, type AskStreamResponse } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { chunkText } from "../../src/ask/text-chunks.js";
import { clientFor, PROTOCOLS, type CacheClient } from "../support/clients.js";
import { splitIntoDeltas, startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import type { TestServer } from "../support/test-server.js";
import { codeOf, collect, MODEL, split, startAskServer } from "../support/ask-server.js";

let llm: OpenAiTestServer;
let server: TestServer;

beforeAll(async () => {
  llm = await startOpenAiServer();
  server = await startAskServer(llm, { SEMCACHE_LLM_MAX_RETRIES: "1" });
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});
beforeEach(() => {
  llm.reset();
});

const LONG_ANSWER = "one two three four five six seven eight nine ten";

describe.each(PROTOCOLS)("AskStream over %s", (protocol) => {
  let client: CacheClient;
  const ns = `stream-${protocol}`;
  beforeAll(() => {
    client = clientFor(protocol, server.url);
  });

  it("streams a miss as upstream produces it and stores it only once the stream completed", async () => {
    const scope = { namespace: ns, model: MODEL };
    const prompt = "Count from one to ten.";
    llm.setBehaviour({ answer: LONG_ANSWER, chunkDelayMs: 60 });
    const messages: AskStreamResponse[] = [];
    let lookupMidStream: boolean | undefined;
    for await (const message of client.askStream({ prompt, scope })) {
      messages.push(message);
      // After the first delta, before the end: nothing may be cached yet.
      if (message.event.case === "delta" && lookupMidStream === undefined) {
        lookupMidStream = (await client.lookup({ prompt, scope })).hit;
      }
    }
    expect(lookupMidStream).toBe(false);
    const stream = split(messages);
    expect(messages[0]?.event.case).toBe("start");
    expect(messages.at(-1)?.event.case).toBe("end");
    expect(stream.start).toMatchObject({ source: Source.LLM, similarity: 0, matchedPrompt: "", cacheUnavailable: false, model: MODEL });
    // Forwarded delta by delta, as upstream sent them.
    expect(stream.deltas).toEqual(splitIntoDeltas(LONG_ANSWER));
    expect(stream.text).toBe(LONG_ANSWER);
    expect(stream.end?.finishReason).toBe("stop");
    expect(stream.end?.usage).toMatchObject({ promptTokens: 5, completionTokens: 10, tokensSaved: 0 });
    expect(stream.end?.entryId).toMatch(/^[0-9a-f]{32}$/);
    expect(llm.requests[0]?.stream).toBe(true);

    const after = await client.lookup({ prompt, scope });
    expect(after.hit).toBe(true);
    expect(after.entry?.response).toBe(LONG_ANSWER);
    expect(after.entry?.id).toBe(stream.end?.entryId);
    expect(after.entry?.metadata).toMatchObject({ finish_reason: "stop", completion_tokens: "10", llm_model: MODEL });
  });

  it("replays a cached answer as a stream", async () => {
    const scope = { namespace: ns, model: MODEL };
    await client.store({ prompt: "What is the tallest mountain?", response: "Mount Everest.", scope, metadata: { completion_tokens: "3", finish_reason: "stop" } });
    const stream = await collect(client.askStream({ prompt: "Which mountain is the tallest?", scope, minSimilarity: 0.5 }));
    expect(stream.error).toBeUndefined();
    expect(stream.start).toMatchObject({ source: Source.CACHE, matchedPrompt: "What is the tallest mountain?", model: MODEL });
    expect(stream.start?.similarity).toBeGreaterThan(0.5);
    expect(stream.deltas).toEqual(["Mount Everest."]);
    expect(stream.end).toMatchObject({ finishReason: "stop", usage: { promptTokens: 0, completionTokens: 0, tokensSaved: 3 } });
    expect(llm.counts().total).toBe(0);
  });

  it("aborts upstream and stores nothing when the client cancels mid-stream", async () => {
    const scope = { namespace: ns, model: MODEL };
    const prompt = "Tell me a very long story.";
    llm.setBehaviour({ answer: LONG_ANSWER, chunkDelayMs: 150 });
    const controller = new AbortController();
    const received: AskStreamResponse[] = [];
    const error = await (async () => {
      try {
        for await (const message of client.askStream({ prompt, scope }, { signal: controller.signal })) {
          received.push(message);
          if (message.event.case === "delta") controller.abort();
        }
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConnectError);
    expect(Code[(error as ConnectError).code]).toBe("Canceled");
    expect(split(received).deltas.length).toBeLessThan(splitIntoDeltas(LONG_ANSWER).length);
    // Upstream saw its connection closed before the answer was complete.
    await llm.waitFor((s) => s.counts().closedEarly === 1);
    expect(llm.counts().completed).toBe(0);
    // Give a (wrong) late store every chance to land before checking.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await client.lookup({ prompt, scope })).hit).toBe(false);
  });
});

describe("AskStream", () => {
  const client = (): CacheClient => clientFor("connect-h2", server.url);

  it("ends with the upstream error and stores nothing when the stream fails midway", async () => {
    const scope = { namespace: "stream-fail", model: MODEL };
    llm.setBehaviour({ answer: LONG_ANSWER, streamError: { message: "the model crashed", code: 500 } });
    const stream = await collect(client().askStream({ prompt: "Will this finish?", scope }));
    expect(stream.start?.source).toBe(Source.LLM);
    expect(stream.deltas.length).toBeGreaterThan(0);
    expect(stream.end).toBeUndefined();
    expect(codeOf(stream.error)).toBe("Unavailable");
    expect(stream.error?.rawMessage).toMatch(/the model crashed/);
    expect((await client().lookup({ prompt: "Will this finish?", scope })).hit).toBe(false);

    // A connection cut mid-stream is never taken for a complete answer either.
    llm.setBehaviour({ answer: LONG_ANSWER, disconnect: "mid-stream" });
    const cut = await collect(client().askStream({ prompt: "Will this one finish?", scope }));
    expect(codeOf(cut.error)).toBe("Unavailable");
    expect((await client().lookup({ prompt: "Will this one finish?", scope })).hit).toBe(false);
    expect((await client().stats({ namespace: "stream-fail" })).stores).toBe(0n);
  });

  it("retries before the first token, then streams", async () => {
    const scope = { namespace: "stream-retry", model: MODEL };
    llm.setBehaviour({ error: { status: 503 }, failFirst: 1 });
    const stream = await collect(client().askStream({ prompt: "Try again please.", scope }));
    expect(stream.error).toBeUndefined();
    expect(stream.text).toBe("ANSWER: Try again please.");
    expect(llm.counts().total).toBe(2);
  });

  it("stores the finish reason the stream ended with", async () => {
    const scope = { namespace: "stream-length", model: MODEL };
    llm.setBehaviour({ finishReason: "length" });
    const stream = await collect(client().askStream({ prompt: "Write an endless poem.", scope }));
    expect(stream.end?.finishReason).toBe("length");
    const hit = await client().ask({ prompt: "Write an endless poem.", scope });
    expect(hit.source).toBe(Source.CACHE);
    expect(hit.finishReason).toBe("length");
  });

  it("validates like Ask", async () => {
    const stream = await collect(client().askStream({ messages: [{ role: "assistant", content: "hi" }] }));
    expect(codeOf(stream.error)).toBe("InvalidArgument");
    expect(stream.messages).toHaveLength(0);
  });

  it("replays a long cached answer in a few deltas", async () => {
    const scope = { namespace: "stream-long", model: MODEL };
    const response = "🙂".repeat(20_000) + "end";
    await client().store({ prompt: "Send many smileys.", response, scope });
    const stream = await collect(client().askStream({ prompt: "Send many smileys.", scope }));
    expect(stream.text).toBe(response);
    expect(stream.deltas.length).toBe(chunkText(response).length);
    expect(stream.deltas.length).toBeGreaterThan(1);
  });
});
